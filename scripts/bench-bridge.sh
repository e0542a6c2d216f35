#!/usr/bin/env bash
# Benchmark of `crux bridge` (the issue's targets):
#   - added latency per JSON-RPC round trip through the bridge, versus the same request sent
#     directly to the server over HTTP: p50 and p99 over REQUESTS (1,000) requests.
#     Target: < 1 ms added at p50.
#   - the bridge's peak memory (VmHWM from /proc/<pid>/status just before its stdin is closed,
#     and /usr/bin/time -v's maximum resident set size after it exits). Target: < 15 MB.
# Both for SSE answers (the server's default) and for application/json answers (--json-response).
#
# The server is tests/e2e/oauth/bearer-server.mjs (a stateful MCP SDK Streamable HTTP server at
# /mcp that checks "Authorization: Bearer <token>"), registered with
#   printf %s "$TOKEN" | crux mcp add bench-<mode> --url URL --bearer API_TOKEN --stdin
# With SERVER=everything (the fallback when bearer-server.mjs is absent), it is the reference
# server-everything in streamableHttp mode instead: unauthenticated (registered with --url
# only), SSE answers only.
#
# One Python 3 (stdlib only) driver measures both paths in the same process, against the same
# server, with the same request:
#   direct: one keep-alive HTTP connection; initialize (keeps Mcp-Session-Id and the protocol
#           version), notifications/initialized, then each request is POSTed with the headers the
#           bridge sends (Accept: application/json, text/event-stream; Content-Type;
#           MCP-Protocol-Version; Mcp-Session-Id; Authorization) and timed from the send to the
#           parsed answer (the rest of an SSE body is drained before the next request, untimed).
#   bridge: `crux bridge` (release binary) on pipes, CRUX_HOME/CRUX_BACKEND=age/CRUX_MCP_NAME/
#           CRUX_BRIDGE_URL in its environment; initialize + notifications/initialized, then each
#           request is timed from the write of its line to the read of the answer line with its id.
# Requests are sequential (one in flight). WARMUP requests per path first (untimed, alternating),
# then the REQUESTS timed ones in interleaved blocks of BLOCK requests per path (direct, bridge,
# bridge, direct, …; by default one request each) so that a load change on the machine lands on
# both paths alike. Besides the difference of the percentiles, the report gives the median of the
# per-pair differences (request k on the bridge − request k direct): the steadiest estimate on a
# busy machine. Every answer is checked (a result, the echoed text): an error, a hang (TIMEOUT
# seconds) or a bridge that exits non-zero fails the run. A missed target does not: it prints
# MISS. Also reported: the TCP connections the clients closed during a run (TIME_WAIT sockets to
# the server's port), which shows whether the bridge keeps its HTTP connection alive, and the
# bearer server's own counters.
#
# Everything runs in a temporary directory (its own CRUX_HOME, HOME; never ~/.crux).
# Needs: cargo, node + the e2e kit's node_modules (installed with tests/e2e/setup.sh when
# missing), python3 (3.8+). Uses /usr/bin/time when present.
# Knobs (environment): REQUESTS (1000), WARMUP (50), BLOCK (1), MODES ("sse json"; "sse" with
# SERVER=everything), METHOD (echo: tools/call echo | ping), SERVER (bearer | everything; default
# bearer when tests/e2e/oauth/bearer-server.mjs exists), TIMEOUT (30 s per answer), KEEP=1 (keep
# the temp dir), OUT (directory for the raw samples and results; default: inside the temp dir).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
E2E="$REPO/tests/e2e"
BEARER_SERVER="$E2E/oauth/bearer-server.mjs"
REQUESTS=${REQUESTS:-1000}
WARMUP=${WARMUP:-50}
BLOCK=${BLOCK:-1}
METHOD=${METHOD:-echo}
TIMEOUT=${TIMEOUT:-30}
if [ -z "${SERVER:-}" ]; then
  if [ -f "$BEARER_SERVER" ]; then SERVER=bearer; else SERVER=everything; fi
fi
if [ "$SERVER" = bearer ]; then MODES=${MODES:-sse json}; else MODES=${MODES:-sse}; fi

die() { echo "bench-bridge: $*" >&2; exit 1; }
log() { echo "==> $*" >&2; }

for tool in cargo node python3; do
  command -v "$tool" >/dev/null || die "$tool is not installed"
done
python3 -c 'import sys; sys.exit(sys.version_info < (3, 8))' || die "python3 is older than 3.8"
case "$SERVER" in
  bearer) [ -f "$BEARER_SERVER" ] || die "SERVER=bearer but $BEARER_SERVER does not exist" ;;
  everything) ;;
  *) die "SERVER must be bearer or everything, not $SERVER" ;;
esac
case "$METHOD" in echo | ping) ;; *) die "METHOD must be echo or ping, not $METHOD" ;; esac
for m in $MODES; do
  case "$m" in
    sse) ;;
    json) [ "$SERVER" = bearer ] || die "MODES=json needs SERVER=bearer (server-everything answers SSE only)" ;;
    *) die "MODES: unknown mode $m (sse, json)" ;;
  esac
done
[[ "$REQUESTS" =~ ^[1-9][0-9]*$ && "$WARMUP" =~ ^[0-9]+$ && "$BLOCK" =~ ^[1-9][0-9]*$ ]] \
  || die "REQUESTS, WARMUP and BLOCK must be whole numbers (REQUESTS, BLOCK ≥ 1)"

# --- 1. release build + the e2e kit ------------------------------------------------------
log "cargo build --release"
(cd "$REPO" && cargo build --release --quiet)
CRUX="$REPO/target/release/crux"
[ -x "$CRUX" ] || die "no $CRUX after the build"
if [ ! -d "$E2E/node_modules/@modelcontextprotocol/sdk" ] \
  || { [ "$SERVER" = everything ] && [ ! -d "$E2E/node_modules/@modelcontextprotocol/server-everything" ]; }; then
  log "installing the e2e kit (tests/e2e/setup.sh)"
  bash "$E2E/setup.sh"
fi
TIME_BIN=""
[ -x /usr/bin/time ] && /usr/bin/time -v true >/dev/null 2>&1 && TIME_BIN=/usr/bin/time

# --- 2. temp dir ---------------------------------------------------------------------------
T=$(mktemp -d "${TMPDIR:-/tmp}/crux-bench-bridge.XXXXXX")
OUT=${OUT:-$T/results}
mkdir -p "$OUT"
server_pid=""
stop_server() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
  fi
}
cleanup() {
  local status=$?
  set +e
  trap - EXIT INT TERM
  stop_server
  if [ "${KEEP:-0}" = 1 ]; then echo "bench-bridge: kept $T" >&2; else rm -rf "$T"; fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

export HOME="$T/home" XDG_CONFIG_HOME="$T/home/.config" XDG_DATA_HOME="$T/home/.local/share"
export XDG_CACHE_HOME="$T/home/.cache" CRUX_HOME="$T/crux" CRUX_BACKEND=age
unset CRUX_MCP_NAME CRUX_BRIDGE_URL CRUX_AUTH_ENV_VARS DBUS_SESSION_BUS_ADDRESS DISPLAY WAYLAND_DISPLAY
mkdir -p "$XDG_CONFIG_HOME" "$XDG_DATA_HOME" "$XDG_CACHE_HOME"
TOKEN="bench_$(od -An -tx1 -N24 /dev/urandom | tr -d ' \n')"

# --- 3. the driver (Python, stdlib only) ---------------------------------------------------
cat >"$T/driver.py" <<'PY'
import http.client, json, os, select, subprocess, sys, time, urllib.parse

args = json.loads(sys.argv[1])
N, WARMUP, BLOCK, TIMEOUT = args["requests"], args["warmup"], args["block"], args["timeout"]
PROTOCOL = "2025-06-18"


class Fail(Exception):
    pass


def request(i):
    if args["method"] == "ping":
        return {"jsonrpc": "2.0", "id": i, "method": "ping"}
    return {"jsonrpc": "2.0", "id": i, "method": "tools/call",
            "params": {"name": "echo", "arguments": {"message": f"bench {i}"}}}


def check(i, m):
    if "error" in m or "result" not in m:
        raise Fail(f"request {i}: not a result: {json.dumps(m)[:300]}")
    if args["method"] == "echo":
        texts = [c.get("text", "") for c in m["result"].get("content", []) if isinstance(c, dict)]
        if m["result"].get("isError") or not any(f"bench {i}" in t for t in texts):
            raise Fail(f"request {i}: the echo is not in the answer: {json.dumps(m)[:300]}")


def initialize_msg():
    return {"jsonrpc": "2.0", "id": 0, "method": "initialize",
            "params": {"protocolVersion": PROTOCOL, "capabilities": {},
                       "clientInfo": {"name": "crux-bench-bridge", "version": "1.0.0"}}}


INITIALIZED = {"jsonrpc": "2.0", "method": "notifications/initialized"}


class Direct:
    """The request sent straight to the server, as the bridge sends it."""

    def __init__(self, url, token):
        u = urllib.parse.urlsplit(url)
        self.path = u.path + (f"?{u.query}" if u.query else "")
        self.conn = http.client.HTTPConnection(u.hostname, u.port, timeout=TIMEOUT)
        self.headers = {"Accept": "application/json, text/event-stream",
                        "Content-Type": "application/json", "User-Agent": "crux-bench-bridge"}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"
        self.connections = 0

    def post(self, msg):
        """POSTs one message; returns the answer to it (None for a notification) and the response."""
        body = json.dumps(msg, separators=(",", ":")).encode()
        if self.conn.sock is None:
            self.connections += 1
        self.conn.request("POST", self.path, body, self.headers)
        resp = self.conn.getresponse()
        want = msg.get("id")
        if "id" not in msg:
            resp.read()
            if resp.status not in (200, 202):
                raise Fail(f"direct: the notification got HTTP {resp.status}")
            return None, resp
        if resp.status != 200:
            raise Fail(f"direct: HTTP {resp.status}: {resp.read()[:300]!r}")
        ctype = resp.getheader("Content-Type", "")
        if ctype.startswith("application/json"):
            m = json.loads(resp.read())
            for item in (m if isinstance(m, list) else [m]):
                if item.get("id") == want and "method" not in item:
                    return item, resp
            raise Fail(f"direct: no answer to {want} in {json.dumps(m)[:300]}")
        if not ctype.startswith("text/event-stream"):
            raise Fail(f"direct: unexpected Content-Type {ctype!r}")
        data = []
        while True:
            line = resp.readline()
            if not line:
                raise Fail(f"direct: the SSE stream ended without an answer to {want}")
            line = line.rstrip(b"\r\n")
            if line:
                if line.startswith(b"data:"):
                    v = line[5:]
                    data.append(v[1:] if v.startswith(b" ") else v)
                continue
            text, data = b"\n".join(data).strip(), []
            if text:  # (an event without data, such as the SDK's priming event, is skipped)
                m = json.loads(text)
                if isinstance(m, dict) and m.get("id") == want and "method" not in m:
                    return m, resp

    def start(self):
        m, resp = self.post(initialize_msg())
        resp.read()
        sid = resp.getheader("Mcp-Session-Id")
        if sid:
            self.headers["Mcp-Session-Id"] = sid
        self.headers["MCP-Protocol-Version"] = m["result"]["protocolVersion"]
        self.post(INITIALIZED)

    def round_trip(self, i):
        t0 = time.perf_counter_ns()
        m, resp = self.post(request(i))
        t1 = time.perf_counter_ns()
        resp.read()  # the rest of an SSE body: untimed, but before the next request
        check(i, m)
        return t1 - t0

    def close(self):
        if "Mcp-Session-Id" in self.headers:
            try:
                self.conn.request("DELETE", self.path, headers=self.headers)
                self.conn.getresponse().read()
            except OSError:
                pass
        self.conn.close()


def proc_status(pid):
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("VmHWM", "VmRSS", "Threads"):
                    out[k] = int(v.split()[0])
    except OSError:
        pass
    return out


class Bridge:
    def __init__(self):
        env = dict(os.environ, CRUX_MCP_NAME=args["mcp"], CRUX_BRIDGE_URL=args["url"])
        cmd = [args["crux"], "bridge"]
        if args["time_bin"]:
            cmd = [args["time_bin"], "-v", "-o", args["time_out"]] + cmd
        self.stderr = open(args["bridge_log"], "wb")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.stderr, env=env, bufsize=0)
        self.out = self.proc.stdout
        self.buf = b""
        self.pid = self.proc.pid
        if args["time_bin"]:  # the bridge is /usr/bin/time's child
            deadline = time.monotonic() + 5
            while True:
                try:
                    with open(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children") as f:
                        kids = f.read().split()
                except OSError:
                    kids = []
                if kids:
                    self.pid = int(kids[0])
                    break
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise Fail("bridge: /usr/bin/time did not start crux bridge" + self.log_tail())
                time.sleep(0.005)
        self.others = 0

    def log_tail(self):
        self.stderr.flush()
        try:
            with open(args["bridge_log"], "rb") as f:
                text = f.read().decode(errors="replace").strip()
        except OSError:
            text = ""
        return f"\n--- crux bridge stderr ---\n{text[-2000:]}" if text else " (stderr empty)"

    def readline(self):
        while b"\n" not in self.buf:
            r, _, _ = select.select([self.out], [], [], TIMEOUT)
            if not r:
                raise Fail(f"bridge: no answer within {TIMEOUT} s (hang){self.log_tail()}")
            chunk = os.read(self.out.fileno(), 65536)
            if not chunk:
                code = self.proc.poll()
                raise Fail(f"bridge: stdout closed (exit status {code}){self.log_tail()}")
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        return line

    def send(self, msg):
        try:
            self.proc.stdin.write(json.dumps(msg, separators=(",", ":")).encode() + b"\n")
        except BrokenPipeError:
            raise Fail(f"bridge: stdin closed (exit status {self.proc.poll()}){self.log_tail()}")

    def wait_for(self, want):
        while True:
            line = self.readline()
            try:
                m = json.loads(line)
            except ValueError:
                raise Fail(f"bridge: a stdout line is not JSON: {line[:300]!r}{self.log_tail()}")
            if isinstance(m, dict) and m.get("id") == want and "method" not in m:
                return m
            self.others += 1  # a notification or server request from the GET stream

    def start(self):
        self.send(initialize_msg())
        m = self.wait_for(0)
        if "result" not in m:
            raise Fail(f"bridge: initialize failed: {json.dumps(m)[:300]}{self.log_tail()}")
        self.send(INITIALIZED)

    def round_trip(self, i):
        t0 = time.perf_counter_ns()
        self.send(request(i))
        m = self.wait_for(i)
        t1 = time.perf_counter_ns()
        check(i, m)
        return t1 - t0

    def close(self):
        st = proc_status(self.pid)
        self.proc.stdin.close()
        try:
            code = self.proc.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise Fail(f"bridge: did not exit within {TIMEOUT} s of stdin EOF{self.log_tail()}")
        rest = self.out.read()
        if code != 0:
            raise Fail(f"bridge: exit status {code}{self.log_tail()}")
        maxrss = None
        if args["time_bin"]:
            with open(args["time_out"]) as f:
                for line in f:
                    if "Maximum resident set size" in line:
                        maxrss = int(line.rsplit(":", 1)[1])
        return st, maxrss, rest


def closed_connections(port):
    """TIME_WAIT sockets whose remote end is the server's port: connections a client closed."""
    n = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    cols = line.split()
                    if cols[3] == "06" and int(cols[2].rsplit(":", 1)[1], 16) == port:
                        n += 1
        except (OSError, StopIteration, IndexError, ValueError):
            pass
    return n


def stats(ns):
    s = sorted(ns)
    n = len(s)
    pct = lambda p: s[max(0, min(n - 1, -(-p * n // 100) - 1))] / 1e6  # nearest rank
    return {"n": n, "p50": pct(50), "p90": pct(90), "p99": pct(99), "mean": sum(s) / n / 1e6,
            "min": s[0] / 1e6, "max": s[-1] / 1e6}


def main():
    direct, bridge = Direct(args["url"], args["token"]), None
    try:
        direct.start()
        bridge = Bridge()
        bridge.start()
        i = 1
        for _ in range(WARMUP):
            direct.round_trip(i); bridge.round_trip(i + 1); i += 2
        samples = {"direct": [], "bridge": []}
        per = [min(BLOCK, N - start) for start in range(0, N, BLOCK)]
        for r, k in enumerate(per):
            order = [("direct", direct), ("bridge", bridge)]
            if r % 2:
                order.reverse()
            for name, path in order:
                for _ in range(k):
                    samples[name].append(path.round_trip(i)); i += 1
        st, maxrss, rest = bridge.close()
        bridge_pid = bridge.pid
        others = bridge.others + rest.count(b"\n")
        bridge = None
        direct.close()
        closed = closed_connections(urllib.parse.urlsplit(args["url"]).port)
    except (Fail, OSError, ValueError, KeyError) as e:
        what = str(e) if isinstance(e, Fail) else f"{type(e).__name__}: {e}"
        print(f"bench-bridge ({args['label']}): {what}", file=sys.stderr)
        if bridge is not None and bridge.proc.poll() is None:
            bridge.proc.kill()
        sys.exit(1)
    result = {"label": args["label"], "direct": stats(samples["direct"]),
              "bridge": stats(samples["bridge"]),
              "paired": stats([b - d for d, b in zip(samples["direct"], samples["bridge"])]),
              "vmhwm_kb": st.get("VmHWM"),
              "vmrss_kb": st.get("VmRSS"), "threads": st.get("Threads"), "time_maxrss_kb": maxrss,
              "direct_connections": direct.connections, "bridge_pid": bridge_pid,
              "other_messages": others, "closed_connections": closed}
    with open(args["result"], "w") as f:
        json.dump(result, f)
    with open(args["samples"], "w") as f:
        json.dump({k: [x / 1e6 for x in v] for k, v in samples.items()}, f)


main()
PY

cat >"$T/report.py" <<'PY'
import json, sys

meta = json.loads(sys.argv[1])
results = [json.load(open(p)) for p in sys.argv[2:]]
for p, r in zip(sys.argv[2:], results):
    try:
        r["server"] = json.load(open(p.replace("/result-", "/server-stats-")))
    except (OSError, ValueError):
        r["server"] = None
P50_LIMIT, MEM_LIMIT_MB = 1.0, 15.0
ok = lambda good: "PASS" if good else "MISS"
f = lambda x: f"{x:.3f}"

print()
print("## crux bridge benchmark")
print()
print(f"{meta['date']} · {meta['uname']} · {meta['cpus']} CPUs · 1-min load {meta['load_before']} before / "
      f"{meta['load_after']} after · server: {meta['server']} · request: {meta['request']}")
print(f"{meta['requests']} timed requests per path, interleaved in blocks of {meta['block']}, after "
      f"{meta['warmup']} warm-up requests each; one request in flight. Times in ms.")
print()
print("| Answers | Path | p50 | p90 | p99 | mean | min | max |")
print("|---|---|---|---|---|---|---|---|")
for r in results:
    for path in ("direct", "bridge"):
        s = r[path]
        print(f"| {r['label']} | {path} | {f(s['p50'])} | {f(s['p90'])} | {f(s['p99'])} | "
              f"{f(s['mean'])} | {f(s['min'])} | {f(s['max'])} |")
    d, b = r["direct"], r["bridge"]
    print(f"| {r['label']} | **added** (bridge − direct) | **{f(b['p50'] - d['p50'])}** | "
          f"{f(b['p90'] - d['p90'])} | **{f(b['p99'] - d['p99'])}** | {f(b['mean'] - d['mean'])} | "
          f"{f(b['min'] - d['min'])} | — |")
    p = r["paired"]
    print(f"| {r['label']} | per-pair (bridge − direct) | {f(p['p50'])} | {f(p['p90'])} | {f(p['p99'])} | "
          f"{f(p['mean'])} | {f(p['min'])} | {f(p['max'])} |")
print()
print("| Target | Answers | Measured | Limit | Result |")
print("|---|---|---|---|---|")
for r in results:
    added = r["bridge"]["p50"] - r["direct"]["p50"]
    print(f"| added latency at p50 | {r['label']} | {f(added)} ms | < 1 ms | {ok(added < P50_LIMIT)} |")
for r in results:
    print(f"| added latency, median of per-pair differences (info) | {r['label']} | "
          f"{f(r['paired']['p50'])} ms | < 1 ms | {ok(r['paired']['p50'] < P50_LIMIT)} |")
for r in results:
    added = r["bridge"]["p99"] - r["direct"]["p99"]
    print(f"| added latency at p99 (info) | {r['label']} | {f(added)} ms | — | — |")
for r in results:
    hwm = r["vmhwm_kb"]
    hwm_mb = hwm / 1024 if hwm is not None else None
    rss = r["time_maxrss_kb"]
    extra = f"; /usr/bin/time max RSS {rss / 1024:.2f} MB" if rss else ""
    if hwm_mb is None:
        print(f"| bridge peak memory (VmHWM) | {r['label']} | unavailable{extra} | < 15 MB | — |")
    else:
        print(f"| bridge peak memory (VmHWM) | {r['label']} | {hwm_mb:.2f} MB{extra} | < 15 MB | "
              f"{ok(hwm_mb < MEM_LIMIT_MB)} |")
print()
for r in results:
    print(f"{r['label']}: bridge VmRSS {r['vmrss_kb'] / 1024:.2f} MB and {r['threads']} threads just before "
          f"stdin EOF; {r['other_messages']} server-initiated message(s) forwarded; the direct path used "
          f"{r['direct_connections']} HTTP connection(s); TCP connections to the server the clients "
          f"closed (TIME_WAIT): {r['closed_connections']} (≈ 4 when the bridge keeps its connection "
          f"alive, ≈ one per request when it does not).")
    srv = r["server"]
    if srv:
        print(f"{r['label']}: server counters (both paths): " + ", ".join(
            f"{k} {srv[k]}" for k in ("requests", "unauthorized", "sessions_created", "session_not_found",
                                      "get_streams", "deletes", "tool_calls") if k in srv) + ".")
print("Added = bridge − direct at the same percentile; per-pair = the distribution of (request k on "
      "the bridge − request k direct). Both are the bridge's extra hop (pipes, its own HTTP client) "
      "minus the driver's own HTTP client. MB = 2^20 bytes.")
print(f"Raw samples (ms): {meta['out']}")
PY

# --- 4. servers, registration, runs --------------------------------------------------------
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# start_server MODE → sets server_pid and URL.
start_server() {
  local mode=$1 log="$T/server-$1.log" ready="$T/server-$1.ready" url=""
  : >"$ready"
  if [ "$SERVER" = bearer ]; then
    local flags=()
    [ "$mode" = json ] && flags+=(--json-response)
    CRUX_TEST_BEARER_TOKEN="$TOKEN" node "$BEARER_SERVER" ${flags[@]+"${flags[@]}"} \
      </dev/null >"$ready" 2>"$log" &
    server_pid=$!
    for _ in $(seq 300); do
      url=$(head -n 1 "$ready" | python3 -c 'import json,sys
try: r = json.loads(sys.stdin.read()); print(r["mcp"], r.get("stats", ""))
except Exception: pass' 2>/dev/null || true)
      [ -n "$url" ] && break
      kill -0 "$server_pid" 2>/dev/null || { cat "$log" >&2; die "bearer-server.mjs exited before its ready line"; }
      sleep 0.05
    done
  else
    local port; port=$(free_port)
    (cd "$E2E" && PORT=$port exec node node_modules/@modelcontextprotocol/server-everything/dist/index.js \
      streamableHttp </dev/null >"$log" 2>&1) &
    server_pid=$!
    for _ in $(seq 300); do
      if grep -q "listening on port $port" "$log" 2>/dev/null; then url="http://127.0.0.1:$port/mcp"; break; fi
      kill -0 "$server_pid" 2>/dev/null || { cat "$log" >&2; die "server-everything exited before listening"; }
      sleep 0.05
    done
  fi
  [ -n "$url" ] || { cat "$log" >&2; die "the $SERVER server ($mode) did not come up within 15 s"; }
  URL=${url%% *}
  STATS_URL=""
  [[ "$url" == *" "* ]] && STATS_URL=${url#* }
  return 0
}

meta_load_before=$(cut -d' ' -f1 /proc/loadavg)
results=()
for mode in $MODES; do
  log "$mode: starting the $SERVER server"
  start_server "$mode"
  name="bench-$mode"
  log "$mode: crux mcp add $name --url $URL"
  if [ "$SERVER" = bearer ]; then
    printf %s "$TOKEN" | "$CRUX" mcp add "$name" --url "$URL" --bearer API_TOKEN --stdin \
      >"$T/add-$mode.log" 2>&1 || { cat "$T/add-$mode.log" >&2; die "crux mcp add $name failed"; }
    token=$TOKEN
  else
    "$CRUX" mcp add "$name" --url "$URL" >"$T/add-$mode.log" 2>&1 \
      || { cat "$T/add-$mode.log" >&2; die "crux mcp add $name failed"; }
    token=""
  fi
  log "$mode: $WARMUP warm-up + $REQUESTS timed requests per path ($METHOD)"
  driver_args=$(python3 -c 'import json,sys; print(json.dumps(dict(zip(sys.argv[1::2], sys.argv[2::2]))))' \
    label "$mode" url "$URL" token "$token" crux "$CRUX" mcp "$name" method "$METHOD" \
    time_bin "$TIME_BIN" time_out "$T/time-$mode.txt" bridge_log "$T/bridge-$mode.log" \
    result "$OUT/result-$mode.json" samples "$OUT/samples-$mode.json")
  driver_args=$(python3 -c 'import json,sys; a=json.loads(sys.argv[1]); a.update(requests=int(sys.argv[2]), warmup=int(sys.argv[3]), block=int(sys.argv[4]), timeout=float(sys.argv[5])); print(json.dumps(a))' \
    "$driver_args" "$REQUESTS" "$WARMUP" "$BLOCK" "$TIMEOUT")
  python3 "$T/driver.py" "$driver_args" || { echo "--- server log (tail) ---" >&2; tail -n 20 "$T/server-$mode.log" >&2; die "$mode: the run failed"; }
  if [ -n "$STATS_URL" ]; then # the server's counters (both paths together)
    python3 -c 'import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=10).read().decode())' \
      "$STATS_URL" >"$OUT/server-stats-$mode.json" || rm -f "$OUT/server-stats-$mode.json"
  fi
  results+=("$OUT/result-$mode.json")
  stop_server
done
meta_load_after=$(cut -d' ' -f1 /proc/loadavg)

# --- 5. summary ----------------------------------------------------------------------------
request_desc="tools/call echo"
[ "$METHOD" = ping ] && request_desc="ping"
server_desc="tests/e2e/oauth/bearer-server.mjs (bearer token)"
[ "$SERVER" = everything ] && server_desc="server-everything streamableHttp (no auth)"
out_desc="$OUT"
[ "${KEEP:-0}" = 1 ] || [ "$OUT" != "$T/results" ] || out_desc="$OUT (removed on exit; set KEEP=1 or OUT=dir to keep them)"
meta=$(python3 -c 'import json,sys; print(json.dumps(dict(zip(sys.argv[1::2], sys.argv[2::2]))))' \
  date "$(date -u +%Y-%m-%dT%H:%M:%SZ)" uname "$(uname -sr)" cpus "$(nproc)" \
  load_before "$meta_load_before" load_after "$meta_load_after" server "$server_desc" \
  request "$request_desc" requests "$REQUESTS" block "$BLOCK" warmup "$WARMUP" out "$out_desc")
python3 "$T/report.py" "$meta" "${results[@]}"
