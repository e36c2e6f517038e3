/**
 * The device schemas of @veil/protocol (packages/protocol/src/device). Imported through this
 * one file because the protocol package's index does not re-export them yet; when it does,
 * this becomes `export * from "@veil/protocol"`.
 */
export * from "../../protocol/src/device/index";
