/**
 * The one line a site host runs (docs/PROTOCOL-COMPANION.md §1). The enrollment string travels
 * in VEIL_ENROLL (an environment variable of `sh`, which install.sh unsets and hands to the
 * companion on stdin): never in argv, never in a URL. curl pins the console's key exactly as
 * the companion will (`--pinnedpubkey sha256//…`; `-k` because the pin replaces chain checks).
 *
 * The assignment stands BEFORE `sudo`: `sudo VEIL_ENROLL=… sh` would make it an argument of
 * sudo, readable by every local user in `ps` while the install runs. As a shell prefix it goes
 * into sudo's environment instead (readable only by the same user and root, via
 * /proc/PID/environ), and `--preserve-env=VEIL_ENROLL` has sudo hand it on to `sh`.
 */
import { decodeEnrollment } from "@veil/protocol";

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

export interface InstallLines {
  /** Linux with systemd, as root. */
  readonly system: string;
  /** No root, no systemd: installs into a folder and runs in the foreground (no sudo; the token is
   * likewise a shell environment prefix, not an argument). */
  readonly prefix: string;
}

export function installLines(enrollment: string): InstallLines {
  // Decoding checks the line we are about to show (and gives the pin and URL it carries).
  const { consoleUrl, consolePin } = decodeEnrollment(enrollment);
  const fetch = `curl -fsSL --proto '=https' --pinnedpubkey ${quote(consolePin)} -k ${consoleUrl}/install.sh`;
  return {
    system: `${fetch} | VEIL_ENROLL=${quote(enrollment)} sudo --preserve-env=VEIL_ENROLL sh`,
    prefix: `${fetch} | VEIL_ENROLL=${quote(enrollment)} sh -s -- --prefix "$HOME/veil-companion"`,
  };
}
