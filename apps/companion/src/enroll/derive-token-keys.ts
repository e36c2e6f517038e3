import type { DerivedKeys, KdfParams } from "../crypto";

/**
 * The instance-token KDF as the companion calls it: @veil/crypto's `deriveInstanceTokenKeys`
 * (floor and ceiling enforced; the Argon2id salt bound to the instance id) by default. Options
 * accept a replacement so tests can memoise the real function; none can lower the floor.
 */
export type DeriveTokenKeys = (token: string, params: KdfParams, instanceId: string) => Promise<DerivedKeys>;
