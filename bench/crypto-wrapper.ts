/**
 * Our own API paths, @veil/crypto with its @noble primitives (the default, and what the browser
 * runs) against the same calls with `nodePrimitives` from `@veil/crypto/node` (what the console
 * and the companion run after `useNativePrimitives()`), same process, same inputs.
 *
 *   pnpm --filter @veil/bench exec tsx crypto-wrapper.ts
 */
import {
  generateBoxKeyPair,
  generateIdentityKeyPair,
  noblePrimitives,
  randomBytes,
  seal,
  setPrimitives,
  signStatement,
  unseal,
  utf8,
  verifyStatement,
  type Primitives,
} from "@veil/crypto";
import { nodePrimitives } from "@veil/crypto/node";
import { fmt, header, measure, printTable, type Row, type Sample } from "./lib/measure";

header("@veil/crypto: @noble vs node:crypto primitives through our API");

const sender = generateBoxKeyPair();
const recipient = generateBoxKeyPair();
const signer = generateIdentityKeyPair();
const aad = utf8("veil/v1/bench");
const small = randomBytes(1024);
const large = randomBytes(1024 * 1024);
const sealSmall = seal(small, { recipients: [recipient.publicKey], sender, signer: signer.privateKey, aad });
const sealLarge = seal(large, { recipients: [recipient.publicKey], aad });
const body = { instance: "inst_01", scopes: ["read", "exec"], expires: 1_800_000_000 };
const statement = signStatement("veil/v1/grant", body, signer.privateKey);

interface Case {
  readonly operation: string;
  readonly bytes: number;
  readonly run: () => unknown;
}
const cases: Case[] = [
  {
    operation: "seal 1 KiB, 1 recipient, HPKE auth + signed",
    bytes: 0,
    run: () => seal(small, { recipients: [recipient.publicKey], sender, signer: signer.privateKey, aad }),
  },
  {
    operation: "unseal 1 KiB, HPKE auth + signed",
    bytes: 0,
    run: () => unseal(sealSmall, { recipient, sender: sender.publicKey, signer: signer.publicKey, aad }),
  },
  { operation: "seal 1 MiB, 1 recipient", bytes: large.length, run: () => seal(large, { recipients: [recipient.publicKey], aad }) },
  { operation: "unseal 1 MiB", bytes: large.length, run: () => unseal(sealLarge, { recipient, aad }) },
  { operation: "signStatement (grant)", bytes: 0, run: () => signStatement("veil/v1/grant", body, signer.privateKey) },
  { operation: "verifyStatement (grant)", bytes: 0, run: () => verifyStatement(statement, "veil/v1/grant", signer.publicKey) },
];

function timed(primitives: Primitives, c: Case): Sample {
  setPrimitives(primitives);
  try {
    return measure(c.run, { budgetMs: 1_000 });
  } finally {
    setPrimitives(noblePrimitives);
  }
}

const rows: Row[] = [];
for (const c of cases) {
  const native = timed(nodePrimitives, c);
  const noble = timed(noblePrimitives, c);
  const figure = (s: Sample): string => (c.bytes > 0 ? fmt.mbps(s, c.bytes) : fmt.ops(s));
  rows.push(
    { operation: c.operation, implementation: "nodePrimitives (baseline)", figure: figure(native), ratio: "1.0×" },
    { operation: c.operation, implementation: "noblePrimitives", figure: figure(noble), ratio: fmt.ratio(noble, native) },
  );
}
printTable("Our wrapper paths (higher is better)", rows);
