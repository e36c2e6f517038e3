/**
 * Schemas of the decrypted JSON that devices and the companion exchange: the UniFi inform
 * dialect (requests and controller replies, firmware field names) and Veil's own device
 * channel (hello, key issue, inform, commands, results, terminal data). Every decrypted
 * device payload is parsed with one of these before use; every list and string is capped.
 */
export * from "./numbers";
export * from "./unifi-inform";
export * from "./unifi-reply";
export * from "./device-state";
export * from "./channel-messages";
export * from "./device-admin";
