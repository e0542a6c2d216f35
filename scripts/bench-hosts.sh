#!/usr/bin/env bash
# `crux project sync --all` over PROJECTS projects × SERVERS servers, no change, with one host
# (Claude Code's .mcp.json) and with three hosts each (Claude Code, Gemini CLI, Codex), measured
# side by side in one hyperfine run (the issue's target: ≤ 200 ms with three hosts).
#
# Everything runs in a temporary directory with its own CRUX_HOMEs and the age backend; values
# are random. Needs: cargo, hyperfine, jq.
# Knobs (environment): RUNS (default 30), WARMUP (3), PROJECTS (50), SERVERS (20), KEEP=1.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUNS=${RUNS:-30}
WARMUP=${WARMUP:-3}
PROJECTS=${PROJECTS:-50}
SERVERS=${SERVERS:-20}

die() { echo "bench-hosts: $*" >&2; exit 1; }
log() { echo "==> $*" >&2; }
for tool in cargo hyperfine jq; do
  command -v "$tool" >/dev/null || die "$tool is not installed"
done

log "cargo build --release"
(cd "$REPO" && cargo build --release --quiet)
CRUX="$REPO/target/release/crux"
export PATH="$REPO/target/release:$PATH"

T=$(mktemp -d "${TMPDIR:-/tmp}/crux-bench-hosts.XXXXXX")
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$T"' EXIT
export HOME="$T/home" CRUX_BACKEND=age
mkdir -p "$HOME"
rand_value() { head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n'; }

# setup NAME HOSTS_JSON: a CRUX_HOME with SERVERS servers and PROJECTS projects using them.
setup() {
  local home="$T/$1" hosts="$2" names=()
  export CRUX_HOME="$home"
  for ((s = 0; s < SERVERS; s++)); do
    "$CRUX" mcp add "s$s" --command /bin/true --keychain "KEY_$s" --value "KEY_$s=bench-$(rand_value)" \
      >/dev/null 2>>"$T/setup.log" || { cat "$T/setup.log" >&2; die "mcp add s$s failed"; }
    names+=("s$s")
  done
  for ((p = 0; p < PROJECTS; p++)); do
    local d
    d=$(printf '%s/%s-projects/p%02d' "$T" "$1" "$p")
    mkdir -p "$d"
    (cd "$d" && "$CRUX" project create >/dev/null &&
      jq --argjson h "$hosts" '.hosts = $h' crux.json >crux.json.new && mv crux.json.new crux.json &&
      "$CRUX" project install "${names[@]}" >/dev/null 2>>"$T/setup.log")
  done
  "$CRUX" project sync --all | tail -n 1 | grep -q "0 written, $PROJECTS up to date, 0 failed" \
    || die "$1: sync --all did not report every project as up to date"
}

log "setup: $PROJECTS projects × $SERVERS servers, one host and three hosts"
setup one '["claude-code"]'
setup three '["claude-code", "gemini", "codex"]'
files=$(find "$T/three-projects" -name settings.json -o -name config.toml | wc -l)
[ "$files" = "$((PROJECTS * 2))" ] || die "found $files Gemini/Codex files, not $((PROJECTS * 2))"
entries=$(grep -c '^\[mcp_servers\.' "$T"/three-projects/*/.codex/config.toml | awk -F: '{s += $2} END {print s}')
[ "$entries" = "$((PROJECTS * SERVERS))" ] || die "found $entries Codex entries, not $((PROJECTS * SERVERS))"

log "hyperfine: crux project sync --all, no change"
hyperfine --shell=none --warmup "$WARMUP" --runs "$RUNS" --export-json "$T/sync-hosts.json" \
  -n "1 host" "env CRUX_HOME=$T/one $CRUX project sync --all" \
  -n "3 hosts" "env CRUX_HOME=$T/three $CRUX project sync --all" >&2

jq -r '.results[] | "\(.command): median \(.median * 1000 | . * 10 | round / 10) ms, mean \(.mean * 1000 | . * 10 | round / 10) ms, min \(.min * 1000 | . * 10 | round / 10) ms"' "$T/sync-hosts.json"
three=$(jq '.results[] | select(.command == "3 hosts") | .median * 1000' "$T/sync-hosts.json")
awk -v m="$three" 'BEGIN { exit !(m <= 200) }' && echo "3 hosts: within the 200 ms target" \
  || echo "3 hosts: OVER the 200 ms target"
