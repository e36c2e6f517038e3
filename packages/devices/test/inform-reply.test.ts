import { describe, expect, it } from "vitest";
import {
  adoptReply,
  authkeyToKey,
  cmdReply,
  compressInform,
  decodeInformJson,
  decompressInform,
  DeviceCodecError,
  encodeInformJson,
  generateAuthkey,
  INFORM_DEFAULT_KEY,
  noopReply,
  parseMgmtCfg,
  rebootReply,
  setdefaultReply,
  unifiInformToDeviceState,
  upgradeReply,
} from "../src/index";
import { ZUnifiInformSchema, ZUnifiReplySchema } from "@veil/protocol";

const clock = (): number => 1_700_000_000_123;

describe("controller replies", () => {
  it("every builder produces a reply the schema accepts, and survives a TNBU round trip", () => {
    const replies = [
      noopReply(10, clock),
      adoptReply("0123456789abcdef0123456789abcdef", "http://10.0.0.1:8080/inform", clock),
      rebootReply(clock),
      cmdReply("c1", "uname -a", clock),
      upgradeReply("https://fw.example/fw.bin", "d41d8cd98f00b204e9800998ecf8427e", "6.6.77"),
      setdefaultReply(),
    ];
    for (const r of replies) {
      expect(ZUnifiReplySchema.parse(r)).toEqual(r);
      const packet = encodeInformJson(r, { mac: "02:00:00:00:00:01", key: INFORM_DEFAULT_KEY });
      expect(decodeInformJson(packet, INFORM_DEFAULT_KEY).json).toEqual(r);
    }
    expect(noopReply(10, clock)).toEqual({ _type: "noop", interval: 10, server_time_in_utc: "1700000000123" });
  });

  it("a reply repeated (one deflate reused) and replies that differ each decode to their own content", () => {
    const noop = new TextEncoder().encode(JSON.stringify(noopReply(10, clock)));
    const first = compressInform(noop, "zlib");
    // A caller that reuses its input buffer must not change what was remembered.
    const scratch = noop.slice();
    expect(compressInform(scratch, "zlib")).toBe(first);
    scratch[2] = (scratch[2] ?? 0) ^ 1;
    expect(decompressInform(compressInform(scratch, "zlib"), "zlib")).toEqual(scratch);
    expect(decompressInform(compressInform(noop, "zlib"), "zlib")).toEqual(noop);
    const mac = "02:00:00:00:00:01";
    const replies = [noopReply(10, clock), noopReply(10, clock), noopReply(30, clock), rebootReply(clock)];
    const packets = replies.map((r) => encodeInformJson(r, { mac, key: INFORM_DEFAULT_KEY }));
    packets.forEach((p, i) => expect(decodeInformJson(p, INFORM_DEFAULT_KEY).json).toEqual(replies[i]));
    // Same content, fresh IV: the packets still differ.
    expect(Buffer.from(packets[0] ?? []).equals(Buffer.from(packets[1] ?? []))).toBe(false);
  });

  it("mgmt_cfg carries the new authkey and inform URL", () => {
    const key = generateAuthkey();
    expect(key).toMatch(/^[0-9a-f]{32}$/);
    const reply = adoptReply(key, "http://10.0.0.1:8080/inform");
    if (reply._type !== "setparam") throw new Error("not setparam");
    expect(parseMgmtCfg(reply.mgmt_cfg)).toEqual({ "mgmt.authkey": key, "mgmt.url": "http://10.0.0.1:8080/inform" });
    expect(Buffer.from(authkeyToKey(key)).toString("hex")).toBe(key);
    expect(() => parseMgmtCfg("mgmt.url=http://x/inform\n")).toThrow(DeviceCodecError);
    expect(() => parseMgmtCfg("mgmt.authkey=nothex\n")).toThrow(DeviceCodecError);
    expect(() => adoptReply("short")).toThrow(TypeError);
  });
});

describe("UniFi inform → device state", () => {
  // Field names and string-typed numbers as UniFi firmware sends them.
  const inform = ZUnifiInformSchema.parse({
    mac: "f0:9f:c2:79:63:90",
    ip: "192.168.1.20",
    model: "U7PG2",
    model_display: "UAP-AC-Pro-Gen2",
    type: "uap",
    version: "3.9.27.8537",
    hostname: "UBNT",
    uptime: 1234,
    default: false,
    unknown_field: { ignored: true },
    if_table: [
      {
        name: "eth0",
        mac: "f0:9f:c2:79:63:90",
        up: true,
        speed: 1000,
        rx_bytes: 10,
        tx_bytes: 20,
        rx_packets: 1,
        tx_packets: 2,
      },
    ],
    sta_table: [
      {
        mac: "02:11:22:33:44:55",
        ip: "192.168.1.50",
        hostname: "phone",
        signal: -60,
        uptime: 30,
        rx_bytes: 5,
        tx_bytes: 6,
      },
    ],
    sys_stats: { loadavg_1: "0.12", mem_total: "134217728", mem_used: "67108864" },
    "system-stats": { cpu: "7", mem: "50", uptime: "1234" },
  });

  it("maps kind, CPU, memory, interfaces and clients", () => {
    expect(unifiInformToDeviceState(inform)).toEqual({
      mac: "f0:9f:c2:79:63:90",
      kind: "ap",
      model: "U7PG2",
      modelDisplay: "UAP-AC-Pro-Gen2",
      firmware: "3.9.27.8537",
      hostname: "UBNT",
      ip: "192.168.1.20",
      uptime: 1234,
      cpu: 7,
      memory: { totalBytes: 134217728, usedBytes: 67108864 },
      locating: false,
      interfaces: [
        {
          name: "eth0",
          mac: "f0:9f:c2:79:63:90",
          up: true,
          speedMbps: 1000,
          rxBytes: 10,
          txBytes: 20,
          rxPackets: 1,
          txPackets: 2,
        },
      ],
      clients: [
        {
          mac: "02:11:22:33:44:55",
          ip: "192.168.1.50",
          hostname: "phone",
          signalDbm: -60,
          rxBytes: 5,
          txBytes: 6,
          uptime: 30,
        },
      ],
    });
  });

  it("refuses oversize lists and malformed MACs at the schema", () => {
    expect(ZUnifiInformSchema.safeParse({ ...inform, mac: "F0:9F:C2:79:63:90" }).success).toBe(false);
    expect(
      ZUnifiInformSchema.safeParse({ ...inform, sta_table: Array.from({ length: 1025 }, () => inform.sta_table?.[0]) })
        .success,
    ).toBe(false);
    expect(ZUnifiInformSchema.safeParse({ ...inform, hostname: "x".repeat(65) }).success).toBe(false);
  });
});
