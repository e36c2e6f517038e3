import { z } from "zod";
import { ZIdSchema, zB64u, type TRole } from "../fields";
import { ZMacSchema } from "../device/numbers";

/**
 * End-to-end requests of the device terminal (issue 6). Browser ↔ companion only, inside the
 * Noise session; the companion carries the bytes over the device's Veil channel
 * (`terminal-open` / `terminal_data` / `terminal-close`). Never SSH from the console. Every
 * request is operator or above and counts as a write: a shell can change the device.
 * docs/PROTOCOL-COMPANION.md, "Terminal".
 */

const ZCount = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

/** Largest keystroke batch of one `terminal.input` (decoded bytes). */
export const MAX_TERMINAL_INPUT_BYTES = 4096;
/** Largest output chunk of one `terminal.output` event (decoded bytes); base64url keeps it far under MAX_E2E_MESSAGE_BYTES. */
export const MAX_TERMINAL_OUTPUT_BYTES = 16_384;
/** Open terminals per device, per E2E session, and per companion. */
export const MAX_TERMINALS_PER_DEVICE = 2;
export const MAX_TERMINALS_PER_SESSION = 4;
export const MAX_TERMINALS_PER_COMPANION = 32;
/** A terminal with neither input nor output for this long is closed. */
export const TERMINAL_IDLE_TIMEOUT_MS = 10 * 60_000;

/** `terminal.open`: a shell on one adopted, online Veil-channel device. */
export const ZTerminalOpenBodySchema = z.strictObject({
  mac: ZMacSchema,
  cols: z.number().int().min(10).max(500),
  rows: z.number().int().min(2).max(200),
});
export type TTerminalOpenBody = z.infer<typeof ZTerminalOpenBodySchema>;

/** Answer of `terminal.open`: the subscription that streams `terminal.output` events; it doubles as the terminal id. */
export const ZTerminalOpenResultSchema = z.strictObject({ subscriptionId: ZIdSchema, mac: ZMacSchema });

/** `terminal.input`: keystrokes (bytes as unpadded base64url, at most MAX_TERMINAL_INPUT_BYTES). */
export const ZTerminalInputBodySchema = z.strictObject({
  subscriptionId: ZIdSchema,
  data: zB64u({ maxBytes: MAX_TERMINAL_INPUT_BYTES }).min(1),
});
export const ZTerminalInputResultSchema = z.strictObject({ accepted: ZCount });

/** `terminal.resize`: the browser's terminal changed size. */
export const ZTerminalResizeBodySchema = z.strictObject({
  subscriptionId: ZIdSchema,
  cols: z.number().int().min(10).max(500),
  rows: z.number().int().min(2).max(200),
});
export const ZTerminalResizeResultSchema = z.strictObject({ resized: z.boolean() });

/** `terminal.close`: ends a terminal of this session. */
export const ZTerminalCloseBodySchema = z.strictObject({ subscriptionId: ZIdSchema });
export const ZTerminalCloseResultSchema = z.strictObject({ closed: z.boolean() });

/** Why a terminal ended. */
export const ZTerminalCloseReasonSchema = z.enum([
  "closed",
  "exited",
  "device_offline",
  "idle",
  "session_closed",
  "overflow",
  "device_refused",
]);
export type TTerminalCloseReason = z.infer<typeof ZTerminalCloseReasonSchema>;

/** Body of each `terminal.output` event: bytes from the device, then one `closed` event before the end. */
export const ZTerminalOutputEventSchema = z.discriminatedUnion("kind", [
  z.strictObject({ kind: z.literal("data"), data: zB64u({ maxBytes: MAX_TERMINAL_OUTPUT_BYTES }) }),
  z.strictObject({
    kind: z.literal("closed"),
    reason: ZTerminalCloseReasonSchema,
    bytesIn: ZCount,
    bytesOut: ZCount,
  }),
]);
export type TTerminalOutputEvent = z.infer<typeof ZTerminalOutputEventSchema>;

interface Spec {
  readonly minRole: TRole;
  readonly write: boolean;
  readonly body: z.ZodType;
  readonly result: z.ZodType;
}

/** The terminal requests, merged into REQUEST_CATALOGUE. */
export const TERMINAL_REQUEST_CATALOGUE = {
  "terminal.open": {
    minRole: "operator",
    write: true,
    body: ZTerminalOpenBodySchema,
    result: ZTerminalOpenResultSchema,
  },
  "terminal.input": {
    minRole: "operator",
    write: true,
    body: ZTerminalInputBodySchema,
    result: ZTerminalInputResultSchema,
  },
  "terminal.resize": {
    minRole: "operator",
    write: true,
    body: ZTerminalResizeBodySchema,
    result: ZTerminalResizeResultSchema,
  },
  "terminal.close": {
    minRole: "operator",
    write: true,
    body: ZTerminalCloseBodySchema,
    result: ZTerminalCloseResultSchema,
  },
} as const satisfies Record<string, Spec>;
