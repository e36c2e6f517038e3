// The bare relay's far end (client B), run as a child process by relay-bare.ts.
import type { TRelayFrame } from "../../packages/protocol/src/index";
import { connect } from "./relay-common";

const answerBytes = Number(process.env.BARE_ANSWER_BYTES);
const peer = connect(`https://localhost:${process.env.BARE_PORT}/peer`, {
  transports: ["websocket"],
  ca: process.env.BARE_CA,
  reconnection: false,
  forceNew: true,
});
// Answer = the request's id (its first 22 characters) and padding to the real answer's size.
peer.on("e2e:frame", (f: TRelayFrame) => {
  const frame = f.frame.slice(0, 22) + "a".repeat(Math.max(0, answerBytes - 22));
  peer.emit("e2e:frame", { ...f, frame }, () => undefined);
});
peer.on("disconnect", () => process.exit(0));
await new Promise<never>(() => undefined);
