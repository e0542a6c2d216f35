#!/usr/bin/env bash
# Benchmark of `crux bridge` against both MCP wire eras, in one run:
#   - the legacy server   tests/e2e/eras/legacy-server.mjs  (2025-11-25, SDK 1.32.2, sessions)
#   - the modern server   tests/e2e/eras/modern-server.mjs  (2026-07-28 only, SDK 2.x, stateless)
# both behind the same random bearer token (env CRUX_TEST_BEARER_TOKEN), registered with
#   printf %s "$TOKEN" | crux mcp add bench-<era> --url URL --bearer API_TOKEN --stdin
#
# For each server, these paths send the same `tools/call echo {"text":"bench N"}`, one in flight,
# interleaved request by request (direct, bridge, peer; the order flips every round) after WARMUP
# untimed requests per path:
#   direct      Python http.client on one keep-alive connection, the era's own wire form
#               (legacy: initialize + Mcp-Session-Id + MCP-Protocol-Version; modern: `_meta` in
#               the params + MCP-Protocol-Version / Mcp-Method / Mcp-Name headers, no handshake)
#   bridge      `crux bridge` (release build) on pipes; the stdio host speaks 2025-11-25
#               (initialize, then the same requests), as most hosts do today
#   mcp-remote  mcp-remote 0.15.1 (tests/e2e/bench, pinned) on pipes, the token in a
#               --header-file (never argv); `--protocol auto` on the modern server
# Reported per server and path: p50 / p90 / p99 / mean in ms; the latency each proxy adds over
# direct (difference of percentiles, and the median of per-request-pair differences); each
# proxy's peak RSS (VmHWM from /proc/<pid>/status just before its stdin is closed).
#
# A path that cannot start or fails mid-run (e.g. the bridge on the modern server before crux
# speaks 2026-07-28) is reported as FAILED with its error, the others still run, and the script
# exits 1 at the end. Everything runs in a temp dir (own HOME, CRUX_HOME; never ~/.crux).
# Knobs: REQUESTS (500), WARMUP (30), TIMEOUT (30 s per answer), ERAS ("legacy modern"),
#        PEER (1: also mcp-remote; 0: off), CRUX (a crux binary; default: cargo build --release),
#        KEEP=1 (keep the temp dir), OUT (where result.json goes; default: the temp dir).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
E2E="$REPO/tests/e2e"
REQUESTS=${REQUESTS:-500}
WARMUP=${WARMUP:-30}
TIMEOUT=${TIMEOUT:-30}
ERAS=${ERAS:-legacy modern}
PEER=${PEER:-1}

die() { echo "bench-eras: $*" >&2; exit 1; }
log() { echo "==> $*" >&2; }
for tool in node python3 curl; do command -v "$tool" >/dev/null || die "$tool is not installed"; done
[[ "$REQUESTS" =~ ^[1-9][0-9]*$ && "$WARMUP" =~ ^[0-9]+$ ]] || die "REQUESTS and WARMUP must be whole numbers"

if [ -z "${CRUX:-}" ]; then
  log "cargo build --release"
  (cd "$REPO" && cargo build --release --quiet)
  CRUX="$REPO/target/release/crux"
fi
[ -x "$CRUX" ] || die "no crux binary at $CRUX"
bash "$E2E/setup.sh"

T=$(mktemp -d "${TMPDIR:-/tmp}/crux-bench-eras.XXXXXX")
OUT=${OUT:-$T}
mkdir -p "$OUT"
pids=()
cleanup() {
  local status=$?
  set +e
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  if [ "${KEEP:-0}" = 1 ]; then echo "bench-eras: kept $T" >&2; else rm -rf "$T"; fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

export HOME="$T/home" CRUX_HOME="$T/crux" CRUX_BACKEND=age XDG_RUNTIME_DIR="$T/run"
unset CRUX_MCP_NAME CRUX_BRIDGE_URL CRUX_AUTH_ENV_VARS DBUS_SESSION_BUS_ADDRESS
mkdir -p "$HOME" "$XDG_RUNTIME_DIR"
chmod 700 "$XDG_RUNTIME_DIR"
TOKEN="bench_$(od -An -tx1 -N24 /dev/urandom | tr -d ' \n')"
(umask 077 && printf 'Authorization: Bearer %s\n' "$TOKEN" >"$T/headers.txt")

servers="[]"
for era in $ERAS; do
  case "$era" in legacy | modern) ;; *) die "ERAS: unknown era $era" ;; esac
  log "starting the $era server"
  mkfifo "$T/$era.ready"
  # stdin from /dev/null: the servers ignore EOF there; they die with the trap.
  CRUX_TEST_BEARER_TOKEN="$TOKEN" node "$E2E/eras/$era-server.mjs" </dev/null >"$T/$era.ready" 2>"$T/$era.log" &
  pids+=($!)
  read -r ready <"$T/$era.ready"
  url=$(printf %s "$ready" | python3 -c 'import json,sys; print(json.load(sys.stdin)["mcp"])')
  stats=$(printf %s "$ready" | python3 -c 'import json,sys; print(json.load(sys.stdin)["stats"])')
  printf %s "$TOKEN" | "$CRUX" mcp add "bench-$era" --url "$url" --bearer API_TOKEN --stdin >/dev/null 2>&1 \
    || die "crux mcp add bench-$era failed"
  servers=$(python3 -c 'import json,sys; s=json.loads(sys.argv[1]); s.append({"era":sys.argv[2],"url":sys.argv[3],"stats":sys.argv[4],"name":"bench-"+sys.argv[2]}); print(json.dumps(s))' \
    "$servers" "$era" "$url" "$stats")
done

cat >"$T/driver.py" <<'PY'
import http.client, json, os, select, subprocess, sys, time, urllib.parse

A = json.loads(sys.argv[1])
TIMEOUT = A["timeout"]
MODERN = "2026-07-28"
LEGACY = "2025-11-25"
META = {"io.modelcontextprotocol/protocolVersion": MODERN,
        "io.modelcontextprotocol/clientInfo": {"name": "crux-bench-eras", "version": "1"},
        "io.modelcontextprotocol/clientCapabilities": {}}


class Fail(Exception):
    pass


def call(i, modern=False):
    params = {"name": "echo", "arguments": {"text": f"bench {i}"}}
    if modern:
        params["_meta"] = META
    return {"jsonrpc": "2.0", "id": i, "method": "tools/call", "params": params}


def check(i, m):
    texts = [c.get("text") for c in (m.get("result") or {}).get("content", [])]
    if f"bench {i}" not in texts:
        raise Fail(f"request {i}: not the echo: {json.dumps(m)[:300]}")


class Direct:
    def __init__(self, url, modern):
        u = urllib.parse.urlsplit(url)
        self.path, self.modern = u.path, modern
        self.conn = http.client.HTTPConnection(u.hostname, u.port, timeout=TIMEOUT)
        self.headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json",
                        "Authorization": f"Bearer {os.environ['BENCH_TOKEN']}"}
        self.pid = None

    def post(self, msg, extra=None):
        self.conn.request("POST", self.path, json.dumps(msg).encode(), {**self.headers, **(extra or {})})
        resp = self.conn.getresponse()
        if "id" not in msg:
            resp.read()
            return None, resp
        if resp.status != 200:
            raise Fail(f"direct: HTTP {resp.status}: {resp.read()[:300]!r}")
        if resp.getheader("Content-Type", "").startswith("application/json"):
            return json.loads(resp.read()), resp
        data = []
        while True:  # SSE: the first event that answers the id
            line = resp.readline()
            if not line:
                raise Fail("direct: the SSE stream ended without an answer")
            line = line.rstrip(b"\r\n")
            if line.startswith(b"data:"):
                data.append(line[5:].strip())
            elif not line and data:
                m = json.loads(b"\n".join(data))
                data = []
                if m.get("id") == msg["id"] and "method" not in m:
                    resp.read()
                    return m, resp

    def start(self):
        if self.modern:
            m, _ = self.post({"jsonrpc": "2.0", "id": 0, "method": "server/discover", "params": {"_meta": META}},
                             {"MCP-Protocol-Version": MODERN, "Mcp-Method": "server/discover"})
            if "result" not in m:
                raise Fail(f"direct: server/discover: {m}")
            self.headers.update({"MCP-Protocol-Version": MODERN, "Mcp-Method": "tools/call", "Mcp-Name": "echo"})
            return
        m, resp = self.post({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": LEGACY, "capabilities": {}, "clientInfo": {"name": "crux-bench-eras", "version": "1"}}})
        self.headers["Mcp-Session-Id"] = resp.getheader("Mcp-Session-Id")
        self.headers["MCP-Protocol-Version"] = m["result"]["protocolVersion"]
        self.post({"jsonrpc": "2.0", "method": "notifications/initialized"})

    def round_trip(self, i):
        t0 = time.perf_counter_ns()
        m, _ = self.post(call(i, self.modern))
        t1 = time.perf_counter_ns()
        check(i, m)
        return t1 - t0

    def close(self):
        self.conn.close()
        return None


def vmhwm(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        return None


class Stdio:
    """A stdio proxy (crux bridge, mcp-remote) driven by a 2025-11-25 host of ours."""

    def __init__(self, name, cmd, env):
        self.name, self.buf = name, b""
        self.err = open(os.path.join(A["tmp"], f"{name}-{os.getpid()}-{len(cmd)}.log"), "wb+")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.err,
                                     env=env, bufsize=0)
        self.pid = self.proc.pid

    def tail(self):
        self.err.flush()
        self.err.seek(0)
        text = self.err.read().decode(errors="replace").strip()
        return f"\n--- {self.name} stderr ---\n{text[-1500:]}" if text else ""

    def send(self, msg):
        try:
            self.proc.stdin.write(json.dumps(msg).encode() + b"\n")
        except BrokenPipeError:
            raise Fail(f"{self.name}: stdin closed (exit {self.proc.poll()}){self.tail()}")

    def wait_for(self, want):
        while True:
            while b"\n" not in self.buf:
                r, _, _ = select.select([self.proc.stdout], [], [], TIMEOUT)
                if not r:
                    raise Fail(f"{self.name}: no answer within {TIMEOUT} s{self.tail()}")
                chunk = os.read(self.proc.stdout.fileno(), 65536)
                if not chunk:
                    raise Fail(f"{self.name}: stdout closed (exit {self.proc.poll()}){self.tail()}")
                self.buf += chunk
            line, _, self.buf = self.buf.partition(b"\n")
            try:
                m = json.loads(line)
            except ValueError:
                continue  # (a proxy's stray log line)
            if isinstance(m, dict) and m.get("id") == want and "method" not in m:
                return m

    def start(self):
        self.send({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": LEGACY, "capabilities": {}, "clientInfo": {"name": "crux-bench-eras", "version": "1"}}})
        m = self.wait_for(0)
        if "result" not in m:
            raise Fail(f"{self.name}: initialize: {json.dumps(m)[:300]}{self.tail()}")
        self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})

    def round_trip(self, i):
        t0 = time.perf_counter_ns()
        self.send(call(i))
        m = self.wait_for(i)
        t1 = time.perf_counter_ns()
        if "error" in m:
            raise Fail(f"{self.name}: request {i}: {json.dumps(m)[:300]}{self.tail()}")
        check(i, m)
        return t1 - t0

    def close(self):
        peak = vmhwm(self.pid)
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        return peak


def pct(ns):
    s = sorted(ns)
    n = len(s)
    at = lambda p: s[max(0, min(n - 1, -(-p * n // 100) - 1))] / 1e6
    return {"n": n, "p50": at(50), "p90": at(90), "p99": at(99), "mean": sum(s) / n / 1e6}


def bench(server):
    modern = server["era"] == "modern"
    base = {k: v for k, v in os.environ.items() if k != "BENCH_TOKEN"}
    env = dict(base, CRUX_MCP_NAME=server["name"], CRUX_BRIDGE_URL=server["url"])
    makers = {"direct": lambda: Direct(server["url"], modern),
              "bridge": lambda: Stdio("bridge", [A["crux"], "bridge"], env)}
    if A["peer"]:
        cmd = ["node", A["mcp_remote"], server["url"], "--header-file", A["headers"], "--transport", "http-only"]
        if modern:
            cmd += ["--protocol", "auto"]
        makers["mcp-remote"] = lambda: Stdio("mcp-remote", cmd, base)
    paths, out = {}, {"era": server["era"], "url": server["url"], "paths": {}}
    for name, make in makers.items():
        try:
            p = make()
            paths[name] = p
            p.start()
        except (Fail, OSError, ValueError, KeyError, TypeError) as e:
            out["paths"][name] = {"failed": str(e)}
            paths.pop(name, None)
    samples = {n: [] for n in paths}
    i = 1
    for r in range(A["warmup"] + A["requests"]):
        order = list(paths) if r % 2 == 0 else list(reversed(paths))
        for name in order:
            if name not in paths:
                continue
            try:
                ns = paths[name].round_trip(i)
            except (Fail, OSError, ValueError, KeyError) as e:
                out["paths"][name] = {"failed": f"after {len(samples[name])} timed requests: {e}"}
                paths.pop(name).close()
                continue
            finally:
                i += 1
            if r >= A["warmup"]:
                samples[name].append(ns)
    for name, p in paths.items():
        out["paths"][name] = {**pct(samples[name]), "vmhwm_kb": p.close()}
        if name != "direct" and "direct" in paths:
            pairs = [b - d for d, b in zip(samples["direct"], samples[name])]
            out["paths"][name]["paired"] = pct(pairs) if pairs else None
    out["paths"] = {n: out["paths"][n] for n in makers if n in out["paths"]}
    return out


results = [bench(s) for s in A["servers"]]
json.dump(results, open(A["result"], "w"), indent=1)
f = lambda x: f"{x:.3f}"
print(f"\n## crux bridge on both MCP eras ({A['requests']} timed calls per path, {A['warmup']} warm-up; ms)\n")
print("| server | path | p50 | p90 | p99 | mean | added p50 | added p99 | paired median | peak RSS |")
print("|---|---|---|---|---|---|---|---|---|---|")
failed = False
for r in results:
    d = r["paths"].get("direct", {})
    for name, s in r["paths"].items():
        if "failed" in s:
            failed = failed or name != "mcp-remote" or r["era"] == "legacy"
            print(f"| {r['era']} | {name} | FAILED: {s['failed'].splitlines()[0][:160]} | | | | | | | |")
            continue
        added = lambda k: f(s[k] - d[k]) if name != "direct" and "p50" in d else "—"
        paired = f(s["paired"]["p50"]) if s.get("paired") else "—"
        rss = f"{s['vmhwm_kb'] / 1024:.1f} MB" if s.get("vmhwm_kb") else "—"
        print(f"| {r['era']} | {name} | {f(s['p50'])} | {f(s['p90'])} | {f(s['p99'])} | {f(s['mean'])} | "
              f"{added('p50')} | {added('p99')} | {paired} | {rss} |")
for r in results:
    for name, s in r["paths"].items():
        if "failed" in s:
            print(f"\n{r['era']} / {name} failed:\n{s['failed']}", file=sys.stderr)
sys.exit(1 if failed else 0)
PY

args=$(python3 -c 'import json,sys; print(json.dumps({"servers": json.loads(sys.argv[1]), "crux": sys.argv[2],
  "requests": int(sys.argv[4]), "warmup": int(sys.argv[5]), "timeout": float(sys.argv[6]),
  "peer": sys.argv[7] == "1", "mcp_remote": sys.argv[8], "headers": sys.argv[9], "tmp": sys.argv[10],
  "result": sys.argv[11]}))' "$servers" "$CRUX" - "$REQUESTS" "$WARMUP" "$TIMEOUT" "$PEER" \
  "$E2E/bench/node_modules/mcp-remote/dist/proxy.js" "$T/headers.txt" "$T" "$OUT/result.json")
log "measuring ($REQUESTS calls per path and server)"
status=0
BENCH_TOKEN="$TOKEN" python3 "$T/driver.py" "$args" || status=$?  # the token by env, never argv
echo "(raw results: $OUT/result.json$([ "${KEEP:-0}" = 1 ] || [ "$OUT" != "$T" ] || echo '; KEEP=1 keeps it'))" >&2
exit "$status"
