import { fromBase64Url, identityPublicKey, safetyCode, toHex } from "../crypto";
import { existsSync } from "node:fs";
import { readDevicesStatus, type DevicesStatus } from "../devices/read-devices-status";
import { StateStore } from "../state/state-store";

/** What `status --json` prints (a stable interface for scripts). */
export interface StatusReport {
  enrolled: boolean;
  stateDir: string;
  consoleUrl: string | null;
  instanceId: string | null;
  instanceName: string | null;
  fingerprints: {
    signer: string;
    signerSafetyCode: string;
    consolePin: string;
    instanceIdentityKey: string;
    instanceBoxKey: string;
  } | null;
  connection: {
    state: string;
    since: number | null;
    lastError: string | null;
    reconnectAttempt: number;
    updatedAt: number;
    pid: number;
    stale: boolean;
  } | null;
  sessions: { sessionId: string; accountId: string; role: string; openedAt: number }[];
  /** Inform ports and drop counters of the device side (devices-status.json), if it ran. */
  devices?: DevicesStatus;
}

/** Builds the status report from the state folder (permission-checked). */
export function readStatus(stateDir: string, now: number = Date.now()): StatusReport {
  const store = new StateStore(stateDir);
  const config = existsSync(stateDir) ? store.loadConfig() : undefined;
  if (config === undefined) {
    return {
      enrolled: false,
      stateDir,
      consoleUrl: null,
      instanceId: null,
      instanceName: null,
      fingerprints: null,
      connection: null,
      sessions: [],
    };
  }
  const status = store.loadStatus();
  let alive = false;
  if (status !== undefined) {
    try {
      process.kill(status.pid, 0);
      alive = true;
    } catch {
      alive = false;
    }
  }
  return {
    enrolled: true,
    stateDir,
    consoleUrl: config.consoleUrl,
    instanceId: config.instanceId,
    instanceName: config.instanceName,
    fingerprints: {
      signer: toHex(fromBase64Url(config.signerFingerprint)),
      signerSafetyCode: safetyCode(identityPublicKey(fromBase64Url(config.signerPublicKey))),
      consolePin: config.consolePin,
      instanceIdentityKey: config.identityPublicKey,
      instanceBoxKey: config.boxPublicKey,
    },
    connection:
      status === undefined
        ? null
        : {
            state: alive ? status.connection : status.connection === "revoked" ? "revoked" : "stopped",
            since: status.connectedSince,
            lastError: status.lastError,
            reconnectAttempt: status.reconnectAttempt,
            updatedAt: status.updatedAt,
            pid: status.pid,
            stale: !alive || now - status.updatedAt > 24 * 3600_000,
          },
    sessions: alive && status !== undefined ? status.sessions : [],
    ...devicesField(stateDir),
  };
}

function devicesField(stateDir: string): { devices?: DevicesStatus } {
  const devices = readDevicesStatus(stateDir);
  return devices === undefined ? {} : { devices };
}

/** Human-readable rendering of the report. */
export function formatStatus(r: StatusReport): string {
  if (!r.enrolled) return `not enrolled (state folder ${r.stateDir})\n`;
  const lines = [
    `instance     ${r.instanceName ?? ""} (${r.instanceId ?? ""})`,
    `console      ${r.consoleUrl ?? ""}`,
    `console pin  ${r.fingerprints?.consolePin ?? ""}`,
    `signer       ${r.fingerprints?.signerSafetyCode ?? ""}`,
    `connection   ${r.connection === null ? "never run" : r.connection.state}${r.connection?.lastError ? ` (last error: ${r.connection.lastError})` : ""}`,
    `sessions     ${r.sessions.length}`,
    ...r.sessions.map((s) => `  ${s.sessionId}  ${s.role}  account ${s.accountId}`),
    ...(r.devices
      ? [
          `devices      inform :${r.devices.informPort}, channel :${r.devices.channelPort}`,
          ...Object.entries(r.devices.counters).map(([k, v]) => `  ${k} ${v}`),
        ]
      : []),
  ];
  return lines.join("\n") + "\n";
}
