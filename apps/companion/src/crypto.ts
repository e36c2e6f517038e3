/** The companion's single import point for @veil/crypto (including the Noise session module). */
export * from "@veil/crypto";
