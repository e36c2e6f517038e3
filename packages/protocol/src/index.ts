/**
 * @veil/protocol — the single source of truth for what crosses a wire in Veil: zod schemas
 * (`Z…Schema`) with inferred types (`T…`), socket.io event maps, stable error codes and the
 * protocol version. Types validate nothing: every inbound payload goes through
 * `parseOrThrow` (or a schema's safeParse) before use.
 */
export * from "./version";
export * from "./errors";
export * from "./fields";
export * from "./socket";
export * from "./relay-batch";
export * from "./http/index";
export * from "./device/index";
export * from "./companion/index";
