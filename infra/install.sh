#!/bin/sh
# Veil companion installer (POSIX sh). Served by the console, which shows the line that runs it:
#   (f=$(mktemp) && trap 'rm -f "$f"' EXIT && trap 'exit 130' INT HUP TERM && curl -fsSL --proto '=https' --pinnedpubkey 'sha256//…' -k https://console:8443/install.sh -o "$f" && printf '%s\n' 'veil1_…' | sudo sh "$f")
# The enrollment string reaches this script on stdin, through no environment variable and no
# argument: sudo logs the variables it passes on (--preserve-env, or all of them with
# log_format=json) and every local user can read argv in `ps`. printf is a shell builtin, so
# no process has the string in its argv either. The script itself is a private mktemp file.
#
# System mode (root, systemd): installs the bundle in /opt/veil-companion, a wrapper in
# /usr/local/bin, creates the unprivileged system user veil-companion and the 0700 state folder
# /var/lib/veil-companion, enrolls, installs the hardened unit and starts it. Node.js 20+ must
# be installed system-wide (not under /root or /home, which the service cannot read).
# Prefix mode (--prefix DIR or VEIL_PREFIX; no root, no systemd): installs DIR/lib/veil-companion,
# the wrapper DIR/bin/veil-companion and the state folder DIR/var/lib/veil-companion, and runs
# the companion in the foreground (--no-start: install and enroll only).
#
#   sh install.sh [--prefix DIR] [--no-start] [--bundle-sha256 HEX] < string   install (idempotent)
#   sh install.sh uninstall [--prefix DIR] [--force]     remove what install created, nothing else
#
# The enrollment string: VEIL_ENROLL when set, else the first line of stdin; on a terminal, a
# prompt that does not echo it. With neither, a re-run keeps the existing enrollment. It is
# handed to the companion on stdin and never put in argv, a URL or a log line. The bundle is
# fetched from the console over a connection pinned to the console's key and checked against
# its SHA-256 before use: the one given with --bundle-sha256 (or VEIL_BUNDLE_SHA256, which sudo
# drops), else the .sha256 file the console serves. The console address and pin are kept in
# LIBDIR/install.conf, written by this script (root in system mode): a re-run fetches from
# there, never from the companion's own config.json, which its (network-facing) user can write.
# The systemd unit is part of this script, not fetched. uninstall --force removes the state
# folder even when the companion cannot erase it first (its Node.js or bundle is gone).
set -eu
umask 077

ACTION=install
PREFIX="${VEIL_PREFIX:-}"
NO_START=0
FORCE=0
BUNDLE_SHA256=""
SERVICE=veil-companion
SVC_USER=veil-companion

die() { printf 'veil-companion install: error: %s\n' "$*" >&2; exit 1; }
# Paths this script writes into the unit's ExecStart (and its sed): only characters that need no
# quoting there (no space, quote, $, backquote, backslash, newline, #, &).
plain_path() { case "$1" in *[!A-Za-z0-9/._+@:,=-]*) return 1 ;; esac; }
# Paths this script writes between double quotes in the wrapper script, one of them inside
# ${VEIL_STATE_DIR:=…}: none of " $ ` \ } or a newline.
quotable_path() {
  case "$1" in *'"'*|*'$'*|*'`'*|*\\*|*'}'*|*"
"*) return 1 ;; esac
}
say() { printf 'veil-companion install: %s\n' "$*" >&2; }

while [ $# -gt 0 ]; do
  case "$1" in
    uninstall) ACTION=uninstall ;;
    # An empty folder would select system mode: `--prefix "$DIR"` with DIR unset must not
    # install into (or uninstall) /opt, /usr/local/bin and /var/lib.
    --prefix) [ $# -ge 2 ] || die "--prefix needs a folder"; [ -n "$2" ] || die "--prefix needs a folder (an empty one is refused)"; PREFIX="$2"; shift ;;
    --prefix=*) PREFIX="${1#--prefix=}"; [ -n "$PREFIX" ] || die "--prefix needs a folder (an empty one is refused)" ;;
    --no-start) NO_START=1 ;;
    --force) FORCE=1 ;;
    # An empty value would fall back to the console's own checksum, which the pin exists to avoid.
    --bundle-sha256) [ $# -ge 2 ] || die "--bundle-sha256 needs the bundle's SHA-256 (64 hex digits)"; [ -n "$2" ] || die "--bundle-sha256 needs the bundle's SHA-256 (64 hex digits)"; BUNDLE_SHA256="$2"; shift ;;
    --bundle-sha256=*) BUNDLE_SHA256="${1#--bundle-sha256=}"; [ -n "$BUNDLE_SHA256" ] || die "--bundle-sha256 needs the bundle's SHA-256 (64 hex digits)" ;;
    -h|--help) sed -n '2,29p' "$0" 2>/dev/null || true; exit 0 ;;
    veil1_*) die "never pass the enrollment string as an argument (other users can read argv): pipe it on stdin" ;;
    *) die "unknown argument: $1" ;;
  esac
  shift
done

if [ "${VEIL_PREFIX+set}" = set ] && [ -z "$VEIL_PREFIX" ] && [ -z "$PREFIX" ]; then
  die "VEIL_PREFIX is set but empty: unset it for system mode, or name a folder"
fi
[ "$FORCE" -eq 0 ] || [ "$ACTION" = uninstall ] || die "--force applies to uninstall only"

# The bundle's SHA-256 given out of band: the argument (which survives sudo's env_reset) or
# VEIL_BUNDLE_SHA256; both must agree.
lower_hex() { printf '%s' "$1" | tr 'A-F' 'a-f'; }
if [ "${VEIL_BUNDLE_SHA256+set}" = set ] && [ -z "$VEIL_BUNDLE_SHA256" ]; then
  die "VEIL_BUNDLE_SHA256 is set but empty: unset it, or give the bundle's SHA-256 (64 hex digits)"
fi
if [ -n "${VEIL_BUNDLE_SHA256:-}" ]; then
  env_sha="$(lower_hex "$VEIL_BUNDLE_SHA256")"
  [ -z "$BUNDLE_SHA256" ] || [ "$(lower_hex "$BUNDLE_SHA256")" = "$env_sha" ] ||
    die "--bundle-sha256 and VEIL_BUNDLE_SHA256 differ: give one"
  BUNDLE_SHA256="$env_sha"
fi
if [ -n "$BUNDLE_SHA256" ]; then
  BUNDLE_SHA256="$(lower_hex "$BUNDLE_SHA256")"
  case "$BUNDLE_SHA256" in *[!0-9a-f]*) die "--bundle-sha256: not a SHA-256 (64 hex digits)" ;; esac
  [ "${#BUNDLE_SHA256}" -eq 64 ] || die "--bundle-sha256: not a SHA-256 (64 hex digits)"
fi

# Keep the secret in a shell variable only; no child process inherits it through the environment.
# Without VEIL_ENROLL, do_install reads it from stdin (read_enrollment).
ENROLL="${VEIL_ENROLL:-}"
unset VEIL_ENROLL

if [ -n "$PREFIX" ]; then
  MODE=prefix
  case "$PREFIX" in /*) ;; *) PREFIX="$(pwd)/$PREFIX" ;; esac
  quotable_path "$PREFIX" ||
    die "--prefix $PREFIX: use a folder whose path has no double quote, \$, backquote, backslash, } or newline (it is written into the wrapper script)"
  # Folders of our own under DIR: DIR may be shared (/usr/local, $HOME), so uninstall removes
  # these and the wrapper, never DIR/lib or DIR/bin themselves.
  LIBDIR="$PREFIX/lib/veil-companion"
  BINDIR="$PREFIX/bin"
  STATE="$PREFIX/var/lib/veil-companion"
else
  MODE=system
  LIBDIR=/opt/veil-companion
  BINDIR=/usr/local/bin
  STATE=/var/lib/veil-companion
  UNIT=/etc/systemd/system/$SERVICE.service
fi
BUNDLE="$LIBDIR/veil-companion.mjs"
WRAPPER="$BINDIR/veil-companion"
# The folders install had to create in prefix mode, one a line: uninstall removes them if empty.
CREATED="$LIBDIR/created-folders"
# The console address and pin re-runs fetch from, and the Node.js the wrapper runs: written by
# this script only (root's in system mode, 0644), read back by re-runs and uninstall.
RECORD="$LIBDIR/install.conf"

check_platform() {
  os="$(uname -s)"
  case "$os" in
    Linux) ;;
    Darwin|FreeBSD) [ "$MODE" = prefix ] || die "system mode needs Linux with systemd; use --prefix DIR on $os" ;;
    *) die "unsupported platform: $os" ;;
  esac
  if [ "$MODE" = system ]; then
    [ "$(id -u)" -eq 0 ] || die "system mode must run as root (or use --prefix DIR)"
    command -v systemctl >/dev/null 2>&1 || die "systemd (systemctl) not found; use --prefix DIR to run without it"
  fi
  command -v curl >/dev/null 2>&1 || die "curl is required"
}

check_node() {
  NODE="$(command -v node 2>/dev/null || true)"
  [ -n "$NODE" ] || die "Node.js 20 or newer is required (node not found)"
  if [ "$MODE" = system ]; then
    plain_path "$NODE" ||
      die "Node.js at $NODE: the service unit would need its path quoted (a space, a quote, \$, a backslash, # or &); put node on PATH from a folder whose path has only letters, digits and / . _ + @ : , = -"
  else
    quotable_path "$NODE" ||
      die "Node.js at $NODE: its path has a double quote, \$, backquote, backslash, } or newline, which the wrapper script cannot hold; put node on PATH from another folder"
  fi
  major="$("$NODE" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)"
  [ "$major" -ge 20 ] 2>/dev/null || die "Node.js 20 or newer is required (found $("$NODE" --version 2>/dev/null || echo unknown))"
  if [ "$MODE" = system ]; then
    # The service runs as $SVC_USER with ProtectHome=yes: a Node under a home folder (nvm, a
    # user's install) passes the check above as root, then cannot start.
    # Both the path the unit will name and the file it leads to.
    real="$(readlink -f "$NODE" 2>/dev/null || printf '%s' "$NODE")"
    for p in "$NODE" "$real"; do
      case "$p" in
        /root/*|/home/*|/run/user/*)
          die "Node.js at $p is in a home folder, which the service (user $SVC_USER, ProtectHome=yes) cannot read: install Node.js 20 or newer system-wide (for example in /usr/local or from your distribution) and run this again" ;;
      esac
    done
  fi
}

# Sets ENROLL from stdin when VEIL_ENROLL was not given and stdin is not a terminal: the first
# line (the console's line pipes it in). Nothing at all on stdin leaves ENROLL empty (a re-run
# keeps the existing enrollment); an empty line is an error. Called only from the script's last
# command, so under `curl … | sh` (stdin is the script itself) the script is read to its end
# before this runs and stdin has nothing left.
read_enrollment() {
  [ -z "$ENROLL" ] || return 0
  [ ! -t 0 ] || return 0
  line=""
  ended=0
  IFS= read -r line || ended=1
  case "$line" in
    *[![:space:]]*) ENROLL="$line" ;;
    *) if [ "$ended" -eq 0 ] || [ -n "$line" ]; then die "the enrollment string on stdin is empty"; fi ;;
  esac
  line=""
}

# Asks for the enrollment string on the terminal, with echo off (restored on exit and Ctrl-C).
prompt_enrollment() {
  saved="$(stty -g)" || die "cannot read the terminal's settings to turn echo off"
  trap 'stty "$saved" 2>/dev/null' EXIT
  trap 'exit 130' INT HUP TERM
  printf 'Paste the enrollment string the console showed (it is not echoed), then press Enter: ' >&2
  stty -echo
  IFS= read -r ENROLL || true
  stty "$saved"
  trap - EXIT INT HUP TERM
  printf '\n' >&2
  case "$ENROLL" in *[![:space:]]*) ;; *) die "no enrollment string entered" ;; esac
}

# JavaScript shared by enrollment_target and recorded_target: one check of a console address and
# pin, whichever of the two it comes from.
CHECK_TARGET_JS='
  const checkTarget = (url, pin) => {
    if (!/^https:\/\/[A-Za-z0-9.:\[\]-]+$/.test(url)) { console.error("bad console URL"); process.exit(1); }
    if (!/^sha256\/\/[A-Za-z0-9+\/]{43}=$/.test(pin)) { console.error("bad console pin"); process.exit(1); }
    return url + " " + pin + "\n";
  };'

# Prints "<console URL> <pin>" from the enrollment string (read on stdin, never argv).
enrollment_target() {
  printf '%s\n' "$ENROLL" | "$NODE" -e "$CHECK_TARGET_JS"'
    let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
      s = s.trim();
      if (!/^veil1_[A-Za-z0-9_-]+$/.test(s) || s.length > 1024) { console.error("malformed enrollment string"); process.exit(1); }
      const b = Buffer.from(s.slice(6), "base64url");
      if (b.length < 115 || b[0] !== 1) { console.error("malformed enrollment string"); process.exit(1); }
      const n = b.readUInt16BE(113);
      if (b.length !== 115 + n) { console.error("malformed enrollment string"); process.exit(1); }
      const url = b.subarray(115).toString("utf8");
      process.stdout.write(checkTarget(url, "sha256//" + b.subarray(81, 113).toString("base64")));
    });'
}

# Prints "<console URL> <pin>" that RECORD holds (re-runs without an enrollment string), with the
# checks enrollment_target makes, and only from a file (in a folder) of this user that no other
# can write. Never from `veil-companion status`: that reads config.json, which in system mode
# the service user owns; root would then fetch and install whatever a compromised companion named.
recorded_target() {
  "$NODE" -e "$CHECK_TARGET_JS"'
    const fs = require("fs"), path = require("path");
    const [file, uid] = process.argv.slice(1);
    for (const p of [file, path.dirname(file)]) {
      const st = fs.lstatSync(p);
      if (st.uid !== Number(uid) || (st.mode & 0o022) !== 0 || st.isSymbolicLink()) {
        console.error(p + " is not owned by user " + uid + " alone"); process.exit(1);
      }
    }
    const kv = {};
    for (const line of fs.readFileSync(file, "utf8").split("\n")) {
      const i = line.indexOf("=");
      if (i > 0 && !line.startsWith("#")) kv[line.slice(0, i)] = line.slice(i + 1);
    }
    process.stdout.write(checkTarget(kv.url ?? "", kv.pin ?? ""));' "$RECORD" "$(id -u)"
}

write_record() {
  printf '# Written by install.sh: re-runs fetch from this console; uninstall runs this Node.js.\nurl=%s\npin=%s\nnode=%s\n' \
    "$URL" "$PIN" "$NODE" > "$RECORD.new"
  chmod 644 "$RECORD.new"
  mv -f "$RECORD.new" "$RECORD"
}

fetch() { # fetch URL PATH OUT: pinned, TLS 1.2+, https only, no redirects
  curl -fsS --proto '=https' --tlsv1.2 --pinnedpubkey "$PIN" -k --max-time 120 -o "$3" "$1$2" ||
    die "could not fetch $2 from the console (wrong certificate pin, or the console is unreachable)"
}

sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then sha256sum "$1" | cut -d' ' -f1
  elif command -v shasum >/dev/null 2>&1; then shasum -a 256 "$1" | cut -d' ' -f1
  else "$NODE" -e 'process.stdout.write(require("crypto").createHash("sha256").update(require("fs").readFileSync(process.argv[1])).digest("hex"))' "$1"
  fi
}

as_service_user() { # run a command as the service user (system) or ourselves (prefix); stdin passes through
  if [ "$MODE" = system ]; then
    # shellcheck disable=SC2016 # su's "$0" "$@" are expanded by the service user's sh, on purpose
    if command -v runuser >/dev/null 2>&1; then runuser -u "$SVC_USER" -- "$@"
    else su -s /bin/sh "$SVC_USER" -c '"$0" "$@"' -- "$@"
    fi
  else "$@"
  fi
}

# Creates LIBDIR and BINDIR, 0755 (the bundle is public; in system mode the service user reads
# it), and in prefix mode the state folder's parents. Records each folder of the prefix that did
# not exist yet, so that uninstall can remove it again, and only it.
make_folders() {
  new=""
  if [ "$MODE" = prefix ]; then
    for d in "$PREFIX" "$BINDIR" "$PREFIX/lib" "$PREFIX/var" "${STATE%/*}"; do
      [ -d "$d" ] || new="$new$d
"
    done
  fi
  (umask 022 && mkdir -p "$LIBDIR" "$BINDIR" "${STATE%/*}")
  chmod 755 "$LIBDIR"
  if [ -n "$new" ]; then
    printf '%s' "$new" >> "$CREATED"
    chmod 644 "$CREATED"
  fi
}

install_bundle() {
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  fetch "$URL" /companion/veil-companion.mjs "$tmp/veil-companion.mjs"
  if [ -n "$BUNDLE_SHA256" ]; then expected="$BUNDLE_SHA256"
  else fetch "$URL" /companion/veil-companion.mjs.sha256 "$tmp/sha256"; expected="$(cut -d' ' -f1 "$tmp/sha256")"
  fi
  actual="$(sha256_of "$tmp/veil-companion.mjs")"
  [ "$actual" = "$expected" ] || die "bundle checksum mismatch (expected $expected, got $actual): not installing"
  make_folders
  cp "$tmp/veil-companion.mjs" "$LIBDIR/.veil-companion.mjs.new"
  chmod 644 "$LIBDIR/.veil-companion.mjs.new"
  mv -f "$LIBDIR/.veil-companion.mjs.new" "$BUNDLE"
  if [ "$MODE" = system ]; then
    # root runs the CLI as the service user, so files in the state folder keep their owner.
    cat > "$BINDIR/.veil-companion.new" <<WRAPPER
#!/bin/sh
: "\${VEIL_STATE_DIR:=$STATE}"
export VEIL_STATE_DIR
if [ "\$(id -u)" -eq 0 ]; then exec runuser -u $SVC_USER -- env VEIL_STATE_DIR="\$VEIL_STATE_DIR" "$NODE" "$BUNDLE" "\$@"; fi
exec "$NODE" "$BUNDLE" "\$@"
WRAPPER
  else
    cat > "$BINDIR/.veil-companion.new" <<WRAPPER
#!/bin/sh
: "\${VEIL_STATE_DIR:=$STATE}"
export VEIL_STATE_DIR
exec "$NODE" "$BUNDLE" "\$@"
WRAPPER
  fi
  chmod 755 "$BINDIR/.veil-companion.new"
  mv -f "$BINDIR/.veil-companion.new" "$WRAPPER"
  say "installed $BUNDLE ($actual)"
}

ensure_user_and_state() {
  if [ "$MODE" = system ]; then
    if ! id "$SVC_USER" >/dev/null 2>&1; then
      if command -v useradd >/dev/null 2>&1; then
        useradd --system --user-group --home-dir "$STATE" --no-create-home --shell /usr/sbin/nologin "$SVC_USER"
      else
        adduser -S -D -H -h "$STATE" -s /sbin/nologin "$SVC_USER"
      fi
      say "created system user $SVC_USER"
    fi
    mkdir -p "$STATE"
    chown "$SVC_USER:$SVC_USER" "$STATE"
    as_service_user "$NODE" --version >/dev/null 2>&1 </dev/null ||
      die "the service user $SVC_USER cannot run $NODE: install Node.js 20 or newer where every user can run it, and run this again"
  else
    mkdir -p "$STATE"
  fi
  chmod 700 "$STATE"
}

enroll() {
  if [ -z "$ENROLL" ]; then
    say "no enrollment string given: keeping the existing enrollment"
    return 0
  fi
  # A string for this instance with a new console address or pin enrolls again in place, which
  # the companion refuses while its service runs; install_unit starts it again.
  was_active=0
  if [ "$MODE" = system ] && command -v systemctl >/dev/null 2>&1 && [ -f "$UNIT" ]; then
    # "activating" too: a service waiting to restart would start during the enrollment.
    case "$(systemctl is-active "$SERVICE" 2>/dev/null || true)" in
      active|activating|reloading) was_active=1 ;;
    esac
    systemctl stop "$SERVICE" >/dev/null 2>&1 || true
  fi
  if ! printf '%s\n' "$ENROLL" | as_service_user env VEIL_STATE_DIR="$STATE" "$NODE" "$BUNDLE" enroll; then
    [ "$was_active" -eq 0 ] || systemctl start "$SERVICE" || true
    die "enrollment failed (see the message above); nothing was enrolled"
  fi
}

# The hardened unit, with @NODE@ and @LIBDIR@ for install_unit to fill in. Part of this script,
# never fetched on its own (a re-run as root would install whatever unit the console it asks
# serves) and never read from beside the script (under `curl … | sh` that is the current folder,
# which nobody vouched for). infra.test.ts checks that it is infra/veil-companion.service.
unit_template() {
  cat <<'UNIT'
# Veil companion: holds this site's instance keys and answers end-to-end sessions relayed by
# the Veil console. Installed by install.sh (which replaces @NODE@ and @LIBDIR@).
# Hardening target: `systemd-analyze security --offline=true` exposure <= 3.5 (checked by
# apps/companion/test/infra.test.ts). MemoryDenyWriteExecute stays off: V8's JIT needs W+X.
[Unit]
Description=Veil companion
Documentation=man:systemd.exec(5)
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
User=veil-companion
Group=veil-companion
Environment=VEIL_STATE_DIR=/var/lib/veil-companion
ExecStart=@NODE@ @LIBDIR@/veil-companion.mjs run
Restart=on-failure
RestartSec=5s
# Exit 3: the console revoked this instance; restarting would only be refused.
RestartPreventExitStatus=3

# State: /var/lib/veil-companion, 0700, the only writable path.
StateDirectory=veil-companion
StateDirectoryMode=0700
UMask=0077
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
DevicePolicy=closed
PrivateUsers=yes
PrivateIPC=yes
RemoveIPC=yes
KeyringMode=private

# No privileges at all.
NoNewPrivileges=yes
CapabilityBoundingSet=
AmbientCapabilities=
RestrictSUIDSGID=yes
LockPersonality=yes
RestrictRealtime=yes
RestrictNamespaces=yes

# Kernel and host surfaces.
ProtectHostname=yes
ProtectClock=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectProc=invisible
ProcSubset=pid

# Network: IP to reach the console and the site's devices; netlink (with no capabilities it can
# read the routing tables but change nothing) so the companion can list its own interfaces (the
# default discovery scope, the device channel's address): Node throws without it.
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX AF_NETLINK

# System calls.
SystemCallArchitectures=native
SystemCallFilter=@system-service
SystemCallFilter=~@privileged @resources @mount @debug @cpu-emulation @obsolete @raw-io @reboot @swap @module @clock
SystemCallErrorNumber=EPERM

[Install]
WantedBy=multi-user.target
UNIT
}

install_unit() {
  unit_template | sed -e "s#@NODE@#$NODE#g" -e "s#@LIBDIR@#$LIBDIR#g" > "$tmp/unit.out"
  install -m 0644 "$tmp/unit.out" "$UNIT"
  systemctl daemon-reload
  systemctl enable "$SERVICE" >/dev/null
  systemctl restart "$SERVICE"
  say "service $SERVICE started (systemctl status $SERVICE; journalctl -u $SERVICE)"
}

do_install() {
  check_platform
  # An install from before 2026-11-24 kept its state in DIR/state: enrolling anew beside it would
  # leave its vault, devices and audit log behind.
  if [ "$MODE" = prefix ] && [ -f "$PREFIX/state/config.json" ] && [ ! -d "$STATE" ]; then
    die "$PREFIX/state holds an earlier companion's state: stop it, then move that folder to $STATE (and remove $PREFIX/lib/veil-companion.mjs and $PREFIX/bin/veil-companion), and run this again"
  fi
  check_node
  read_enrollment
  if [ -n "$ENROLL" ]; then :
  elif [ -f "$RECORD" ]; then
    target="$(recorded_target)" ||
      die "$RECORD is not the console address and pin this script wrote: run the console's line again (it pipes the enrollment string to this script)"
  elif [ -f "$BUNDLE" ] && [ ! -t 0 ]; then
    die "no record of the console this companion was installed from ($RECORD; an install.sh from before 2026-11-24 kept none): run the console's line again (it pipes the enrollment string to this script)"
  elif [ -t 0 ]; then prompt_enrollment
  else die "no enrollment string: run the line the console shows (it pipes the string to this script's stdin), or set VEIL_ENROLL"
  fi
  if [ -n "$ENROLL" ]; then
    target="$(enrollment_target)" || die "that is not a valid enrollment string: copy the whole line the console shows"
  fi
  URL="${target% *}"
  PIN="${target#* }"
  install_bundle
  ensure_user_and_state
  enroll
  write_record
  if [ "$MODE" = system ]; then
    install_unit
  elif [ "$NO_START" -eq 0 ]; then
    say "running in the foreground (Ctrl-C to stop)"
    rm -rf "$tmp"
    trap - EXIT
    VEIL_STATE_DIR="$STATE" exec "$NODE" "$BUNDLE" run
  else
    say "installed in $PREFIX; start with: $BINDIR/veil-companion run"
  fi
}

do_uninstall() {
  has_unit=0
  was_active=0
  if [ "$MODE" = system ]; then
    [ "$(id -u)" -eq 0 ] || die "uninstall must run as root (or use --prefix DIR)"
    if command -v systemctl >/dev/null 2>&1 && [ -f "$UNIT" ]; then
      has_unit=1
      case "$(systemctl is-active "$SERVICE" 2>/dev/null || true)" in
        active|activating|reloading) was_active=1 ;;
      esac
      systemctl stop "$SERVICE" >/dev/null 2>&1 || true
    fi
  fi
  # The Node.js install recorded (the wrapper's, an absolute path: PATH under sudo's secure_path,
  # cron or a shell without nvm may lack it), else the one on PATH.
  NODE="$(sed -n 's/^node=//p' "$RECORD" 2>/dev/null || true)"
  if [ -z "$NODE" ] || [ ! -x "$NODE" ]; then NODE="$(command -v node 2>/dev/null || true)"; fi
  created="$(cat "$CREATED" 2>/dev/null || true)"
  # The companion erases its own state (secret files overwritten first); it refuses while a `run`
  # uses the folder (prefix mode: one in the foreground) or a rotation runs, and then nothing is
  # removed (the service, stopped for this, runs again). When it cannot run at all (no Node.js,
  # no bundle, no service user) and the folder holds its state, nothing is removed either, unless
  # --force: a `run` may still hold the folder. Nothing here reads stdin.
  can_run=0
  if [ -n "$NODE" ] && [ -f "$BUNDLE" ] && { [ "$MODE" = prefix ] || id "$SVC_USER" >/dev/null 2>&1; }; then can_run=1; fi
  if [ "$can_run" -eq 0 ] && [ "$FORCE" -eq 0 ] && { [ -f "$STATE/config.json" ] || [ -f "$STATE/secrets.json" ]; }; then
    [ "$was_active" -eq 0 ] || systemctl start "$SERVICE" >/dev/null 2>&1 || true
    die "the companion cannot run here (Node.js ${NODE:-not found}, bundle $BUNDLE), so it cannot erase $STATE (nor check that no run uses it): nothing was removed; put Node.js on PATH and run this again, or stop every veil-companion run and use uninstall --force"
  fi
  if [ "$can_run" -eq 1 ] && [ -d "$STATE" ]; then
    if ! refused="$(as_service_user env VEIL_STATE_DIR="$STATE" "$NODE" "$BUNDLE" uninstall --yes </dev/null 2>&1 >/dev/null)"; then
      [ "$was_active" -eq 0 ] || systemctl start "$SERVICE" >/dev/null 2>&1 || true
      die "the companion did not erase its state, so nothing was removed: ${refused:-no reason given} (a damaged state folder can be removed by hand: rm -rf $STATE)"
    fi
  fi
  if [ "$has_unit" -eq 1 ]; then
    systemctl disable "$SERVICE" >/dev/null 2>&1 || true
    rm -f "$UNIT"
    systemctl daemon-reload
  fi
  remove_state
  rm -rf "$LIBDIR"
  # The wrapper only if it is the one install wrote (it runs our bundle).
  if [ -f "$WRAPPER" ] && grep -qF "\"$BUNDLE\"" "$WRAPPER"; then rm -f "$WRAPPER"; fi
  if [ "$MODE" = system ] && id "$SVC_USER" >/dev/null 2>&1; then
    userdel "$SVC_USER" 2>/dev/null || deluser "$SVC_USER" 2>/dev/null || true
  fi
  # Folders install created, deepest first, and only if nothing else lives in them now.
  printf '%s\n' "$created" | sort -r | while IFS= read -r d; do
    [ -z "$d" ] || rmdir "$d" 2>/dev/null || true
  done
  say "uninstalled"
}

# The state folder goes only if it is the companion's: in system mode (a folder of its own), or
# empty, or holding the companion's config.json or secrets.json. A re-pointed --prefix never
# takes a stranger's folder with it.
remove_state() {
  [ -d "$STATE" ] || return 0
  if [ "$MODE" = system ] || [ -f "$STATE/config.json" ] || [ -f "$STATE/secrets.json" ]; then
    rm -rf "$STATE"
  elif ! rmdir "$STATE" 2>/dev/null; then
    say "left $STATE in place: it holds files that are not the companion's"
  fi
}

if [ "$ACTION" = uninstall ]; then do_uninstall; else do_install; fi
