#!/usr/bin/env bash
# Server start benchmark (issue: "Credentials reach only the code the user approved"): the time
# from an MCP host's spawn of a server to the server's answer to `initialize`, for the real
# @modelcontextprotocol/server-everything, measured side by side in one run for:
#   npx-latest   today's `npx -y <pkg>` entry (npx asks the registry for the latest at every start)
#   npx-pinned   a pinned `npx -y <pkg>@<version>` entry
#   crux         the generated entry: crux's launcher (age backend, one credential) execs the
#                install pinned in CRUX_HOME/mcps/<name>/
#   node         `node` on that same installed file, without crux
# Targets: crux at most half of npx-latest, and within 10 ms of node.
#
# Everything runs in a temporary HOME/CRUX_HOME (npx's cache included: the warm-up runs fill
# it). The cases alternate within each round, so a load change on the machine spreads over all
# of them. The host side is scripts/bench_start.py: spawn, write `initialize`, read until the
# answer, then stop the server.
#
# Needs: cargo, node + npm (npx), python3, network access to the npm registry.
# Knobs (environment): ROUNDS (default 20: npx cases), LAUNCH_ROUNDS (200: crux and node, whose
# difference is small next to how much a start varies), WARMUP (2), VERSION (2026.8.31), KEEP=1.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROUNDS=${ROUNDS:-20}
LAUNCH_ROUNDS=${LAUNCH_ROUNDS:-200}
WARMUP=${WARMUP:-2}
VERSION=${VERSION:-2026.8.31}
PACKAGE=@modelcontextprotocol/server-everything

die() { echo "bench-start: $*" >&2; exit 1; }
log() { echo "==> $*" >&2; }
for tool in cargo node npx python3; do
  command -v "$tool" >/dev/null || die "$tool is not installed"
done

log "cargo build --release"
(cd "$REPO" && cargo build --release --quiet)
CRUX="$REPO/target/release/crux"

T=$(mktemp -d "${TMPDIR:-/tmp}/crux-bench-start.XXXXXX")
cleanup() { if [ "${KEEP:-0}" = 1 ]; then echo "bench-start: kept $T" >&2; else rm -rf "$T"; fi; }
trap cleanup EXIT
export HOME="$T/home" CRUX_HOME="$T/home/.crux" CRUX_BACKEND=age
mkdir -p "$HOME/project"
chmod 700 "$HOME"

log "crux mcp add everything --npx $PACKAGE@$VERSION (installs it)"
head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' |
  "$CRUX" mcp add everything --npx "$PACKAGE@$VERSION" --keychain EVERYTHING_TOKEN --stdin >/dev/null
(cd "$HOME/project" && "$CRUX" project install everything >/dev/null)

python3 "$REPO/scripts/bench_start.py" \
  --rounds "$ROUNDS" --launch-rounds "$LAUNCH_ROUNDS" --warmup "$WARMUP" --cwd "$HOME/project" \
  --mcp-json "$HOME/project/.mcp.json" --package "$PACKAGE" --version "$VERSION"
