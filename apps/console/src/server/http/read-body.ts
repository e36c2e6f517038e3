import type { IncomingMessage } from "node:http";
import { VeilError } from "@veil/protocol";

/** Default cap for JSON bodies; routes may set their own (sign-up carries wrapped keys). */
export const DEFAULT_BODY_LIMIT = 16 * 1024;

/**
 * Reads a JSON body of at most `limit` bytes. Refuses non-JSON content types (415), larger
 * bodies (413, checked on Content-Length first and again while streaming) and bad JSON (400).
 */
export async function readJsonBody(req: IncomingMessage, limit: number): Promise<unknown> {
  const type = (req.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase();
  const declared = Number(req.headers["content-length"] ?? "NaN");
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    throw new VeilError("payload_too_large", { detail: `content-length ${declared} > ${limit}` });
  }
  if (type !== "application/json") {
    req.resume();
    throw new VeilError("unsupported_media_type");
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      req.resume();
      throw new VeilError("payload_too_large", { detail: `streamed body > ${limit}` });
    }
    chunks.push(chunk);
  }
  if (size === 0) return {};
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8")) as unknown;
  } catch {
    throw new VeilError("bad_request", { detail: "invalid JSON" });
  }
}
