#!/usr/bin/env python3
"""The conformance suite's client command for the transport scenarios (initialize, tools_call,
sse-retry): a small stdio MCP client that drives `crux bridge`, as an MCP host would.

Usage (by the suite): bridge_client.py <server-url>; MCP_CONFORMANCE_SCENARIO names the
scenario; CRUX_BIN is the crux binary. It registers the URL in a throwaway CRUX_HOME, starts
`crux bridge` with the launcher's environment, and speaks newline-delimited JSON-RPC to it.
"""
import json
import os
import subprocess
import sys
import tempfile

url = sys.argv[-1]
scenario = os.environ.get("MCP_CONFORMANCE_SCENARIO", "")
crux = os.environ["CRUX_BIN"]

with tempfile.TemporaryDirectory() as home:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": home,
        "CRUX_HOME": os.path.join(home, "crux"),
        "CRUX_BACKEND": "age",
    }
    subprocess.run([crux, "mcp", "add", "conf", "--url", url], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    bridge = subprocess.Popen(
        [crux, "bridge"],
        env={**env, "CRUX_MCP_NAME": "conf", "CRUX_BRIDGE_URL": url},
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    next_id = 0

    def send(message):
        bridge.stdin.write(json.dumps(message) + "\n")
        bridge.stdin.flush()

    def request(method, params):
        global next_id
        next_id += 1
        send({"jsonrpc": "2.0", "id": next_id, "method": method, "params": params})
        for line in bridge.stdout:
            message = json.loads(line)
            if message.get("id") == next_id and "method" not in message:
                if "error" in message:
                    sys.exit(f"{method} failed: {message['error']}")
                return message["result"]
        sys.exit(f"the bridge closed before answering {method}")

    request("initialize", {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "crux-conformance-client", "version": "1.0.0"},
    })
    send({"jsonrpc": "2.0", "method": "notifications/initialized"})
    if scenario == "tools_call":
        tools = request("tools/list", {})["tools"]
        assert any(t["name"] == "add_numbers" for t in tools), tools
        result = request("tools/call", {"name": "add_numbers", "arguments": {"a": 2, "b": 3}})
        assert "5" in json.dumps(result), result
    elif scenario == "sse-retry":
        request("tools/list", {})
        result = request("tools/call", {"name": "test_reconnection", "arguments": {}})
        assert "content" in result, result
    bridge.stdin.close()
    sys.exit(bridge.wait())
