import { z } from "zod";
import { zB64u } from "../fields";
import { ZDeviceKindSchema, ZDeviceStateSchema } from "./device-state";
import { ZMacSchema, zDeviceText } from "./numbers";

/**
 * Version of the JSON messages inside Veil device-channel frames (the frame layout has its own
 * version byte, see docs/DEVICES.md).
 *
 * 1: 2026-11-22: hello, welcome, key issue/ack, inform, commands, command results, terminal data
 *    (with `eof` when the device's shell ended), terminal resize.
 *    2026-11-25, additive: a device may offer per-terminal flow control (`terminalCredit` in its
 *    hello); the companion then names the window in `welcome` and returns credit with
 *    `terminal_ack`. Either side without it ignores the other's fields and keeps the old behaviour.
 */
export const DEVICE_CHANNEL_MESSAGE_VERSION = 1 as const;

/** Largest decrypted device-channel message: 256 KiB. */
export const MAX_DEVICE_MESSAGE_BYTES = 256 * 1024;

const ZCommandIdSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9_-]+$/);
const ZTerminalSessionSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9_-]+$/);
/** Terminal bytes as unpadded base64url, at most 16 KiB per message. */
const ZTerminalBytesSchema = zB64u({ maxBytes: 16_384 });

/**
 * Terminal output a device that offered `terminalCredit` may have sent on one terminal session
 * and not yet had acknowledged (`terminal_ack`): 256 KiB, sixteen full messages.
 */
export const TERMINAL_WINDOW_BYTES = 256 * 1024;

/** Device → companion: the first message of every session. */
export const ZDeviceHelloSchema = z.object({
  type: z.literal("hello"),
  version: z.literal(DEVICE_CHANNEL_MESSAGE_VERSION),
  mac: ZMacSchema,
  kind: ZDeviceKindSchema,
  model: zDeviceText(32),
  firmware: zDeviceText(64),
  hostname: zDeviceText(64),
  /**
   * The device keeps each terminal session's unacknowledged output within the window that
   * `welcome` names, and waits for `terminal_ack` (its shell blocks, as on a full pty). A
   * companion can then slow one terminal without pausing the device's whole channel.
   */
  terminalCredit: z.boolean().optional(),
});

/** Device → companion: the per-device key from `key_issue` is stored; the next session uses it. */
export const ZDeviceKeyAckSchema = z.object({ type: z.literal("key_ack"), keyId: zB64u({ bytes: 8 }) });

/** Device → companion: a state report. `seq` grows by one per report within a session. */
export const ZDeviceInformSchema = z.object({
  type: z.literal("inform"),
  seq: z.number().int().nonnegative(),
  state: ZDeviceStateSchema,
});

/** Device → companion: the outcome of a command, with a stable error code on failure. */
export const ZDeviceCommandResultSchema = z.object({
  type: z.literal("command_result"),
  id: ZCommandIdSchema,
  ok: z.boolean(),
  error: z
    .object({ code: z.enum(["unknown_command", "invalid_argument", "busy", "failed"]), message: z.string().max(200) })
    .optional(),
  output: z.string().max(16_384).optional(),
});

/** Either direction: terminal bytes for an open session. */
export const ZTerminalDataSchema = z.object({
  type: z.literal("terminal_data"),
  sessionId: ZTerminalSessionSchema,
  data: ZTerminalBytesSchema,
  /** Device → companion: the shell ended (e.g. `exit`); this message carries its last bytes. */
  eof: z.boolean().optional(),
});

/** Companion → device: session accepted; inform every `interval` seconds. */
export const ZDeviceWelcomeSchema = z.object({
  type: z.literal("welcome"),
  interval: z.number().int().min(1).max(3600),
  serverTime: z.number().int().nonnegative(),
  adopted: z.boolean(),
  /**
   * Only to a device that offered `terminalCredit`: the bytes of terminal output (decoded) each
   * terminal session may have unacknowledged. Sending more ends that terminal.
   */
  terminalWindowBytes: z
    .number()
    .int()
    .min(16_384)
    .max(16 * 1024 * 1024)
    .optional(),
});

/**
 * Companion → device (only to a device that offered `terminalCredit`): `bytes` more of the
 * session's terminal output were taken, so that many more may be sent.
 */
export const ZTerminalAckSchema = z.object({
  type: z.literal("terminal_ack"),
  sessionId: ZTerminalSessionSchema,
  bytes: z
    .number()
    .int()
    .min(1)
    .max(16 * 1024 * 1024),
});

/** Companion → device (site-key sessions only): the device's own 256-bit key and its id. */
export const ZDeviceKeyIssueSchema = z.object({
  type: z.literal("key_issue"),
  keyId: zB64u({ bytes: 8 }),
  key: zB64u({ bytes: 32 }),
});

/** The commands a device obeys. */
export const ZDeviceCommandBodySchema = z.discriminatedUnion("name", [
  z.object({ name: z.literal("reboot") }),
  z.object({ name: z.literal("locate"), enabled: z.boolean() }),
  z.object({
    name: z.literal("rename"),
    hostname: z
      .string()
      .min(1)
      .max(63)
      .regex(/^[A-Za-z0-9][A-Za-z0-9-]*$/),
  }),
  z.object({ name: z.literal("set-interval"), seconds: z.number().int().min(1).max(3600) }),
  z.object({
    name: z.literal("terminal-open"),
    sessionId: ZTerminalSessionSchema,
    cols: z.number().int().min(1).max(500),
    rows: z.number().int().min(1).max(200),
  }),
  z.object({
    name: z.literal("terminal-resize"),
    sessionId: ZTerminalSessionSchema,
    cols: z.number().int().min(1).max(500),
    rows: z.number().int().min(1).max(200),
  }),
  z.object({ name: z.literal("terminal-close"), sessionId: ZTerminalSessionSchema }),
]);
/** The parsed value of `ZDeviceCommandBodySchema`. */
export type TDeviceCommandBody = z.infer<typeof ZDeviceCommandBodySchema>;

/** Companion → device: run a command; answered by `command_result` with the same id. */
export const ZDeviceCommandSchema = z.object({
  type: z.literal("command"),
  id: ZCommandIdSchema,
  command: ZDeviceCommandBodySchema,
});

/** Every message a device may send. */
export const ZDeviceUpMessageSchema = z.discriminatedUnion("type", [
  ZDeviceHelloSchema,
  ZDeviceKeyAckSchema,
  ZDeviceInformSchema,
  ZDeviceCommandResultSchema,
  ZTerminalDataSchema,
]);
/** The parsed value of `ZDeviceUpMessageSchema`. */
export type TDeviceUpMessage = z.infer<typeof ZDeviceUpMessageSchema>;

/** Every message the companion may send to a device. */
export const ZDeviceDownMessageSchema = z.discriminatedUnion("type", [
  ZDeviceWelcomeSchema,
  ZDeviceKeyIssueSchema,
  ZDeviceCommandSchema,
  ZTerminalDataSchema,
  ZTerminalAckSchema,
]);
/** The parsed value of `ZDeviceDownMessageSchema`. */
export type TDeviceDownMessage = z.infer<typeof ZDeviceDownMessageSchema>;
