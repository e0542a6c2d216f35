#!/usr/bin/env bash
# Launcher and sync benchmark for crux (the issue's targets):
#   - Secret Service, 1 and 10 variables: spawn → server exec (→ exit) through crux's installed
#     launcher, through ../shared/reference/baseline-launcher.sh (one secret-tool call per
#     variable), and a direct exec; all measured side by side in one hyperfine run.
#     Target: at 10 variables the launcher takes at most a tenth of the baseline.
#   - age backend, 1 and 10 variables: crux's launcher vs a direct exec.
#     Target: at most 3 ms over the direct exec.
#   - `crux project sync --all` over 50 projects × 20 servers. Target: ≤ 200 ms.
#
# Everything runs in a temporary directory: its own CRUX_HOMEs, HOME, a private D-Bus session
# bus and an unlocked gnome-keyring (never the user's ~/.crux or keyring). Values are random.
# The "server" is /usr/bin/env (the registered command: the launcher hands credentials to no
# other), so a measurement is spawn → exec → exit of the server. Launchers
# run with a stripped environment (env -i), as MCP hosts' stdio clients do.
#
# Needs: cargo, hyperfine, jq, dbus-daemon, dbus-send, gnome-keyring-daemon, secret-tool.
# The launch commands are measured in ROUNDS hyperfine runs of RUNS/ROUNDS runs each and the
# samples merged, so a load change on the machine (a concurrent build) spreads over all commands
# instead of landing on whichever command hyperfine happened to be running.
# Knobs (environment): RUNS (default 100), ROUNDS (5), WARMUP (5), SYNC_RUNS (30), PROJECTS (50),
# SERVERS (20), BASELINE (path of the baseline launcher), KEEP=1 (keep the temp dir),
# OUT (directory for the hyperfine exports; default: inside the temp dir).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUNS=${RUNS:-100}
ROUNDS=${ROUNDS:-5}
WARMUP=${WARMUP:-5}
SYNC_RUNS=${SYNC_RUNS:-30}
PROJECTS=${PROJECTS:-50}
SERVERS=${SERVERS:-20}
BASELINE=${BASELINE:-$REPO/../shared/reference/baseline-launcher.sh}

die() { echo "bench-launch: $*" >&2; exit 1; }
log() { echo "==> $*" >&2; }

for tool in cargo hyperfine jq dbus-daemon dbus-send gnome-keyring-daemon secret-tool; do
  command -v "$tool" >/dev/null || die "$tool is not installed"
done
[ -r "$BASELINE" ] || die "baseline launcher not found: $BASELINE"
BASELINE=$(cd "$(dirname "$BASELINE")" && pwd)/$(basename "$BASELINE")

# --- 1. release build -------------------------------------------------------------------
log "cargo build --release"
(cd "$REPO" && cargo build --release --quiet)
CRUX="$REPO/target/release/crux"
[ -x "$CRUX" ] || die "no $CRUX after the build"
export PATH="$REPO/target/release:$PATH"
[ "$(command -v crux)" = "$CRUX" ] || die "crux on PATH is not $CRUX"

# --- 2. private D-Bus session + unlocked gnome-keyring ------------------------------------
T=$(mktemp -d "${TMPDIR:-/tmp}/crux-bench.XXXXXX")
case "$T" in *[[:space:]]*) die "temp dir path has whitespace: $T";; esac
OUT=${OUT:-$T/results}
mkdir -p "$OUT"
bus_pid="" keyring_pid=""
cleanup() {
  [ -n "$keyring_pid" ] && kill "$keyring_pid" 2>/dev/null || true
  [ -n "$bus_pid" ] && kill "$bus_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  if [ "${KEEP:-0}" = 1 ]; then echo "bench-launch: kept $T" >&2; else rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

export HOME="$T/home" XDG_DATA_HOME="$T/home/.local/share" XDG_RUNTIME_DIR="$T/run"
export XDG_CONFIG_HOME="$T/home/.config" XDG_CACHE_HOME="$T/home/.cache"
unset DISPLAY WAYLAND_DISPLAY CRUX_HOME CRUX_BACKEND DBUS_SESSION_BUS_ADDRESS
mkdir -p "$XDG_DATA_HOME" "$XDG_CONFIG_HOME" "$XDG_CACHE_HOME"
mkdir -m 0700 "$XDG_RUNTIME_DIR"
BUS="unix:path=$XDG_RUNTIME_DIR/bus"

log "starting a private D-Bus session bus and gnome-keyring in $T"
dbus-daemon --session --nofork --address="$BUS" >/dev/null 2>"$T/dbus.log" &
bus_pid=$!
for _ in $(seq 100); do [ -S "$XDG_RUNTIME_DIR/bus" ] && break; sleep 0.05; done
[ -S "$XDG_RUNTIME_DIR/bus" ] || die "dbus-daemon did not start (see $T/dbus.log)"
export DBUS_SESSION_BUS_ADDRESS="$BUS"
printf %s pw | gnome-keyring-daemon --foreground --unlock --components=secrets \
  >"$T/keyring.log" 2>&1 &
keyring_pid=$!
owned=""
for _ in $(seq 200); do
  if dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
      org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null \
      | grep -q 'boolean true'; then
    owned=1; break
  fi
  sleep 0.05
done
[ -n "$owned" ] || die "gnome-keyring-daemon did not take org.freedesktop.secrets (see $T/keyring.log)"

# --- helpers ---------------------------------------------------------------------------
rand_value() { od -An -tx1 -N24 /dev/urandom | tr -d ' \n'; }
var_list() { # var_list PREFIX N → PREFIX1,PREFIX2,…
  local i out=""
  for ((i = 1; i <= $2; i++)); do out+="${out:+,}$1$i"; done
  printf %s "$out"
}
HOST_PATH="/usr/local/bin:/usr/bin:/bin"

# register NAME VARPREFIX N → `crux mcp add` with N random values; records them in $T/values.
register() {
  local name=$1 prefix=$2 n=$3 i v args=()
  for ((i = 1; i <= n; i++)); do
    v=$(rand_value)
    args+=(--value "$prefix$i=$v")
    printf '%s %s%s %s\n' "$name" "$prefix" "$i" "$v" >>"$T/values"
  done
  crux mcp add "$name" --command /usr/bin/env --keychain "$(var_list "$prefix" "$n")" \
    "${args[@]}" >/dev/null 2>>"$T/setup.log" || { cat "$T/setup.log" >&2; die "mcp add $name failed"; }
}

# entry FILE NAME → "command" and the argv of a .mcp.json entry, one per line.
entry_command() { jq -er --arg n "$2" '.mcpServers[$n].command' "$1"; }
entry_env() { jq -er --arg n "$2" --arg k "$3" '.mcpServers[$n].env[$k]' "$1"; }

# verify LABEL NAME CMD… → runs CMD with /usr/bin/env as the server, checks every value arrived.
verify() {
  local label=$1 name=$2; shift 2
  local got; got=$("$@" /usr/bin/env) || die "$label: the launch failed"
  local mcp var val ok=1
  while read -r mcp var val; do
    [ "$mcp" = "$name" ] || continue
    grep -qx "$var=$val" <<<"$got" || { echo "bench-launch: $label: $var missing or wrong" >&2; ok=""; }
  done <"$T/values"
  grep -q '^CRUX_' <<<"$got" && [ "$label" != "baseline" ] && \
    { echo "bench-launch: $label: CRUX_* variables leaked into the server" >&2; ok=""; }
  [ -n "$ok" ] || die "$label: credentials did not reach the server"
}

# --- 3a. Secret Service setup ----------------------------------------------------------
SS_HOME="$T/crux-ss"
log "registering ss1 (1 variable) and ss10 (10 variables) on the Secret Service"
export CRUX_HOME="$SS_HOME" CRUX_BACKEND=secret-service
register ss1 SS_VAR_ 1
register ss10 SS_VAR_ 10
mkdir -p "$T/proj-ss"
(cd "$T/proj-ss" && crux project install ss1 ss10 >/dev/null)
unset CRUX_HOME CRUX_BACKEND
SS_MCP="$T/proj-ss/.mcp.json"
SS_LAUNCHER=$(entry_command "$SS_MCP" ss10)
[ "$SS_LAUNCHER" = "$SS_HOME/launchers/keychain-auth.sh" ] || die "unexpected launcher: $SS_LAUNCHER"
grep -qF "$CRUX" "$SS_LAUNCHER" || die "the installed launcher does not point at $CRUX"
# The baseline finds crux's items with secret-tool (service=crux.<mcp> username=<VAR>).
v=$(secret-tool lookup service crux.ss10 username SS_VAR_10) || die "secret-tool does not find crux's item"
grep -qx "ss10 SS_VAR_10 $v" "$T/values" || die "secret-tool returns a different value than stored"

# Commands as an MCP host runs them: stripped environment + the entry's env; the server
# (/usr/bin/env, the registered command, for both timing and the correctness check) is appended.
ss_env() { # ss_env NAME
  echo "env -i HOME=$HOME PATH=$HOST_PATH DBUS_SESSION_BUS_ADDRESS=$BUS" \
    "CRUX_MCP_NAME=$(entry_env "$SS_MCP" "$1" CRUX_MCP_NAME)" \
    "CRUX_AUTH_ENV_VARS=$(entry_env "$SS_MCP" "$1" CRUX_AUTH_ENV_VARS)"
}
SS_DIRECT="env -i HOME=$HOME PATH=$HOST_PATH"
SS1_CRUX="$(ss_env ss1) $SS_LAUNCHER"
SS10_CRUX="$(ss_env ss10) $SS_LAUNCHER"
SS1_BASE="$(ss_env ss1) $BASELINE"
SS10_BASE="$(ss_env ss10) $BASELINE"
# Diagnostic: `crux launch` without the sh launcher in front (CRUX_HOME passed by hand).
SS10_LAUNCH="$(ss_env ss10) CRUX_HOME=$SS_HOME $CRUX launch --"

# --- 3b. age setup ---------------------------------------------------------------------
AGE_HOME="$T/crux-age"
log "registering age1 and age10 on the age backend"
export CRUX_HOME="$AGE_HOME" CRUX_BACKEND=age
register age1 AGE_VAR_ 1
register age10 AGE_VAR_ 10
mkdir -p "$T/proj-age"
(cd "$T/proj-age" && crux project install age1 age10 >/dev/null)
unset CRUX_HOME CRUX_BACKEND
AGE_MCP="$T/proj-age/.mcp.json"
AGE_LAUNCHER=$(entry_command "$AGE_MCP" age10)
[ "$AGE_LAUNCHER" = "$AGE_HOME/launchers/keychain-auth.sh" ] || die "unexpected launcher: $AGE_LAUNCHER"
age_env() { # no D-Bus at all: the age backend must not need it
  echo "env -i HOME=$HOME PATH=$HOST_PATH" \
    "CRUX_MCP_NAME=$(entry_env "$AGE_MCP" "$1" CRUX_MCP_NAME)" \
    "CRUX_AUTH_ENV_VARS=$(entry_env "$AGE_MCP" "$1" CRUX_AUTH_ENV_VARS)"
}
AGE1_CRUX="$(age_env age1) $AGE_LAUNCHER"
AGE10_CRUX="$(age_env age10) $AGE_LAUNCHER"
AGE10_LAUNCH="$(age_env age10) CRUX_HOME=$AGE_HOME $CRUX launch --"

# --- correctness first: every launcher delivers the stored values ----------------------
log "checking that each launcher delivers the stored values"
# shellcheck disable=SC2086 # the command strings are word-split on purpose (no spaces in paths)
{
  verify crux-ss1 ss1 $SS1_CRUX
  verify crux-ss10 ss10 $SS10_CRUX
  verify baseline ss1 $SS1_BASE
  verify baseline ss10 $SS10_BASE
  verify crux-age1 age1 $AGE1_CRUX
  verify crux-age10 age10 $AGE10_CRUX
}

# --- 3c. launch benchmark: all commands side by side, in interleaved rounds ----------------
per_round=$(( (RUNS + ROUNDS - 1) / ROUNDS ))
load_before=$(cut -d' ' -f1 /proc/loadavg)
for ((round = 1; round <= ROUNDS; round++)); do
  log "hyperfine: launch, round $round/$ROUNDS ($WARMUP warmup, $per_round runs per command)"
  hyperfine -N --warmup "$WARMUP" --runs "$per_round" --style basic \
    --export-json "$OUT/launch-$round.json" --export-markdown "$OUT/launch-$round.md" \
    -n "direct" "$SS_DIRECT /usr/bin/env" \
    -n "ss1 crux" "$SS1_CRUX /usr/bin/env" \
    -n "ss1 baseline" "$SS1_BASE /usr/bin/env" \
    -n "ss10 crux" "$SS10_CRUX /usr/bin/env" \
    -n "ss10 baseline" "$SS10_BASE /usr/bin/env" \
    -n "ss10 crux-launch-no-sh" "$SS10_LAUNCH /usr/bin/env" \
    -n "age1 crux" "$AGE1_CRUX /usr/bin/env" \
    -n "age10 crux" "$AGE10_CRUX /usr/bin/env" \
    -n "age10 crux-launch-no-sh" "$AGE10_LAUNCH /usr/bin/env" \
    >&2
done
load_after=$(cut -d' ' -f1 /proc/loadavg)

# --- 4. sync: PROJECTS projects × SERVERS servers (age backend) ---------------------------
SYNC_HOME="$T/crux-sync"
log "sync setup: $SERVERS servers, $PROJECTS projects"
export CRUX_HOME="$SYNC_HOME" CRUX_BACKEND=age
names=()
for ((s = 0; s < SERVERS; s++)); do
  crux mcp add "s$s" --command /bin/true --keychain "KEY_$s" --value "KEY_$s=$(rand_value)" \
    >/dev/null 2>>"$T/setup.log" || { cat "$T/setup.log" >&2; die "mcp add s$s failed"; }
  names+=("s$s")
done
for ((p = 0; p < PROJECTS; p++)); do
  d=$(printf '%s/sync/p%02d' "$T" "$p")
  mkdir -p "$d"
  (cd "$d" && crux project install "${names[@]}" >/dev/null)
done
unset CRUX_BACKEND
tracked=$(jq '.projects | length' "$SYNC_HOME/projects.json")
[ "$tracked" = "$PROJECTS" ] || die "projects.json tracks $tracked projects, not $PROJECTS"
entries=$(cat "$T"/sync/p*/.mcp.json | jq -s 'map(.mcpServers | length) | add')
[ "$entries" = "$((PROJECTS * SERVERS))" ] || die "found $entries .mcp.json entries, not $((PROJECTS * SERVERS))"
crux project sync --all | tail -n 1 | grep -q "0 written, $PROJECTS up to date, 0 failed" \
  || die "sync --all did not report every project as up to date"

log "hyperfine: crux project sync --all (no change, and after .mcp.json files were removed)"
hyperfine -N --warmup 3 --runs "$SYNC_RUNS" --style basic \
  --export-json "$OUT/sync.json" --export-markdown "$OUT/sync.md" \
  -n "sync no-change" "$CRUX project sync --all" \
  >&2
# Every run rewrites all PROJECTS files (the prepare step deletes them; sync writes them back).
hyperfine -N --runs "$SYNC_RUNS" --style basic \
  --prepare "find $T/sync -maxdepth 2 -name .mcp.json -delete" \
  --export-json "$OUT/sync-changed.json" --export-markdown "$OUT/sync-changed.md" \
  -n "sync rewrite-all" "$CRUX project sync --all" \
  >&2
entries=$(cat "$T"/sync/p*/.mcp.json | jq -s 'map(.mcpServers | length) | add')
[ "$entries" = "$((PROJECTS * SERVERS))" ] || die "after the rewrite runs: $entries entries"
unset CRUX_HOME

# --- 5. summary ------------------------------------------------------------------------
# Every command's samples from all rounds, merged: mean, stddev, median, min, max (seconds).
jq -s '[.[].results[]] | group_by(.command) | map({key: .[0].command, value: (
    map(.times) | add | sort
    | (add / length) as $mean
    | {n: length, mean: $mean, min: .[0], max: .[-1],
       median: (if length % 2 == 1 then .[length / 2 | floor]
                else (.[length / 2 - 1] + .[length / 2]) / 2 end),
       stddev: (if length > 1 then (map((. - $mean) * (. - $mean)) | add / (length - 1) | sqrt)
                else 0 end)})}) | from_entries' \
  "$OUT"/launch-*.json "$OUT/sync.json" "$OUT/sync-changed.json" >"$OUT/all.json"
ms() { jq -r --arg c "$1" --arg f "$2" '.[$c][$f] * 1000 | . * 100 | round / 100' "$OUT/all.json"; }
row() { # row LABEL COMMAND-NAME
  printf '| %s | %s ± %s | %s | %s | %s |\n' "$1" "$(ms "$2" mean)" "$(ms "$2" stddev)" \
    "$(ms "$2" median)" "$(ms "$2" min)" "$(ms "$2" max)"
}
calc() { jq -nr "$1 | . * 1000 | round / 1000"; }
verdict() { if [ "$(jq -n "$1")" = true ]; then echo "✅ pass"; else echo "❌ fail"; fi; }

m() { ms "$1" mean; }
md() { ms "$1" median; }
mn() { ms "$1" min; }
ratio10=$(calc "$(m "ss10 crux") / $(m "ss10 baseline")")
ratio1=$(calc "$(m "ss1 crux") / $(m "ss1 baseline")")
age_over1=$(calc "$(m "age1 crux") - $(m "direct")")
age_over10=$(calc "$(m "age10 crux") - $(m "direct")")
ratio10_md=$(calc "$(md "ss10 crux") / $(md "ss10 baseline")")
ratio1_md=$(calc "$(md "ss1 crux") / $(md "ss1 baseline")")
age_over1_md=$(calc "$(md "age1 crux") - $(md "direct")")
age_over10_md=$(calc "$(md "age10 crux") - $(md "direct")")
ratio10_mn=$(calc "$(mn "ss10 crux") / $(mn "ss10 baseline")")
ratio1_mn=$(calc "$(mn "ss1 crux") / $(mn "ss1 baseline")")
age_over1_mn=$(calc "$(mn "age1 crux") - $(mn "direct")")
age_over10_mn=$(calc "$(mn "age10 crux") - $(mn "direct")")
sh_ss=$(calc "$(m "ss10 crux") - $(m "ss10 crux-launch-no-sh")")
sh_age=$(calc "$(m "age10 crux") - $(m "age10 crux-launch-no-sh")")

cat <<EOF

## crux launcher and sync benchmark

$(date -u +%Y-%m-%dT%H:%M:%SZ) · $(uname -sr) · $(nproc) CPUs · 1-min load $load_before before / $load_after after the launch run · $(hyperfine --version)
Launch: $((per_round * ROUNDS)) runs per command in $ROUNDS interleaved hyperfine rounds ($WARMUP warmup each), \`-N\` (no shell); the server is \`/usr/bin/env\` (output discarded),
started with \`env -i\` (HOME, PATH, + the entry's env; + DBUS_SESSION_BUS_ADDRESS of the private bus for the Secret Service).
Sync: $PROJECTS projects × $SERVERS servers, $SYNC_RUNS runs. Times in ms.

| Scenario | Mean ± σ | Median | Min | Max |
|---|---|---|---|---|
$(row "direct exec (env -i /usr/bin/env)" "direct")
$(row "Secret Service, 1 var: crux launcher" "ss1 crux")
$(row "Secret Service, 1 var: baseline-launcher.sh" "ss1 baseline")
$(row "Secret Service, 10 vars: crux launcher" "ss10 crux")
$(row "Secret Service, 10 vars: baseline-launcher.sh" "ss10 baseline")
$(row "Secret Service, 10 vars: \`crux launch\` without sh (diagnostic)" "ss10 crux-launch-no-sh")
$(row "age, 1 var: crux launcher" "age1 crux")
$(row "age, 10 vars: crux launcher" "age10 crux")
$(row "age, 10 vars: \`crux launch\` without sh (diagnostic)" "age10 crux-launch-no-sh")
$(row "\`crux project sync --all\`, no change" "sync no-change")
$(row "\`crux project sync --all\`, all $PROJECTS .mcp.json rewritten" "sync rewrite-all")

| Target | Mean | Median | Min | Limit | Result (mean) |
|---|---|---|---|---|---|
| Secret Service, 10 vars: launcher / baseline | $ratio10 | $ratio10_md | $ratio10_mn | ≤ 0.1 | $(verdict "$ratio10 <= 0.1") |
| Secret Service, 1 var: launcher / baseline (info) | $ratio1 | $ratio1_md | $ratio1_mn | — | — |
| age, 10 vars: launcher − direct exec | $age_over10 ms | $age_over10_md ms | $age_over10_mn ms | ≤ 3 ms | $(verdict "$age_over10 <= 3") |
| age, 1 var: launcher − direct exec | $age_over1 ms | $age_over1_md ms | $age_over1_mn ms | ≤ 3 ms | $(verdict "$age_over1 <= 3") |
| \`crux project sync --all\`, $PROJECTS × $SERVERS, no change | $(m "sync no-change") ms | $(md "sync no-change") ms | $(mn "sync no-change") ms | ≤ 200 ms | $(verdict "$(m "sync no-change") <= 200") |
| \`crux project sync --all\`, $PROJECTS × $SERVERS, every .mcp.json rewritten | $(m "sync rewrite-all") ms | $(md "sync rewrite-all") ms | $(mn "sync rewrite-all") ms | ≤ 200 ms | $(verdict "$(m "sync rewrite-all") <= 200") |
| sh launcher overhead (launcher − \`crux launch\`), SS / age (info) | $sh_ss / $sh_age ms | — | — | — | — |

Min is the least disturbed sample of each command: on a loaded machine, the min-based
differences are the better estimate of the launcher's own cost.

Raw exports: $OUT (launch-<round>.json/.md, all.json (merged), sync.json/.md, sync-changed.json/.md)$([ "${KEEP:-0}" = 1 ] || [ "$OUT" != "$T/results" ] || echo " — removed on exit; set KEEP=1 or OUT=dir to keep them").
EOF
