#!/usr/bin/env bash
# Installs the real MCP clients/servers used by crux's end-to-end tests, into this folder:
#   node_modules/  from package-lock.json (npm ci)  - inspector CLI + server-everything
#   conformance/node_modules/  the MCP conformance suite (its own lockfile: it pins an older SDK)
#   conformance-2026/node_modules/  the 2026-07-28 conformance suite + the Node 22 binary it needs
#   eras/node_modules/   MCP TypeScript SDK 2.x for the modern-only (2026-07-28) test server
#   oidc/node_modules/   oidc-provider, a real authorization server
#   bench/node_modules/  mcp-remote, the peer of scripts/bench-eras.sh
#   hosts/node_modules/  real MCP hosts: Claude Code, Gemini CLI, Codex (with its native binary)
#   .venv/         from requirements.txt (pip)       - the mcp Python SDK for py_client.py
#   crux-cli/.venv/  from crux-cli/requirements.txt  - crux-cli 1.0.5, the tool crux imports from
# Idempotent and fast (a couple of stat calls) when everything is already in place.
# Safe to run from several test processes at once (flock). Progress goes to stderr.
# Env: PYTHON (default python3), NPM (default npm).
set -euo pipefail

DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$DIR"

PYTHON="${PYTHON:-python3}"
NPM="${NPM:-npm}"
NPM_STAMP="node_modules/.package-lock.json"  # written by npm ci as its last step
PY_STAMP=".venv/.crux-requirements.txt"      # copy of requirements.txt after a good install

# Sub-folders with their own package-lock.json (their pins conflict with the hoisted SDK 1.32.2
# or need another Node); each is stamped like the top one.
SUBDIRS=(conformance conformance-2026 eras oidc bench hosts)

npm_ok() { [[ -f "$NPM_STAMP" && ! package-lock.json -nt "$NPM_STAMP" ]]; }
sub_ok() { [[ -f "$1/node_modules/.package-lock.json" && ! "$1/package-lock.json" -nt "$1/node_modules/.package-lock.json" ]]; }
subs_ok() {
  local d
  for d in "${SUBDIRS[@]}"; do sub_ok "$d" || return 1; done
}
py_ok() { [[ -x .venv/bin/python && -f "$PY_STAMP" ]] && cmp -s requirements.txt "$PY_STAMP"; }
CLI_STAMP="crux-cli/.venv/.crux-requirements.txt"
cli_ok() { [[ -x crux-cli/.venv/bin/crux && -f "$CLI_STAMP" ]] && cmp -s crux-cli/requirements.txt "$CLI_STAMP"; }

# Fast path without taking the lock.
if npm_ok && subs_ok && py_ok && cli_ok; then
  exit 0
fi

exec 9>"$DIR/.setup.lock"
flock 9

if ! npm_ok; then
  echo "e2e setup: npm ci in $DIR" >&2
  "$NPM" ci --no-audit --no-fund --loglevel=error 1>&2
  touch "$NPM_STAMP"
fi

for d in "${SUBDIRS[@]}"; do
  if ! sub_ok "$d"; then
    echo "e2e setup: npm ci in $DIR/$d" >&2
    # --include=optional: the hosts' native binaries (Codex's, Claude Code's) are optional
    # dependencies, one per platform; an npmrc with omit=optional would leave them out.
    (cd "$d" && "$NPM" ci --include=optional --no-audit --no-fund --loglevel=error 1>&2)
    if [[ "$d" == hosts ]] && ! hosts/node_modules/.bin/codex --version >/dev/null 2>&1; then
      echo "e2e setup: hosts/: codex's native binary for this platform did not install" >&2
      exit 1
    fi
    touch "$d/node_modules/.package-lock.json"
  fi
done

if ! py_ok; then
  echo "e2e setup: creating $DIR/.venv" >&2
  "$PYTHON" -m venv --clear .venv 1>&2
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt 1>&2
  cp requirements.txt "$PY_STAMP"
fi

if ! cli_ok; then
  echo "e2e setup: creating $DIR/crux-cli/.venv" >&2
  "$PYTHON" -m venv --clear crux-cli/.venv 1>&2
  crux-cli/.venv/bin/python -m pip install --quiet --disable-pip-version-check -r crux-cli/requirements.txt 1>&2
  cp crux-cli/requirements.txt "$CLI_STAMP"
fi
