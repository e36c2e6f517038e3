/**
 * The companion's single import point for @veil/crypto (including the Noise session module). Its
 * base64url runs on Node's own encoder (packages/crypto/src/encoding.ts), which the companion
 * uses for every frame it sends.
 */
export * from "@veil/crypto";
