// The credential-generation panel (client/vault/vault-generate.tsx) sends each device with the
// certificate the scan showed, as the adopt panel does: on first contact the companion then
// gives the current login only to a device presenting that certificate.
import { describe, expect, it } from "vitest";
import { ZVaultGenerateBodySchema } from "@veil/protocol";
import { generateTargets } from "../src/client/vault/generate-targets";
import type { FoundDevice } from "../src/client/discovery/use-discovery";

const found = (mac: string, ip: string, certSha256: string | null): FoundDevice => ({
  mac,
  ip,
  model: "U6-Lite",
  modelDisplay: "U6 Lite",
  firmware: "6.6.55",
  hostname: "ap",
  adopted: false,
  certSha256,
  certChanged: false,
  https: certSha256 !== null,
});

describe("vault.generate request body from the panel", () => {
  it("carries the certificate the scan showed for each device, and none for a device seen only by UBDP", () => {
    const cert = "ab".repeat(32);
    const devices = generateTargets([
      found("02:00:00:00:00:01", "10.0.0.5", cert),
      found("02:00:00:00:00:02", "10.0.0.6", null),
    ]);
    expect(devices).toEqual([
      { mac: "02:00:00:00:00:01", ip: "10.0.0.5", port: 443, certSha256: cert },
      { mac: "02:00:00:00:00:02", ip: "10.0.0.6", port: 443 },
    ]);
    // What the companion parses: the certificate survives the schema.
    const body = ZVaultGenerateBodySchema.parse({ devices, login: { username: "ubnt", password: "ubnt" } });
    expect(body.devices[0]?.certSha256).toBe(cert);
  });
});
