/**
 * The one line a site host runs (docs/PROTOCOL-COMPANION.md §1). curl pins the console's key
 * exactly as the companion will (`--pinnedpubkey sha256//…`; `-k` because the pin replaces chain
 * checks).
 *
 * System mode: the enrollment string reaches install.sh on stdin, from `printf` (a builtin of
 * every POSIX shell, so it is in no process's argv), and never passes through sudo's argv or
 * environment: sudo logs both (`--preserve-env` variables, and with `log_format=json` the whole
 * environment of the command) to syslog or its log file, and every local user reads argv in
 * `ps`. The script cannot be piped into `sh` ahead of the string (sh reads ahead from a pipe and
 * would run the string as a command), so it is saved first to a private file (mktemp: 0600, in
 * a sticky folder no other user can swap it in). In a subshell: the traps remove the file
 * whether curl, sudo or the install fails or is interrupted, a failed download runs nothing, and
 * the line's exit status is curl's or the install's.
 */
import { decodeEnrollment } from "@veil/protocol";

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

export interface InstallLines {
  /** Linux with systemd, as root. */
  readonly system: string;
  /** No root, no systemd: installs into a folder and runs in the foreground. No sudo is involved,
   * so the string can be an environment prefix of `sh` (readable only by the same user and
   * root): install.sh unsets it and hands it to the companion on stdin. */
  readonly prefix: string;
}

export function installLines(enrollment: string): InstallLines {
  // Decoding checks the line we are about to show (and gives the pin and URL it carries).
  const { consoleUrl, consolePin } = decodeEnrollment(enrollment);
  // The URL quoted too: an IPv6 origin (https://[::1]:8443) is a glob pattern in zsh, which
  // stops on "no matches found" (and other shells would expand it against the current folder).
  const curl = `curl -fsSL --proto '=https' --pinnedpubkey ${quote(consolePin)} -k ${quote(`${consoleUrl}/install.sh`)}`;
  return {
    system:
      `(f=$(mktemp) && trap 'rm -f "$f"' EXIT && trap 'exit 130' INT HUP TERM && ` +
      `${curl} -o "$f" && printf '%s\\n' ${quote(enrollment)} | sudo sh "$f")`,
    prefix: `${curl} | VEIL_ENROLL=${quote(enrollment)} sh -s -- --prefix "$HOME/veil-companion"`,
  };
}
