import { ZSnapshotResponseSchema, type TSnapshotResponse } from "@veil/protocol";
import { apiRequest } from "../api";

/** GET /api/instances/:id/snapshot: the newest sealed snapshot the console holds (or null). */
export const fetchSnapshot = (instanceId: string, signal?: AbortSignal): Promise<TSnapshotResponse> =>
  apiRequest({
    method: "GET",
    path: `/api/instances/${encodeURIComponent(instanceId)}/snapshot`,
    schema: ZSnapshotResponseSchema,
    ...(signal ? { signal } : {}),
  });
