#!/usr/bin/env python3
"""The host side of scripts/bench-start.sh: spawns each server command as an MCP host does
(a stripped environment plus the entry's env), sends `initialize`, and times spawn -> answer.

Prints one table row per case (median, p90, min over the rounds), then the two comparisons the
issue names: crux / npx-latest and crux - node.
"""

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import time

INITIALIZE = (
    json.dumps(
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "bench-start", "version": "1"},
            },
        }
    )
    + "\n"
).encode()


def host_env(extra):
    env = {k: os.environ[k] for k in ("HOME", "PATH", "USER", "LOGNAME", "SHELL", "TERM") if k in os.environ}
    env.update(extra)
    return env


def start_to_initialize(argv, env, cwd):
    """Seconds from spawn to the answer to initialize."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, cwd=cwd
    )
    try:
        proc.stdin.write(INITIALIZE)
        proc.stdin.flush()
        for line in proc.stdout:
            try:
                message = json.loads(line)
            except ValueError:
                continue
            if message.get("id") == 1:
                if "result" not in message:
                    sys.exit(f"bench-start: {argv[0]} answered initialize with an error: {message}")
                return time.perf_counter() - started
        sys.exit(f"bench-start: {' '.join(argv)} exited before answering initialize")
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--rounds", type=int, default=20)
    p.add_argument("--launch-rounds", type=int, default=200)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--cwd", required=True)
    p.add_argument("--mcp-json", required=True)
    p.add_argument("--package", required=True)
    p.add_argument("--version", required=True)
    a = p.parse_args()

    entry = json.load(open(a.mcp_json))["mcpServers"]["everything"]
    installed = entry["args"]  # [node, CRUX_HOME/mcps/everything/.../index.js]
    cases = [
        ("npx-latest", ["npx", "-y", a.package], {}),
        ("npx-pinned", ["npx", "-y", f"{a.package}@{a.version}"], {}),
        ("crux", [entry["command"], *entry["args"]], entry["env"]),
        ("node", installed, {}),
    ]
    samples = {name: [] for name, _, _ in cases}
    total = a.warmup + max(a.rounds, a.launch_rounds)
    for round_ in range(total):
        for name, argv, extra in cases:
            # npx takes a second a start: its cases get fewer rounds than crux and node,
            # whose difference is small next to how much a start varies on a busy machine.
            wanted = a.rounds if name.startswith("npx") else a.launch_rounds
            if round_ >= a.warmup + wanted:
                continue
            seconds = start_to_initialize(argv, host_env(extra), a.cwd)
            if round_ >= a.warmup:
                samples[name].append(seconds * 1000)
        print(f"round {round_ + 1}/{total}", file=sys.stderr, end="\r")
    print(file=sys.stderr)

    print(f"spawn -> initialize answered (ms): npx {a.rounds} rounds, crux and node {a.launch_rounds}")
    print(f"{'case':<12} {'median':>9} {'p90':>9} {'min':>9}")
    for name, _, _ in cases:
        s = sorted(samples[name])
        p90 = s[min(len(s) - 1, int(len(s) * 0.9))]
        print(f"{name:<12} {statistics.median(s):>9.1f} {p90:>9.1f} {s[0]:>9.1f}")
    med = {name: statistics.median(v) for name, v in samples.items()}
    # A start takes hundreds of milliseconds and the machine's load moves it by tens: the
    # launcher's cost is best read from the per-round difference of crux and node, measured
    # back to back.
    paired = statistics.median(c - n for c, n in zip(samples["crux"], samples["node"]))
    print(f"crux / npx-latest: {med['crux'] / med['npx-latest']:.2f} (target <= 0.5)")
    print(f"crux - node:       {paired:+.1f} ms, median of the per-round differences (target <= 10 ms)")
    print(f"                   ({med['crux'] - med['node']:+.1f} ms between the medians)")


if __name__ == "__main__":
    main()
