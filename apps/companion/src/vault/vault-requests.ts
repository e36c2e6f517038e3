import {
  ZVaultDeleteBodySchema,
  ZVaultGenerateBodySchema,
  ZVaultInitBodySchema,
  ZVaultListBodySchema,
  ZVaultPutBodySchema,
  ZVaultRevealBodySchema,
  ZVaultUnlockBodySchema,
  type VAULT_REQUEST_CATALOGUE,
} from "../protocol";
import { RequestRefusedError } from "../e2e/dispatch-request";
import type { RequestHandler } from "../e2e/request-context";
import type { SiteServices } from "../discovery/site-requests";
import { startDeviceJob } from "../discovery/job-stream";
import { generateCredentials } from "./generate-credentials";
import { VAULT_DAMAGED_MESSAGE, VaultRefusedError } from "./vault-refused";
import type { VaultService } from "./vault-service";

/** A vault refusal as the answer the browser gets (nothing was written); anything else as it is. */
function refusal(error: unknown): unknown {
  if (!(error instanceof VaultRefusedError)) return error;
  return new RequestRefusedError(error.reason === "too_large" ? "bad_request" : "unavailable", error.userMessage);
}

/**
 * Handlers of the vault requests (roles from the catalogue: init, unlock, delete and generate
 * admin; the rest operator). While vault.json is damaged every one of them answers
 * `unavailable` with a sentence saying so, and nothing touches the file.
 */
export function createVaultRequestHandlers(
  site: () => SiteServices,
): Record<keyof typeof VAULT_REQUEST_CATALOGUE, RequestHandler> {
  /** The site, for a vault request: refused while vault.json is damaged. */
  const vaultSite = (): SiteServices => {
    const s = site();
    if (s.vault.damaged) throw refusal(new VaultRefusedError("damaged", VAULT_DAMAGED_MESSAGE));
    return s;
  };
  const vault = (): VaultService => vaultSite().vault;
  /** Runs a vault change, answering a refusal with its code and sentence. */
  const change = async <T>(run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (error) {
      throw refusal(error);
    }
  };
  return {
    "vault.status": () => vault().status(),
    "vault.init": (raw) => {
      const body = ZVaultInitBodySchema.parse(raw);
      const v = vault();
      return change(() => v.init(body.publicKey, body.replace));
    },
    "vault.unlock": (raw) => {
      const body = ZVaultUnlockBodySchema.parse(raw);
      return vault().unlock(body.privateKey, body.idleMinutes);
    },
    "vault.lock": () => {
      vault().lock();
      return { locked: true };
    },
    "vault.put": async (raw) => {
      const body = ZVaultPutBodySchema.parse(raw);
      const v = vault();
      const metas = await change(() =>
        v.putMany([
          { target: body.target, label: body.label, secret: body.secret, notes: body.notes, origin: "manual" },
        ]),
      );
      const entry = metas?.[0];
      return entry === undefined ? { status: "not_initialized" } : { status: "stored", entry };
    },
    "vault.list": (raw) => vault().list(ZVaultListBodySchema.parse(raw)),
    "vault.reveal": (raw) => {
      const r = vault().open(ZVaultRevealBodySchema.parse(raw).entryId);
      if (r.status !== "ok") return { status: r.status };
      return { status: "ok", entry: r.meta, secret: r.secret, ...(r.notes !== undefined ? { notes: r.notes } : {}) };
    },
    "vault.delete": async (raw) => {
      const { entryId } = ZVaultDeleteBodySchema.parse(raw);
      const v = vault();
      return { deleted: await change(() => v.delete(entryId)) };
    },
    "vault.generate": (raw, ctx) => {
      const s = vaultSite();
      const body = ZVaultGenerateBodySchema.parse(raw);
      return startDeviceJob(
        ctx,
        s,
        { type: "vault.generate.progress", total: body.devices.length, failure: "credential generation failed" },
        (push, signal) => generateCredentials(body, s, push, signal),
      );
    },
  };
}
