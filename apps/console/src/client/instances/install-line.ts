/**
 * The one line a site host runs (docs/PROTOCOL-COMPANION.md §1). The enrollment string travels
 * in VEIL_ENROLL (an environment variable of `sh`, which install.sh unsets and hands to the
 * companion on stdin): never in argv, never in a URL. curl pins the console's key exactly as
 * the companion will (`--pinnedpubkey sha256//…`; `-k` because the pin replaces chain checks).
 */
import { decodeEnrollment } from "@veil/protocol";

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

export interface InstallLines {
  /** Linux with systemd, as root. */
  readonly system: string;
  /** No root, no systemd: installs into a folder and runs in the foreground. */
  readonly prefix: string;
}

export function installLines(enrollment: string): InstallLines {
  // Decoding checks the line we are about to show (and gives the pin and URL it carries).
  const { consoleUrl, consolePin } = decodeEnrollment(enrollment);
  const fetch = `curl -fsSL --proto '=https' --pinnedpubkey ${quote(consolePin)} -k ${consoleUrl}/install.sh`;
  return {
    system: `${fetch} | sudo VEIL_ENROLL=${quote(enrollment)} sh`,
    prefix: `${fetch} | VEIL_ENROLL=${quote(enrollment)} sh -s -- --prefix "$HOME/veil-companion"`,
  };
}
