import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { enrollCommand } from "../../src/cli/enroll-command";
import { decodeEnrollment } from "../../src/protocol";
import { createJsonLogger, type Logger } from "../../src/log";
import { startCompanion, type RunningCompanion, type StartOptions } from "../../src/run/start-companion";
import { StateStore } from "../../src/state/state-store";
import { memoDeriveTokenKeys } from "./fixtures";

/** A logger that keeps every line (so tests can assert no secret was logged). */
export function captureLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  return { logger: createJsonLogger({ level: "debug", write: (l) => lines.push(l) }), lines };
}

/** A fresh temporary state folder (0700 is created by the companion itself). */
export function tempStateDir(): { dir: string; cleanup(): void } {
  const parent = mkdtempSync(join(tmpdir(), "veil-companion-"));
  const dir = join(parent, "state");
  return { dir, cleanup: () => rmSync(parent, { recursive: true, force: true }) };
}

/** Enrolls into `dir` with the real pinned transport and the memoised (real) KDF. */
export async function enrollInto(dir: string, enrollment: string, logger: Logger): Promise<void> {
  await enrollCommand({
    stateDir: dir,
    enrollment: decodeEnrollment(enrollment),
    logger,
    deriveTokenKeys: memoDeriveTokenKeys,
  });
}

/** Starts the companion in-process on an enrolled state folder. */
export function runCompanion(dir: string, logger: Logger, extra: Partial<StartOptions> = {}): RunningCompanion {
  return startCompanion({
    store: new StateStore(dir),
    logger,
    deriveTokenKeys: memoDeriveTokenKeys,
    backoff: { baseMs: 50, maxMs: 400, factor: 2 },
    ...extra,
  });
}
