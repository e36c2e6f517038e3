import type { DeriveTokenKeys } from "../enroll/derive-token-keys";
import { fromBase64Url, identityPublicKey } from "../crypto";
import { systemClock, type Clock, type Random } from "../clock";
import { Responder } from "../e2e/responder";
import { DEFAULT_PUSH_STREAM_LIMITS, type PushStreamLimits } from "../e2e/push-stream";
import { createRequestHandlers, type HandlerDeps } from "../e2e/requests/create-handlers";
import type { Logger } from "../log";
import { createAuthProvider } from "../rotate/create-auth-provider";
import { rotateTokenRequest } from "../rotate/rotate-token-request";
import type { StateStore } from "../state/state-store";
import { StatePermissionError } from "../state/check-permissions";
import { Supervisor, type ConnectionState } from "../supervisor/supervisor";
import type { BackoffPolicy } from "../supervisor/backoff";
import { createPinnedTransport, type ConsoleTransport } from "../transport/console-transport";
import { startDeviceService, type DeviceService, type DeviceServiceOptions } from "../devices/device-service";
import { openSiteServices } from "../discovery/site-requests";
import { TerminalHub, type TerminalLimits } from "../terminal/terminal-hub";
import { terminalAuditEntry } from "../terminal/terminal-audit";
import { SnapshotUploader, type SnapshotUploaderOptions } from "../snapshots/snapshot-uploader";
import { tapTransport } from "../snapshots/socket-tap";
import { AuditLog } from "../audit/audit-log";
import { AuditRecorder } from "../audit/record-request";
import { GrantRevocations } from "../grants/grant-revocations";
import { BoxKeyEpochs } from "../grants/box-key-epochs";

/** Options of {@link startCompanion}: everything with a side effect can be replaced. */
export interface StartOptions {
  store: StateStore;
  logger: Logger;
  clock?: Clock;
  random?: Random;
  /** Defaults to the pinned HTTPS/socket.io transport for the enrolled console. */
  transport?: ConsoleTransport;
  backoff?: BackoffPolicy;
  deriveTokenKeys?: DeriveTokenKeys;
  systemInfo?: HandlerDeps["systemInfo"];
  /** Starts the inform servers and the device store (ports etc.); off when omitted. */
  devices?: Omit<DeviceServiceOptions, "stateDir" | "logger">;
  /** VEIL_SCAN_RANGES: where discovery and adoption may reach (default: interface subnets). */
  scanRanges?: string | undefined;
  /** Device terminal caps (tests shorten the idle timeout). */
  terminalLimits?: Partial<TerminalLimits>;
  /** Push-stream bounds (tests shorten the stall limit). */
  pushStreamLimits?: Partial<PushStreamLimits>;
  /** Last-known inventory snapshots (with `devices`): timings, or false for none. */
  snapshots?: Pick<SnapshotUploaderOptions, "intervalMs" | "checkMs" | "minGapMs" | "ackTimeoutMs"> | false;
  /** How often status.json is rewritten when nothing changed (default hourly). */
  statusRefreshMs?: number;
}

/**
 * status.json is rewritten on every change and at least this often, so `status` can tell a
 * process that stopped refreshing it (stale after 24 h) from one whose connection simply held.
 */
const STATUS_REFRESH_MS = 3_600_000;

/** A running companion. */
export interface RunningCompanion {
  supervisor: Supervisor;
  responder: Responder;
  /** Device terminals of browsers. */
  terminals: TerminalHub;
  /** The local hash-chained audit log (the terminal appends its byte counts here). */
  audit: AuditLog;
  /** The device side, once its servers listen (undefined when not configured). */
  devices?: Promise<DeviceService>;
  /** The snapshot uploader (undefined without a device side). */
  snapshots?: SnapshotUploader;
  /** Resolves with "revoked" or "stopped". */
  finished: Promise<ConnectionState>;
  stop(): void;
}

/**
 * Loads the enrolled state (permission-checked), builds the responder and the supervisor, and
 * starts connecting. The status file is refreshed on every state change and session change.
 */
export function startCompanion(options: StartOptions): RunningCompanion {
  const { store, logger } = options;
  const clock = options.clock ?? systemClock;
  const config = store.loadConfig();
  const secrets = store.loadSecrets();
  if (config === undefined || secrets === undefined)
    throw new Error(`not enrolled: no state in ${store.dir}. Run: veil-companion enroll`);
  const tapped = tapTransport(options.transport ?? createPinnedTransport(config.consoleUrl, config.consolePin));
  const transport = tapped.transport;
  const signer = identityPublicKey(fromBase64Url(config.signerPublicKey));

  let supervisor: Supervisor | undefined = undefined;
  let lastSessionCount = 0;
  let deviceService: DeviceService | undefined = undefined;
  const devices =
    options.devices === undefined ? undefined : startDeviceService({ ...options.devices, stateDir: store.dir, logger });
  devices?.then(
    (d) => {
      deviceService = d;
    },
    (error: unknown) =>
      logger.error("device servers failed to start", { error: error instanceof Error ? error.message : "unknown" }),
  );
  const revocations = new GrantRevocations(store);
  const boxKeyEpochs = new BoxKeyEpochs({ store, logger });
  const snapshots =
    options.devices === undefined || options.snapshots === false
      ? undefined
      : new SnapshotUploader({
          ...options.snapshots,
          instanceId: config.instanceId,
          signer,
          identityPrivateKey: secrets.identityPrivateKey,
          stateDir: store.dir,
          devices: () => {
            const inventory = deviceService?.ctx.inventory;
            return inventory === undefined ? undefined : inventory.summaries(inventory.devices.keys());
          },
          socket: () => tapped.connected(),
          clock,
          logger,
          boxKeyEpochs,
          revokedBefore: (accountId) => revocations.before(accountId),
        });
  snapshots?.start();
  const site = openSiteServices({
    stateDir: store.dir,
    instanceId: config.instanceId,
    clock,
    logger,
    scanRanges: options.scanRanges,
    defaultInstall: () => (deviceService === undefined ? undefined : { siteKey: deviceService.siteKey().text }),
    unifiHandover: () => deviceService?.unifiHandover,
    isAdopted: (mac) => deviceService?.ctx.inventory.devices.get(mac)?.adopted === true,
  });
  const audit = AuditLog.open({ stateDir: store.dir, clock, logger });
  const terminals = new TerminalHub({
    devices: () => deviceService,
    clock,
    logger,
    ...(options.terminalLimits !== undefined ? { limits: options.terminalLimits } : {}),
    record: (event) => audit.append(terminalAuditEntry(event, clock.now())),
  });
  const handlers = createRequestHandlers({
    revokeGrant: ({ accountId, issuedAt }, asker) => {
      const revokedBefore = revocations.revoke(accountId, issuedAt, { share: asker.share, now: clock.now() });
      const closedSessions = responder.closeRevoked(accountId, revokedBefore, { later: asker.sessionId });
      logger.info("grants revoked", { accountId, closedSessions });
      return { revokedBefore, closedSessions };
    },
    terminals,
    audit: () => audit,
    devices: () => deviceService,
    site: () => site,
    rotateToken: () =>
      rotateTokenRequest({
        store,
        transport,
        logger,
        now: () => clock.now(),
        deriveTokenKeys: options.deriveTokenKeys,
      }),
    systemInfo: options.systemInfo,
  });
  const responder = new Responder({
    instanceId: config.instanceId,
    boxPrivateKey: fromBase64Url(secrets.boxPrivateKey),
    signer,
    handlers,
    clock,
    logger,
    audit: new AuditRecorder(audit, logger, () => clock.now()),
    revokedBefore: (accountId) => revocations.before(accountId),
    boxKeyEpochs,
    pushStreamLimits: { ...DEFAULT_PUSH_STREAM_LIMITS, ...options.pushStreamLimits },
    send: (frame) => {
      supervisor?.send(frame);
      // status.json is fsynced: refresh it when the set of sessions changes, not on every frame.
      const count = responder.sessionCount;
      if (count !== lastSessionCount) {
        lastSessionCount = count;
        writeStatus();
      }
    },
  });
  let last: { state: ConnectionState; attempt: number; lastError: string | null; connectedSince: number | null } = {
    state: "starting",
    attempt: 0,
    lastError: null,
    connectedSince: null,
  };
  const writeStatus = (): void => {
    try {
      store.saveStatus({
        pid: process.pid,
        updatedAt: clock.now(),
        connection: last.state,
        connectedSince: last.connectedSince,
        reconnectAttempt: last.attempt,
        lastError: last.lastError,
        sessions: responder.sessions(),
      });
    } catch (error) {
      logger.warn("could not write status.json", { error: error instanceof Error ? error.name : "unknown" });
    }
  };
  // When the console refuses secrets.json's key, an unconfirmed rotation's key is tried; it is
  // promoted only once the console has accepted it.
  const auth = createAuthProvider({ store, logger });
  supervisor = new Supervisor({
    instanceId: config.instanceId,
    transport,
    auth,
    clock,
    random: options.random ?? Math.random,
    logger,
    backoff: options.backoff,
    // The state folder made unsafe, a secret file damaged or gone: no retry mends that (exit 1,
    // and the operator is told the fix). Anything else reading the key (EIO, EMFILE) is retried.
    isFatal: (error) => error instanceof StatePermissionError,
    onFrame: (frame) => responder.handleFrame(frame),
    onDisconnected: () => responder.closeAll("disconnected"),
    onState: (state, detail) => {
      if (state === "connected") auth.accepted();
      last = { state, ...detail };
      writeStatus();
      if (state === "connected") snapshots?.connected();
    },
  });
  const s = supervisor;
  s.start();
  const refresh = setInterval(writeStatus, options.statusRefreshMs ?? STATUS_REFRESH_MS);
  refresh.unref();
  return {
    supervisor: s,
    responder,
    terminals,
    audit,
    ...(devices !== undefined ? { devices } : {}),
    ...(snapshots !== undefined ? { snapshots } : {}),
    finished: s.finished.then(async (state) => {
      clearInterval(refresh);
      snapshots?.stop();
      responder.closeAll(state);
      terminals.closeAll();
      writeStatus();
      await devices?.then((d) => d.close()).catch(() => undefined);
      audit.close();
      boxKeyEpochs.close();
      await boxKeyEpochs.flushed();
      return state;
    }),
    // A clean stop sends one last snapshot first (bounded: at most 3 s).
    stop: () => {
      if (snapshots === undefined) return s.stop();
      void snapshots.final().finally(() => s.stop());
    },
  };
}
