#!/usr/bin/env bash
# Installs the real MCP clients/servers used by crux's end-to-end tests, into this folder:
#   node_modules/  from package-lock.json (npm ci)  - inspector CLI + server-everything
#   conformance/node_modules/  the MCP conformance suite (its own lockfile: it pins an older SDK)
#   .venv/         from requirements.txt (pip)       - the mcp Python SDK for py_client.py
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

CONF_STAMP="conformance/node_modules/.package-lock.json"  # the MCP conformance suite

npm_ok() { [[ -f "$NPM_STAMP" && ! package-lock.json -nt "$NPM_STAMP" ]]; }
conf_ok() { [[ -f "$CONF_STAMP" && ! conformance/package-lock.json -nt "$CONF_STAMP" ]]; }
py_ok() { [[ -x .venv/bin/python && -f "$PY_STAMP" ]] && cmp -s requirements.txt "$PY_STAMP"; }

# Fast path without taking the lock.
if npm_ok && conf_ok && py_ok; then
  exit 0
fi

exec 9>"$DIR/.setup.lock"
flock 9

if ! npm_ok; then
  echo "e2e setup: npm ci in $DIR" >&2
  "$NPM" ci --no-audit --no-fund --loglevel=error 1>&2
  touch "$NPM_STAMP"
fi

if ! conf_ok; then
  echo "e2e setup: npm ci in $DIR/conformance" >&2
  (cd conformance && "$NPM" ci --no-audit --no-fund --loglevel=error 1>&2)
  touch "$CONF_STAMP"
fi

if ! py_ok; then
  echo "e2e setup: creating $DIR/.venv" >&2
  "$PYTHON" -m venv --clear .venv 1>&2
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt 1>&2
  cp requirements.txt "$PY_STAMP"
fi
