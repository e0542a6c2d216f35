#!/usr/bin/env bash
# Launch of a 10-variable entry on each Secret Service a Linux desktop runs — gnome-keyring,
# KeePassXC and kwalletd5 — side by side in one hyperfine run (target: none more than 5 ms above
# gnome-keyring's median), with a direct exec of the server for reference.
#
# Each service runs in a temporary directory on a private D-Bus session bus that starts nothing
# by itself, as tests/common/stores.rs starts them: gnome-keyring unlocked at start; KeePassXC
# with a new database whose root group is exposed, its window on Xvfb; kwalletd5 opened as
# pam_kwallet5 opens it at login, restarted once so the wallet is a collection. The launcher
# runs with a stripped environment and no DISPLAY, as MCP hosts start servers (each command under
# sh, the same small cost for all four). Values are random.
#
# Needs: cargo, hyperfine, jq, python3, dbus-daemon, gnome-keyring-daemon, keepassxc,
# keepassxc-cli, Xvfb, kwalletd5. Knobs: RUNS (default 100), WARMUP (10), KEEP=1.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUNS=${RUNS:-100}
WARMUP=${WARMUP:-10}
PW=bench-keystore-password
die() { echo "bench-stores: $*" >&2; exit 1; }
log() { echo "==> $*" >&2; }
for tool in cargo hyperfine jq python3 dbus-daemon dbus-send gnome-keyring-daemon keepassxc keepassxc-cli Xvfb kwalletd5 base64; do
  command -v "$tool" >/dev/null || die "$tool is not installed"
done

log "cargo build --release"
(cd "$REPO" && cargo build --release --quiet)
CRUX="$REPO/target/release/crux"

T=$(mktemp -d "${TMPDIR:-/tmp}/crux-bench-stores.XXXXXX")
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  if [ "${KEEP:-0}" = 1 ]; then echo "bench-stores: kept $T" >&2; else rm -rf "$T"; fi
}
trap cleanup EXIT

# A service's folder: home, 0700 run dir, and a bus that activates nothing.
prepare() {
  local d=$T/$1
  mkdir -p "$d/home/.config" "$d/run" && chmod 700 "$d/run"
  cat > "$d/bus.conf" <<CONF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><type>session</type><listen>unix:path=$d/run/bus</listen><auth>EXTERNAL</auth>
<policy context="default"><allow send_destination="*" eavesdrop="true"/><allow eavesdrop="true"/><allow own="*"/></policy>
</busconfig>
CONF
  dbus-daemon --config-file="$d/bus.conf" --nofork --nopidfile 2>/dev/null & PIDS+=($!)
  for _ in $(seq 100); do [ -S "$d/run/bus" ] && break; sleep 0.05; done
}
denv() { local d=$T/$1; echo env -i PATH="$PATH" HOME="$d/home" XDG_CONFIG_HOME="$d/home/.config" XDG_DATA_HOME="$d/home/.local/share" XDG_RUNTIME_DIR="$d/run" TMPDIR="$d/run" DBUS_SESSION_BUS_ADDRESS="unix:path=$d/run/bus"; }
alias_of() { dbus-send --bus="unix:path=$T/$1/run/bus" --print-reply --reply-timeout=2000 --dest=org.freedesktop.secrets /org/freedesktop/secrets org.freedesktop.Secret.Service.ReadAlias string:default 2>/dev/null | awk -F'"' '/object path/ {print $2}'; }
wait_collection() { for _ in $(seq 400); do a=$(alias_of "$1" || true); [ -n "$a" ] && [ "$a" != "/" ] && return 0; sleep 0.05; done; die "$1: no collection"; }

log "gnome-keyring"
prepare gnome
printf %s "$PW" | $(denv gnome) gnome-keyring-daemon --foreground --unlock --components=secrets >/dev/null 2>&1 & PIDS+=($!)
wait_collection gnome

log "KeePassXC"
prepare keepassxc
K=$T/keepassxc
printf '%s\n%s\n' "$PW" "$PW" | HOME=$K keepassxc-cli db-create -q -p -t 100 "$K/plain.kdbx" 2>/dev/null
printf '%s\n' "$PW" | HOME=$K keepassxc-cli export -q -f xml "$K/plain.kdbx" > "$K/plain.xml"
hex=$(sed -n '/<Root>/,$p' "$K/plain.xml" | grep -m1 -o '<UUID>[^<]*' | cut -c7- | base64 -d | od -An -tx1 | tr -d ' \n')
group="{${hex:0:8}-${hex:8:4}-${hex:12:4}-${hex:16:4}-${hex:20:12}}"
sed "0,/<\/Meta>/s##<CustomData><Item><Key>FDO_SECRETS_EXPOSED_GROUP</Key><Value>$group</Value></Item></CustomData></Meta>#" "$K/plain.xml" > "$K/exposed.xml"
printf '%s\n%s\n' "$PW" "$PW" | HOME=$K keepassxc-cli import -q -p -t 100 "$K/exposed.xml" "$K/db.kdbx" 2>/dev/null
mkdir -p "$K/home/.config/keepassxc"
printf '[General]\nConfigVersion=2\n\n[FdoSecrets]\nEnabled=true\nShowNotification=false\nConfirmAccessItem=false\nConfirmDeleteItem=false\n' > "$K/home/.config/keepassxc/keepassxc.ini"
Xvfb -nolisten tcp -displayfd 9 9>"$K/display" >/dev/null 2>&1 & PIDS+=($!)
for _ in $(seq 100); do [ -s "$K/display" ] && break; sleep 0.05; done
printf '%s\n' "$PW" | $(denv keepassxc) DISPLAY=":$(cat "$K/display")" QT_QPA_PLATFORM=xcb keepassxc --pw-stdin "$K/db.kdbx" >/dev/null 2>&1 & PIDS+=($!)
wait_collection keepassxc
# Its collection shows before --pw-stdin has unlocked the database.
for _ in $(seq 200); do
  dbus-send --bus="unix:path=$K/run/bus" --print-reply --dest=org.freedesktop.secrets "$(alias_of keepassxc || true)" org.freedesktop.DBus.Properties.Get string:org.freedesktop.Secret.Collection string:Locked 2>/dev/null | grep -q "boolean false" && break
  sleep 0.05
done

log "kwalletd5"
prepare kwallet
W=$T/kwallet
mkdir -p "$W/home/.local/share/kwalletd"
printf '[Wallet]\nFirst Use=false\nEnabled=true\n\n[org.freedesktop.secrets]\napiEnabled=true\n' > "$W/home/.config/kwalletrc"
head -c 56 /dev/urandom > "$W/home/.local/share/kwalletd/kdewallet.salt"
pam_login() {
  $(denv kwallet) python3 - "$W" "$PW" <<'PY'
import hashlib, os, socket, subprocess, sys
w, pw = sys.argv[1], sys.argv[2].encode()
salt = open(w + "/home/.local/share/kwalletd/kdewallet.salt", "rb").read()
key = hashlib.pbkdf2_hmac("sha512", pw, salt, 50000, 56)
sock = w + "/run/kwallet5.socket"
if os.path.exists(sock): os.unlink(sock)
s = socket.socket(socket.AF_UNIX); s.bind(sock); s.listen(1)
r, wr = os.pipe()
env = dict(os.environ, PAM_KWALLET5_LOGIN=sock, QT_QPA_PLATFORM="offscreen")
p = subprocess.Popen(["kwalletd5", "--pam-login", str(r), str(s.fileno())], env=env, pass_fds=(r, s.fileno()),
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
os.close(r); os.write(wr, key); os.close(wr)
c = socket.socket(socket.AF_UNIX); c.connect(sock)
c.sendall(("DBUS_SESSION_BUS_ADDRESS=" + os.environ["DBUS_SESSION_BUS_ADDRESS"] + "\n").encode()); c.close()
print(p.pid)
PY
}
kw=$(pam_login); PIDS+=("$kw")
for _ in $(seq 200); do [ -e "$W/home/.local/share/kwalletd/kdewallet.kwl" ] && break; sleep 0.05; done
sleep 1
dbus-send --bus="unix:path=$W/run/bus" --print-reply --dest=org.kde.kwalletd5 /modules/kwalletd5 org.kde.KWallet.closeAllWallets >/dev/null
kill -9 "$kw"; sleep 0.5
kw=$(pam_login); PIDS+=("$kw")
wait_collection kwallet

# The same 10-variable entry in each service's own CRUX_HOME.
VARS=$(seq -f 'VAR_%g' 0 9 | paste -sd,)
declare -A LAUNCH
for s in gnome keepassxc kwallet; do
  d=$T/$s
  args=()
  for i in $(seq 0 9); do args+=(--value "VAR_$i=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"); done
  $(denv $s) CRUX_HOME="$d/crux" CRUX_BACKEND=secret-service "$CRUX" mcp add bench --command /usr/bin/env --keychain "$VARS" "${args[@]}" >/dev/null 2>&1
  mkdir -p "$d/proj"
  (cd "$d/proj" && $(denv $s) CRUX_HOME="$d/crux" "$CRUX" project install bench >/dev/null)
  cmd=$(jq -r '.mcpServers.bench.command' "$d/proj/.mcp.json")
  argv=$(jq -r '.mcpServers.bench.args | map(@sh) | join(" ")' "$d/proj/.mcp.json")
  envs=$(jq -r '.mcpServers.bench.env // {} | to_entries | map("\(.key)=\(.value|@sh)") | join(" ")' "$d/proj/.mcp.json")
  LAUNCH[$s]="env -i PATH=/usr/bin:/bin HOME=$d/home XDG_RUNTIME_DIR=$d/run DBUS_SESSION_BUS_ADDRESS=unix:path=$d/run/bus $envs $cmd $argv"
  out=$(eval "${LAUNCH[$s]}" < /dev/null) || die "$s: the launch failed"
  [ "$(grep -c '^VAR_' <<<"$out")" = 10 ] || die "$s: the server did not get 10 variables"
done

log "hyperfine: $RUNS runs each"
hyperfine --shell=sh --warmup "$WARMUP" --runs "$RUNS" --export-json "$T/stores.json" \
  -n "gnome-keyring" "${LAUNCH[gnome]}" \
  -n "KeePassXC" "${LAUNCH[keepassxc]}" \
  -n "kwalletd5" "${LAUNCH[kwallet]}" \
  -n "direct exec" "env -i PATH=/usr/bin:/bin /usr/bin/env" >/dev/null
jq -r '.results[] | "\(.command)\tmedian \(.median*1000*100|round/100) ms\tmean \(.mean*1000*100|round/100) ± \(.stddev*1000*100|round/100) ms"' "$T/stores.json" | column -t -s $'\t'
g=$(jq '.results[0].median*1000' "$T/stores.json")
jq -r --argjson g "$g" '.results[1:3][] | "\(.command): \((.median*1000 - $g)*100|round/100) ms above gnome-keyring (target ≤ 5 ms)"' "$T/stores.json"
