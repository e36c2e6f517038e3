/**
 * The device schemas of @veil/protocol (packages/protocol/src/device), through one file
 * because the protocol index does not re-export them yet; then `export * from "@veil/protocol"`.
 */
export * from "../../../packages/protocol/src/device/index";
