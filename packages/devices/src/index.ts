/**
 * @veil/devices — wire codecs for the devices on a site, shared by the companion and the
 * device simulator: UniFi inform packets (TNBU), UBDP discovery, and Veil's own device channel
 * (site key, AES-256-GCM frames, pure client and server state machines). Node-only
 * (node:crypto, node:zlib); no sockets. Every parser throws only DeviceCodecError.
 */
export * from "./errors";
export { bytesToMac, macToBytes, toHex, fromHex } from "./bytes";
export * from "./inform-header";
export * from "./inform-cipher";
export * from "./inform-compression";
export * from "./inform-json-bounds";
export * from "./inform-packet";
export * from "./inform-reply";
export * from "./inform-replay";
export * from "./ubdp";
export * from "./site-key";
export * from "./channel-frame";
export * from "./channel-keys";
export * from "./channel-session";
export * from "./channel-client";
export * from "./channel-server";
export * from "./unifi-normalize";
