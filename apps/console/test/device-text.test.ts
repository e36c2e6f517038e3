// Text a LAN device chooses (host names, models, firmware) reaches the devices and adopt lists.
// Any host can inform as a pending device, so it must not be able to use control characters or
// bidirectional overrides to make one name render as another ("core-sw\u202Efdp.lanac" shows
// as "core-swcanal.pdf"). The schemas (packages/protocol zDeviceText, ZDeviceSummarySchema)
// replace each such character with U+FFFD rather than refusing: a refusal would drop a whole
// inform or a whole page of the list for one odd byte. Both halves are checked: the spoof is
// neutralised, and nothing else (the row, the inform, ordinary non-Latin text) is lost.
import { describe, expect, it } from "vitest";
import {
  ZDeviceStateSchema,
  ZDeviceSummarySchema,
  ZDevicesListResultSchema,
  ZDiscoveredDeviceSchema,
  ZUnifiInformSchema,
} from "@veil/protocol";

const UNSAFE = [
  ..."\u0000\u0007\t\n\r\u001b\u007f\u0085\u009b",
  ..."\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u2028\u2029",
];
const spoofed = "core-sw\u202Efdp.lanac\u0007";
const HONEST = ["Büro-AP", "東京-switch", "مكتب-1", "ap-👩‍💻-lab", "café\u00a0bar", "core-sw"];

const summary = (name: string, hostname = name) => ({
  mac: "aa:bb:cc:dd:ee:ff",
  dialect: "unifi",
  status: "pending",
  name,
  hostname,
  kind: "switch",
  model: `US8${name.slice(0, 8)}`,
  modelDisplay: name,
  firmware: name,
  ip: "10.0.0.2",
  firstSeen: 1,
  lastSeen: 1,
  intervalSec: 10,
  uptime: 0,
  cpu: 0,
  memoryPct: 0,
  clients: 0,
  locating: false,
});

const shownSafely = (text: string) => {
  for (const c of UNSAFE) expect(text).not.toContain(c);
};

describe("device text from the LAN", () => {
  it("a device row the page renders carries no control or bidi character, each replaced visibly", () => {
    const row = ZDeviceSummarySchema.parse(summary(spoofed, `x\u202E${"\u0001".repeat(10)}`));
    for (const field of [row.name, row.hostname, row.model, row.modelDisplay, row.firmware]) shownSafely(field);
    expect(row.name).toBe("core-sw\uFFFDfdp.lanac\uFFFD");
    expect(row.hostname).toBe(`x${"\uFFFD".repeat(11)}`);
  });

  it("every unsafe character is replaced, one for one", () => {
    const all = UNSAFE.join("");
    const row = ZDeviceSummarySchema.parse(summary(all));
    expect(row.name).toBe("\uFFFD".repeat(UNSAFE.length));
  });

  it("a discovered device (scan and adopt lists) shows its text the same way", () => {
    const found = ZDiscoveredDeviceSchema.parse({
      mac: "aa:bb:cc:dd:ee:ff",
      ip: "10.0.0.2",
      source: "ubdp",
      model: spoofed,
      modelDisplay: spoofed,
      firmware: spoofed,
      hostname: spoofed,
      adopted: false,
      seenAt: 1,
    });
    for (const field of [found.model, found.modelDisplay, found.firmware, found.hostname]) shownSafely(field);
    expect(found.hostname).toBe("core-sw\uFFFDfdp.lanac\uFFFD");
  });

  it("a list page with one spoofing row keeps every row", () => {
    const page = ZDevicesListResultSchema.parse({
      total: 3,
      offset: 0,
      devices: [summary("ap-1"), summary(spoofed), summary("ap-3")],
      counts: { online: 0, offline: 0, pending: 3 },
    });
    expect(page.devices.map((d) => d.name)).toEqual(["ap-1", "core-sw\uFFFDfdp.lanac\uFFFD", "ap-3"]);
  });

  it("an inform and a Veil channel state report with such text are kept, the text made printable", () => {
    const inform = ZUnifiInformSchema.parse({
      mac: "aa:bb:cc:dd:ee:ff",
      ip: "10.0.0.2",
      model: "US8\u0000",
      version: "6.6.55\n",
      hostname: spoofed,
      uptime: 1,
      sta_table: [{ mac: "11:22:33:44:55:66", hostname: "phone\u2067" }],
    });
    shownSafely(inform.hostname);
    shownSafely(inform.model);
    shownSafely(inform.version);
    expect(inform.sta_table?.[0]?.hostname).toBe("phone\uFFFD");

    const state = ZDeviceStateSchema.parse({
      mac: "aa:bb:cc:dd:ee:ff",
      kind: "ap",
      model: "U6",
      modelDisplay: "U6 Lite",
      firmware: "1.0",
      hostname: "\u202Dlobby",
      ip: "10.0.0.3",
      uptime: 1,
      cpu: 1,
      memory: { totalBytes: 1, usedBytes: 1 },
      locating: false,
      interfaces: [
        {
          name: "eth0\u200f",
          mac: "aa:bb:cc:dd:ee:01",
          up: true,
          speedMbps: 1000,
          rxBytes: 0,
          txBytes: 0,
          rxPackets: 0,
          txPackets: 0,
        },
      ],
      clients: [],
    });
    expect(state.hostname).toBe("\uFFFDlobby");
    expect(state.interfaces[0]?.name).toBe("eth0\uFFFD");
  });

  it("ordinary names in any script (emoji joiners, no-break spaces included) are unchanged", () => {
    for (const name of HONEST) {
      const row = ZDeviceSummarySchema.parse(summary(name));
      expect(row.name).toBe(name);
      expect(row.hostname).toBe(name);
    }
  });
});
