import { VeilError, type TSnapshotResponse } from "@veil/protocol";
import { b64u } from "../../auth/bytes";
import { mayAddressInstance } from "../../instances/instance-store";
import { latestSnapshot } from "../../snapshots/snapshot-store";
import { defineRoute, requireAuth } from "../route";
import { idParam } from "./id-param";

/**
 * GET /api/instances/:id/snapshot: the newest sealed last-known inventory of an instance, for
 * accounts that may address it (an unexpired grant, or the admin who added it; never once
 * revoked). The console checks only that membership: it cannot open the box, and the browser
 * verifies the instance's signature and the sequence itself. Others get 404 (no oracle).
 */
export const getInstanceSnapshot = defineRoute({
  method: "GET",
  path: "/api/instances/:id/snapshot",
  rate: "apiRead",
  auth: "session",
  handler: async (ctx) => {
    const { user } = requireAuth(ctx);
    const instanceId = idParam(ctx.params);
    if (!(await mayAddressInstance(ctx.services.db, user.id, instanceId))) throw new VeilError("not_found");
    const row = await latestSnapshot(ctx.services.db, instanceId);
    const body: TSnapshotResponse = {
      snapshot: row
        ? {
            sequence: row.sequence,
            sizeBytes: row.sizeBytes,
            receivedAt: row.receivedAt.toISOString(),
            sealed: b64u(row.sealed),
          }
        : null,
    };
    return { body };
  },
});
