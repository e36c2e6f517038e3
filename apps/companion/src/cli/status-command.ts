import { fromBase64Url, identityPublicKey, safetyCode, toHex } from "../crypto";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { readDevicesStatus, type DevicesStatus } from "../devices/read-devices-status";
import { RUN_LOCK_FILE } from "../run/state-dir-lock";
import { lockHolder } from "../state/lock-file";
import type { TCompanionStatus } from "../state/state-schemas";
import { StateFileCorruptError, StateStore } from "../state/state-store";

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
  /**
   * What `run` reported in status.json, or null when it never ran. Whether a `run` is alive is
   * judged by run.lock's holder (pid and start time), not by status.json, which is advisory: a
   * `run` that stopped is "stopped" (or "revoked"), and a live one whose status.json is unreadable
   * or not its own yet is "unknown" (updatedAt and pid null when status.json says nothing).
   */
  connection: {
    state: string;
    since: number | null;
    lastError: string | null;
    reconnectAttempt: number;
    updatedAt: number | null;
    pid: number | null;
    stale: boolean;
  } | null;
  sessions: { sessionId: string; accountId: string; role: string; openedAt: number }[];
  /** Inform ports and drop counters of the device side (devices-status.json), if it ran. */
  devices?: DevicesStatus;
}

/**
 * Builds the status report from the state folder (permission-checked). Not enrolled (no folder,
 * or no config.json) is a report, not an error; an unsafe folder or a corrupt config.json or
 * secrets.json throws (the message names the fix).
 */
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
  const run = lockHolder(join(stateDir, RUN_LOCK_FILE));
  const runningPid = run?.alive === true ? run.pid : undefined;
  let status: TCompanionStatus | undefined;
  let unreadable: string | null = null;
  try {
    status = store.loadStatus();
  } catch (error) {
    if (!(error instanceof StateFileCorruptError)) throw error;
    unreadable = "status.json is unreadable (veil-companion run rewrites it)";
  }
  const current = status !== undefined && runningPid === status.pid ? status : undefined;
  const reported = (s: TCompanionStatus, state: string, stale: boolean): StatusReport["connection"] => ({
    state,
    since: s.connectedSince,
    lastError: s.lastError,
    reconnectAttempt: s.reconnectAttempt,
    updatedAt: s.updatedAt,
    pid: s.pid,
    stale,
  });
  const unknown = { since: null, lastError: unreadable, reconnectAttempt: 0, updatedAt: null, stale: true };
  const connection =
    current !== undefined
      ? reported(current, current.connection, now - current.updatedAt > 24 * 3600_000)
      : runningPid !== undefined
        ? { ...unknown, state: "unknown", pid: runningPid }
        : status !== undefined
          ? reported(status, status.connection === "revoked" ? "revoked" : "stopped", true)
          : unreadable !== null
            ? { ...unknown, state: "stopped", pid: null }
            : null;
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
    connection,
    sessions: current?.sessions ?? [],
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
