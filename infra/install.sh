#!/bin/sh
# Veil companion installer (POSIX sh). Served by the console; run as
#   curl -fsSL --pinnedpubkey 'sha256//…' -k https://console:8443/install.sh | VEIL_ENROLL='veil1_…' sudo --preserve-env=VEIL_ENROLL sh
# (the assignment stands before sudo: after it, it would be an argument of sudo, readable by every
# local user in `ps`; before it, it is only in sudo's environment, which sudo passes on to sh).
#
# System mode (root, systemd): installs the bundle in /opt/veil-companion, a wrapper in
# /usr/local/bin, creates the unprivileged system user veil-companion and the 0700 state folder
# /var/lib/veil-companion, enrolls, installs the hardened unit and starts it.
# Prefix mode (--prefix DIR or VEIL_PREFIX; no root, no systemd): installs into DIR and runs the
# companion in the foreground (--no-start: install and enroll only).
#
#   sh install.sh [--prefix DIR] [--no-start]        install (idempotent: safe to run twice)
#   sh install.sh uninstall [--prefix DIR]           remove everything
#
# The enrollment string comes from VEIL_ENROLL and is handed to the companion on stdin: it is
# never put in argv, a URL or a log line. The bundle is fetched from the console over a
# connection pinned to the console's key and checked against its SHA-256 before use.
set -eu
umask 077

ACTION=install
PREFIX="${VEIL_PREFIX:-}"
NO_START=0
SERVICE=veil-companion
SVC_USER=veil-companion

die() { printf 'veil-companion install: error: %s\n' "$*" >&2; exit 1; }
say() { printf 'veil-companion install: %s\n' "$*" >&2; }

while [ $# -gt 0 ]; do
  case "$1" in
    uninstall) ACTION=uninstall ;;
    --prefix) [ $# -ge 2 ] || die "--prefix needs a folder"; PREFIX="$2"; shift ;;
    --prefix=*) PREFIX="${1#--prefix=}" ;;
    --no-start) NO_START=1 ;;
    -h|--help) sed -n '2,20p' "$0" 2>/dev/null || true; exit 0 ;;
    veil1_*) die "never pass the enrollment string as an argument (other users can read argv): set VEIL_ENROLL" ;;
    *) die "unknown argument: $1" ;;
  esac
  shift
done

# Keep the secret in a shell variable only; no child process inherits it through the environment.
ENROLL="${VEIL_ENROLL:-}"
unset VEIL_ENROLL

if [ -n "$PREFIX" ]; then
  MODE=prefix
  case "$PREFIX" in /*) ;; *) PREFIX="$(pwd)/$PREFIX" ;; esac
  LIBDIR="$PREFIX/lib"
  BINDIR="$PREFIX/bin"
  STATE="$PREFIX/state"
else
  MODE=system
  LIBDIR=/opt/veil-companion
  BINDIR=/usr/local/bin
  STATE=/var/lib/veil-companion
  UNIT=/etc/systemd/system/$SERVICE.service
fi
BUNDLE="$LIBDIR/veil-companion.mjs"

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
  major="$("$NODE" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)"
  [ "$major" -ge 20 ] 2>/dev/null || die "Node.js 20 or newer is required (found $("$NODE" --version 2>/dev/null || echo unknown))"
}

# Prints "<console URL> <pin>" from the enrollment string (read on stdin, never argv).
enrollment_target() {
  printf '%s\n' "$ENROLL" | "$NODE" -e '
    let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
      s = s.trim();
      if (!/^veil1_[A-Za-z0-9_-]+$/.test(s) || s.length > 1024) { console.error("malformed enrollment string"); process.exit(1); }
      const b = Buffer.from(s.slice(6), "base64url");
      if (b.length < 115 || b[0] !== 1) { console.error("malformed enrollment string"); process.exit(1); }
      const n = b.readUInt16BE(113);
      if (b.length !== 115 + n) { console.error("malformed enrollment string"); process.exit(1); }
      const url = b.subarray(115).toString("utf8");
      if (!/^https:\/\/[A-Za-z0-9.:\[\]-]+$/.test(url)) { console.error("enrollment string has a bad console URL"); process.exit(1); }
      process.stdout.write(url + " sha256//" + b.subarray(81, 113).toString("base64") + "\n");
    });'
}

# Prints "<console URL> <pin>" of an existing enrollment (re-runs without VEIL_ENROLL).
enrolled_target() {
  as_service_user env VEIL_STATE_DIR="$STATE" "$NODE" "$BUNDLE" status --json 2>/dev/null | "$NODE" -e '
    let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
      let r; try { r = JSON.parse(s); } catch { process.exit(1); }
      if (!r.enrolled) process.exit(1);
      process.stdout.write(r.consoleUrl + " " + r.fingerprints.consolePin + "\n");
    });'
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
    if command -v runuser >/dev/null 2>&1; then runuser -u "$SVC_USER" -- "$@"
    else su -s /bin/sh "$SVC_USER" -c '"$0" "$@"' -- "$@"
    fi
  else "$@"
  fi
}

install_bundle() {
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  fetch "$URL" /companion/veil-companion.mjs "$tmp/veil-companion.mjs"
  if [ -n "${VEIL_BUNDLE_SHA256:-}" ]; then expected="$VEIL_BUNDLE_SHA256"
  else fetch "$URL" /companion/veil-companion.mjs.sha256 "$tmp/sha256"; expected="$(cut -d' ' -f1 "$tmp/sha256")"
  fi
  actual="$(sha256_of "$tmp/veil-companion.mjs")"
  [ "$actual" = "$expected" ] || die "bundle checksum mismatch (expected $expected, got $actual): not installing"
  mkdir -p "$LIBDIR" "$BINDIR"
  chmod 755 "$LIBDIR"
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
  mv -f "$BINDIR/.veil-companion.new" "$BINDIR/veil-companion"
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
  else
    mkdir -p "$STATE"
  fi
  chmod 700 "$STATE"
}

enroll() {
  if [ -z "$ENROLL" ]; then
    say "no VEIL_ENROLL: keeping the existing enrollment"
    return 0
  fi
  printf '%s\n' "$ENROLL" | as_service_user env VEIL_STATE_DIR="$STATE" "$NODE" "$BUNDLE" enroll ||
    die "enrollment failed (see the message above); nothing was enrolled"
}

install_unit() {
  # From the console over the pinned connection, like the bundle. Never from beside the script:
  # under `curl … | sh` there is no script file, only the current folder, which nobody vouched for.
  tmpl="$tmp/unit"
  fetch "$URL" /companion/veil-companion.service "$tmpl"
  sed -e "s#@NODE@#$NODE#g" -e "s#@LIBDIR@#$LIBDIR#g" "$tmpl" > "$tmp/unit.out"
  install -m 0644 "$tmp/unit.out" "$UNIT"
  systemctl daemon-reload
  systemctl enable "$SERVICE" >/dev/null
  systemctl restart "$SERVICE"
  say "service $SERVICE started (systemctl status $SERVICE; journalctl -u $SERVICE)"
}

do_install() {
  check_platform
  check_node
  if [ -n "$ENROLL" ]; then target="$(enrollment_target)" || die "VEIL_ENROLL is not a valid enrollment string"
  elif [ -f "$BUNDLE" ] && target="$(enrolled_target)"; then :
  else die "set VEIL_ENROLL to the enrollment string shown by the console"
  fi
  URL="${target% *}"
  PIN="${target#* }"
  install_bundle
  ensure_user_and_state
  enroll
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
  if [ "$MODE" = system ]; then
    [ "$(id -u)" -eq 0 ] || die "uninstall must run as root (or use --prefix DIR)"
    if command -v systemctl >/dev/null 2>&1 && [ -f "$UNIT" ]; then
      systemctl disable --now "$SERVICE" >/dev/null 2>&1 || true
      rm -f "$UNIT"
      systemctl daemon-reload
    fi
  fi
  NODE="$(command -v node 2>/dev/null || true)"
  if [ -n "$NODE" ] && [ -f "$BUNDLE" ] && [ -d "$STATE" ]; then
    as_service_user env VEIL_STATE_DIR="$STATE" "$NODE" "$BUNDLE" uninstall --yes >/dev/null 2>&1 || true
  fi
  rm -rf "$STATE" "$LIBDIR"
  rm -f "$BINDIR/veil-companion"
  if [ "$MODE" = system ] && id "$SVC_USER" >/dev/null 2>&1; then
    userdel "$SVC_USER" 2>/dev/null || deluser "$SVC_USER" 2>/dev/null || true
  fi
  [ "$MODE" = prefix ] && rmdir "$BINDIR" "$PREFIX" 2>/dev/null || true
  say "uninstalled"
}

if [ "$ACTION" = uninstall ]; then do_uninstall; else do_install; fi
