/**
 * The companion's single import point for @veil/protocol. The companion schemas live in
 * packages/protocol/src/companion; until @veil/protocol re-exports them from its entry, they
 * are imported here by path (the one place to change when the re-export lands).
 */
export * from "@veil/protocol";
export * from "../../../packages/protocol/src/companion/index";
