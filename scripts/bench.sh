#!/usr/bin/env bash
# Benchmarks the secrets core (benches/store.rs) against the per-variable CLI baseline.
#
# Builds the bench in release mode, then runs it on a PRIVATE D-Bus session bus with a throwaway,
# unlocked gnome-keyring, with HOME, XDG_* and CRUX_HOME inside a temporary directory and no
# display. Your own keyring, session bus and ~/.crux are never touched. Both daemons are stopped
# and the directory removed on exit.
#
# Usage: scripts/bench.sh            (CRUX_BENCH_ITERS=N sets the iterations, default 200)
# Needs: cargo, dbus-daemon + dbus-send (dbus), gnome-keyring-daemon (gnome-keyring),
#        secret-tool (libsecret-tools), age (age).
set -euo pipefail

here=${BASH_SOURCE[0]%/*}
[[ "$here" == "${BASH_SOURCE[0]}" ]] && here=.
cd "$here/.."

missing=()
need() { command -v "$1" >/dev/null 2>&1 || missing+=("$1 (package: $2)"); }
need cargo "rustup / cargo"
need dbus-daemon dbus
need dbus-send dbus
need gnome-keyring-daemon gnome-keyring
need secret-tool libsecret-tools
need age age
if ((${#missing[@]})); then
  echo "bench.sh: cannot run, missing:" >&2
  printf '  %s\n' "${missing[@]}" >&2
  echo "On Debian/Ubuntu: apt-get install dbus gnome-keyring libsecret-tools age" >&2
  exit 1
fi

# Build with the caller's environment (cargo and rustup live under the real HOME).
echo "bench.sh: building the benchmark (release)" >&2
if ! build=$(cargo bench --bench store --no-run --message-format=json-render-diagnostics); then
  echo "bench.sh: the build failed (see above)" >&2
  exit 1
fi
bench_bin=$(sed -n 's/.*"target":{[^}]*"kind":\["bench"\][^}]*"name":"store".*"executable":"\([^"]*\)".*/\1/p' <<<"$build" |
  tail -n 1)
if [[ -z "$bench_bin" || ! -x "$bench_bin" ]]; then
  echo "bench.sh: could not find the built benchmark binary" >&2
  exit 1
fi

T=
dbus_pid=
keyring_pid=
bench_pid=
cleanup() {
  local status=$?
  set +e
  trap - EXIT INT TERM
  [[ -n "$bench_pid" ]] && kill "$bench_pid" 2>/dev/null && wait "$bench_pid" 2>/dev/null
  [[ -n "$keyring_pid" ]] && kill "$keyring_pid" 2>/dev/null && wait "$keyring_pid" 2>/dev/null
  [[ -n "$dbus_pid" ]] && kill "$dbus_pid" 2>/dev/null && wait "$dbus_pid" 2>/dev/null
  [[ -n "$T" ]] && rm -rf "$T"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
T=$(mktemp -d "${TMPDIR:-/tmp}/crux-bench.XXXXXX")

mkdir -p "$T/home/.local/share" "$T/home/.config" "$T/home/.cache" "$T/run"
chmod 700 "$T" "$T/run"
export HOME="$T/home"
export XDG_DATA_HOME="$T/home/.local/share"
export XDG_CONFIG_HOME="$T/home/.config"
export XDG_CACHE_HOME="$T/home/.cache"
export XDG_RUNTIME_DIR="$T/run"
export CRUX_HOME="$T/home/.crux"
unset DISPLAY WAYLAND_DISPLAY DBUS_SESSION_BUS_ADDRESS GNOME_KEYRING_CONTROL CRUX_BACKEND

# The private session bus. Services it activates inherit the environment above.
dbus-daemon --session --nofork --nopidfile --address="unix:path=$T/run/bus" \
  --print-address=1 >"$T/bus-address" 2>"$T/dbus.log" &
dbus_pid=$!
for _ in $(seq 150); do
  [[ -s "$T/bus-address" ]] && break
  kill -0 "$dbus_pid" 2>/dev/null || { echo "bench.sh: dbus-daemon exited: $(cat "$T/dbus.log")" >&2; exit 1; }
  sleep 0.1
done
DBUS_SESSION_BUS_ADDRESS=$(head -n 1 "$T/bus-address")
[[ -n "$DBUS_SESSION_BUS_ADDRESS" ]] || { echo "bench.sh: dbus-daemon printed no address" >&2; exit 1; }
export DBUS_SESSION_BUS_ADDRESS

# A throwaway keyring, created and unlocked with a random password read from stdin.
password=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
printf %s "$password" | gnome-keyring-daemon --foreground --unlock --components=secrets \
  >"$T/keyring.log" 2>&1 &
keyring_pid=$!
unset password
ready=
for _ in $(seq 150); do
  if dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
    org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null |
    grep -q 'boolean true'; then
    ready=1
    break
  fi
  kill -0 "$keyring_pid" 2>/dev/null || break
  sleep 0.1
done
if [[ -z "$ready" ]]; then
  echo "bench.sh: gnome-keyring did not come up on the private bus:" >&2
  cat "$T/keyring.log" >&2
  exit 1
fi

echo "bench.sh: private bus $DBUS_SESSION_BUS_ADDRESS, gnome-keyring $(gnome-keyring-daemon --version 2>/dev/null | head -n 1 | sed 's/.*: //'), $(age --version), $(nproc) CPUs" >&2
# In the background so that a signal runs the cleanup at once rather than after the bench.
CRUX_BENCH_PRIVATE_BUS=1 "$bench_bin" &
bench_pid=$!
wait "$bench_pid"
