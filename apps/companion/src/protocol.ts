/** The companion's single import point for @veil/protocol (including its companion schemas). */
export * from "@veil/protocol";
