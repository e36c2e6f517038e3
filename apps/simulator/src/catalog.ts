/**
 * Plausible Ubiquiti-like models the simulator draws from. Model codes are the short platform
 * codes UniFi firmware reports (several appear in Wireshark's packet-ubdp.c table).
 */
import type { TDeviceKind } from "@veil/protocol";

/** One simulated hardware model. */
export interface ModelSpec {
  readonly kind: TDeviceKind;
  /** Short code, as in inform `model` and UBDP 0x0C/0x15. */
  readonly model: string;
  readonly display: string;
  /** UniFi inform `type`. */
  readonly unifiType: "uap" | "usw" | "ugw";
  readonly firmware: readonly string[];
  readonly memoryBytes: number;
  /** Wired ports (switches) or uplinks. */
  readonly ports: number;
  /** Radios (access points). */
  readonly radios: readonly ("ng" | "na" | "6e")[];
  /** Typical client count range. */
  readonly clients: readonly [number, number];
  readonly speedMbps: number;
}

const AP_FW = ["6.5.28.14491", "6.5.62.14789", "6.6.55.15189", "6.6.77.15402"] as const;
const SW_FW = ["6.5.59.14776", "6.6.61.15220", "7.0.50.15613"] as const;
const GW_FW = ["4.4.57.5578372", "4.4.56.5449062", "3.2.9.8466"] as const;

/** The models, grouped by kind. */
export const CATALOG: Readonly<Record<TDeviceKind, readonly ModelSpec[]>> = {
  ap: [
    {
      kind: "ap",
      model: "U7PG2",
      display: "UAP-AC-Pro-Gen2",
      unifiType: "uap",
      firmware: AP_FW,
      memoryBytes: 128 << 20,
      ports: 2,
      radios: ["ng", "na"],
      clients: [0, 30],
      speedMbps: 1000,
    },
    {
      kind: "ap",
      model: "U7LT",
      display: "UAP-AC-Lite",
      unifiType: "uap",
      firmware: AP_FW,
      memoryBytes: 64 << 20,
      ports: 1,
      radios: ["ng", "na"],
      clients: [0, 20],
      speedMbps: 1000,
    },
    {
      kind: "ap",
      model: "UAL6",
      display: "U6-Lite",
      unifiType: "uap",
      firmware: AP_FW,
      memoryBytes: 256 << 20,
      ports: 1,
      radios: ["ng", "na"],
      clients: [0, 40],
      speedMbps: 1000,
    },
    {
      kind: "ap",
      model: "UALR6v2",
      display: "U6-LR",
      unifiType: "uap",
      firmware: AP_FW,
      memoryBytes: 512 << 20,
      ports: 1,
      radios: ["ng", "na"],
      clients: [0, 50],
      speedMbps: 1000,
    },
    {
      kind: "ap",
      model: "U6PRO",
      display: "U6-Pro",
      unifiType: "uap",
      firmware: AP_FW,
      memoryBytes: 512 << 20,
      ports: 1,
      radios: ["ng", "na", "6e"],
      clients: [0, 60],
      speedMbps: 1000,
    },
  ],
  switch: [
    {
      kind: "switch",
      model: "USL8LP",
      display: "USW-Lite-8-PoE",
      unifiType: "usw",
      firmware: SW_FW,
      memoryBytes: 128 << 20,
      ports: 8,
      radios: [],
      clients: [1, 8],
      speedMbps: 1000,
    },
    {
      kind: "switch",
      model: "US24",
      display: "UniFi Switch 24",
      unifiType: "usw",
      firmware: SW_FW,
      memoryBytes: 256 << 20,
      ports: 24,
      radios: [],
      clients: [4, 24],
      speedMbps: 1000,
    },
    {
      kind: "switch",
      model: "US48P500",
      display: "UniFi Switch 48 POE-500W",
      unifiType: "usw",
      firmware: SW_FW,
      memoryBytes: 512 << 20,
      ports: 48,
      radios: [],
      clients: [8, 48],
      speedMbps: 1000,
    },
  ],
  router: [
    {
      kind: "router",
      model: "UGW3",
      display: "UniFi Security Gateway",
      unifiType: "ugw",
      firmware: GW_FW,
      memoryBytes: 512 << 20,
      ports: 3,
      radios: [],
      clients: [1, 4],
      speedMbps: 1000,
    },
    {
      kind: "router",
      model: "UXGLITE",
      display: "UXG-Lite",
      unifiType: "ugw",
      firmware: GW_FW,
      memoryBytes: 1024 << 20,
      ports: 2,
      radios: [],
      clients: [1, 2],
      speedMbps: 1000,
    },
  ],
};
