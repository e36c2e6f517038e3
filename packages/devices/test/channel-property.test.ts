import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  decodeSiteKey,
  DeviceChannelClient,
  DeviceChannelServer,
  DeviceCodecError,
  encodeSiteKey,
  type ChannelCredential,
} from "../src/index";

const MAC = "02:00:00:00:00:07";
const SITE: ChannelCredential = { type: "site", keyId: new Uint8Array(8).fill(3), key: new Uint8Array(32).fill(4) };

describe("device channel under arbitrary delivery (fast-check)", () => {
  it("accepts exactly the frames whose counter is above every frame accepted before, with their content intact", () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ maxLength: 40 }), { minLength: 1, maxLength: 12 }),
        fc.array(fc.nat(), { maxLength: 30 }),
        (payloads, order) => {
          const server = new DeviceChannelServer({ keys: { siteKey: () => SITE.key, deviceKey: () => undefined } });
          const client = new DeviceChannelClient({ mac: MAC, credential: SITE });
          server.receiveHello(
            client.hello(server.challenge(), { kind: "switch", model: "US24", firmware: "1", hostname: "s" }),
          );
          const frames = payloads.map((p) =>
            client.send({ type: "terminal_data", sessionId: "s", data: Buffer.from(p).toString("base64url") }),
          );
          // Deliver an arbitrary sequence of indices: duplicates, gaps and reorderings.
          const delivery = order.length ? order.map((i) => i % frames.length) : [0];
          let last = -1;
          for (const i of delivery) {
            const frame = frames[i];
            if (!frame) continue;
            try {
              const msg = server.receive(frame);
              expect(i).toBeGreaterThan(last);
              expect(msg).toEqual({
                type: "terminal_data",
                sessionId: "s",
                data: Buffer.from(payloads[i] ?? "").toString("base64url"),
              });
              last = i;
            } catch (e) {
              expect(e).toBeInstanceOf(DeviceCodecError);
              expect((e as DeviceCodecError).reason).toBe("replayed");
              expect(i).toBeLessThanOrEqual(last);
            }
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it("site keys round-trip (fast-check)", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 8, maxLength: 8 }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.option(fc.uint8Array({ minLength: 32, maxLength: 32 }), { nil: undefined }),
        fc.domain(),
        fc.integer({ min: 1, max: 65535 }),
        (keyId, key, certFingerprint, host, port) => {
          const sk = {
            url: `wss://${host}:${port}/devices`,
            keyId,
            key,
            ...(certFingerprint ? { certFingerprint } : {}),
          };
          expect(decodeSiteKey(encodeSiteKey(sk))).toEqual(sk);
        },
      ),
    );
  });
});
