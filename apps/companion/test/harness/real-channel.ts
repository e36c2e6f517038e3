import { useSodiumAead } from "../../src/crypto";
import type { TGrantBundle } from "../../src/protocol";
import { InstanceChannel } from "../../../console/src/client/instances/e2e-channel";
import type { TestAccount } from "./fixtures";
import type { TestConsole } from "./test-console";

export { ChannelError, RequestError } from "../../../console/src/client/instances/e2e-channel";

/** A real browser channel and every reason its `onClose` was called with. */
export interface RealChannel {
  channel: InstanceChannel;
  closes: string[];
}

const SESSION_TOKEN = "A".repeat(43);

/**
 * The console's own browser channel (apps/console src/client/instances/e2e-channel.ts,
 * InstanceChannel), unchanged, run in Node against the stand-in console's browser endpoint
 * (`TestConsole.browserOrigin`): its real socket.io client, outbox, Noise initiator, frame
 * handling and close rules. It needs two things a page has: `window.location.origin` (where its
 * socket connects) and the tab's session token in sessionStorage; both are put on `globalThis`
 * until `restoreBrowserGlobals`. libsodium (which the channel loads for its AEAD) is loaded
 * before `window` exists, so it takes its Node loader.
 */
export async function realChannel(
  console: TestConsole,
  options: { instanceId: string; instanceBoxPublicKey: Uint8Array; account: TestAccount; bundle: TGrantBundle },
): Promise<RealChannel> {
  await useSodiumAead();
  const origin = await console.browserOrigin();
  const g = globalThis as { window?: unknown; sessionStorage?: unknown };
  g.window = { location: { origin } };
  g.sessionStorage = {
    getItem: (key: string) => (key === "veil.session.v1" ? JSON.stringify({ token: SESSION_TOKEN }) : null),
  };
  const closes: string[] = [];
  const channel = new InstanceChannel({
    instanceId: options.instanceId,
    accountId: options.account.accountId,
    accountBoxPrivateKey: options.account.box.privateKey,
    instanceBoxPublicKey: options.instanceBoxPublicKey,
    bundle: options.bundle,
    onClose: (reason) => closes.push(reason),
  });
  return { channel, closes };
}

/** Removes what `realChannel` put on `globalThis`. */
export function restoreBrowserGlobals(): void {
  const g = globalThis as { window?: unknown; sessionStorage?: unknown };
  delete g.window;
  delete g.sessionStorage;
}
