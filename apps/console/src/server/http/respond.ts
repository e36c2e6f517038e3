import type { ServerResponse } from "node:http";
import { VeilError, type ErrorCode } from "@veil/protocol";

/** Sends a JSON body (the API never sends anything else). */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.statusCode = status;
  res.setHeader("Content-Type", "application/json; charset=utf-8");
  res.setHeader("Content-Length", Buffer.byteLength(text));
  res.end(text);
}

/** Sends the stable error body for a VeilError; the internal detail is never included. */
export function sendError(res: ServerResponse, error: VeilError): void {
  sendJson(res, error.status, error.toBody());
}

export function sendErrorCode(res: ServerResponse, code: ErrorCode): void {
  sendError(res, new VeilError(code));
}
