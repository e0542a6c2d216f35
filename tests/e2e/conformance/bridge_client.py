#!/usr/bin/env python3
"""The conformance suite's client command for the scenarios crux runs through `crux bridge`:
a small stdio MCP host that drives the bridge as a real host would.

Usage (by the suite): bridge_client.py <server-url>. MCP_CONFORMANCE_SCENARIO names the
scenario, MCP_CONFORMANCE_CONTEXT may carry its inputs, CRUX_BIN is the crux binary.
HOST_ERA=legacy (default) speaks MCP 2025-11-25 to the bridge (initialize first), as Codex and
Gemini CLI do; HOST_ERA=modern speaks 2026-07-28 (server/discover first, `_meta` on every
request, falling back to initialize on a non-modern error), as Claude Code and mcp 2.x do.

It registers the URL in a throwaway CRUX_HOME, starts `crux bridge` with the launcher's
environment, and speaks newline-delimited JSON-RPC to it. Any failure exits non-zero.
"""
import json
import os
import subprocess
import sys
import tempfile

url = sys.argv[-1]
scenario = os.environ.get("MCP_CONFORMANCE_SCENARIO", "")
context = json.loads(os.environ.get("MCP_CONFORMANCE_CONTEXT") or "{}")
crux = os.environ["CRUX_BIN"]
modern = os.environ.get("HOST_ERA", "legacy") == "modern"
MODERN = "2026-07-28"
CAPS = {"elicitation": {}, "roots": {}, "sampling": {}}
INFO = {"name": "crux-conformance-host", "version": "1.0.0"}


class Host:
    def __init__(self, bridge):
        self.bridge = bridge
        self.next_id = 0
        self.version = MODERN
        self.era = "modern" if modern else "legacy"
        self.notifications = []

    def send(self, message):
        self.bridge.stdin.write(json.dumps(message) + "\n")
        self.bridge.stdin.flush()

    def meta(self, params):
        if self.era != "modern":
            return params
        params = dict(params)
        params["_meta"] = {
            "io.modelcontextprotocol/protocolVersion": self.version,
            "io.modelcontextprotocol/clientCapabilities": CAPS,
            "io.modelcontextprotocol/clientInfo": INFO,
        }
        return params

    def answer_server(self, message):
        """A request the bridge relays from the server (legacy host only): elicitation,
        sampling, roots."""
        method = message["method"]
        if method == "elicitation/create":
            result = {"action": "accept", "content": {"confirmed": True}}
        elif method == "roots/list":
            result = {"roots": [{"uri": "file:///tmp", "name": "tmp"}]}
        elif method == "sampling/createMessage":
            result = {"role": "assistant", "model": "test",
                      "content": {"type": "text", "text": "Paris"}}
        else:
            self.send({"jsonrpc": "2.0", "id": message["id"],
                       "error": {"code": -32601, "message": "unknown"}})
            return
        self.send({"jsonrpc": "2.0", "id": message["id"], "result": result})

    def raw(self, method, params, fail=True):
        self.next_id += 1
        my_id = self.next_id
        self.send({"jsonrpc": "2.0", "id": my_id, "method": method, "params": self.meta(params)})
        for line in self.bridge.stdout:
            message = json.loads(line)
            if "method" in message:
                if "id" in message:
                    self.answer_server(message)
                else:
                    self.notifications.append(message)
                continue
            if message.get("id") == my_id:
                if "error" in message and fail:
                    sys.exit(f"{method} failed: {message['error']}")
                return message
        sys.exit(f"the bridge closed before answering {method}")

    def request(self, method, params=None):
        params = params or {}
        message = self.raw(method, params, fail=False)
        error = message.get("error")
        if error and error.get("code") == -32022 and self.era == "modern":
            supported = error.get("data", {}).get("supported", [])
            if MODERN not in supported:
                sys.exit(f"no common version: {supported}")
            self.version = MODERN
            message = self.raw(method, params, fail=False)
            error = message.get("error")
        if error:
            sys.exit(f"{method} failed: {error}")
        return message["result"]

    def start(self):
        if self.era == "modern":
            message = self.raw("server/discover", {}, fail=False)
            error = message.get("error")
            if error and error.get("code") == -32022:
                message = self.raw("server/discover", {}, fail=False)
                error = message.get("error")
            if not error:
                return message["result"]
            if error.get("code") in (-32020, -32021, -32022):
                sys.exit(f"server/discover failed: {error}")
            # Not a modern error: a legacy server. Fall back to initialize.
            self.era = "legacy"
        result = self.request("initialize", {
            "protocolVersion": "2025-11-25",
            "capabilities": CAPS,
            "clientInfo": INFO,
        })
        self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        return result

    def mrtr_call(self, name):
        """A tools/call that may answer input_required (a modern host does the rounds)."""
        result = self.request("tools/call", {"name": name, "arguments": {}})
        if result.get("resultType") != "input_required":
            return result
        responses = {}
        for key, req in (result.get("inputRequests") or {}).items():
            if req["method"] == "elicitation/create":
                responses[key] = {"action": "accept", "content": {"confirmed": True}}
        params = {"name": name, "arguments": {}, "inputResponses": responses}
        if "requestState" in result:
            params["requestState"] = result["requestState"]
        if name == "test_mrtr_echo_state":
            self.request("tools/call", {"name": "test_mrtr_unrelated", "arguments": {}})
        return self.request("tools/call", params)


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
    host = Host(bridge)
    host.start()
    if scenario in ("initialize", "tools_call"):
        tools = host.request("tools/list")["tools"]
        if tools:
            result = host.request("tools/call", {"name": tools[0]["name"],
                                                 "arguments": {"a": 2, "b": 3}})
            if scenario == "tools_call":
                assert "5" in json.dumps(result), result
    elif scenario == "sse-retry":
        host.request("tools/list")
        result = host.request("tools/call", {"name": "test_reconnection", "arguments": {}})
        assert "content" in result, result
    elif scenario == "http-standard-headers":
        for tool in host.request("tools/list")["tools"]:
            host.request("tools/call", {"name": tool["name"], "arguments": {}})
        for resource in host.request("resources/list").get("resources", []):
            host.request("resources/read", {"uri": resource["uri"]})
        for prompt in host.request("prompts/list").get("prompts", []):
            host.request("prompts/get", {"name": prompt["name"], "arguments": {}})
    elif scenario == "http-custom-headers":
        host.request("tools/list")
        for call in context.get("toolCalls", []):
            host.request("tools/call", call)
    elif scenario == "http-invalid-tool-headers":
        tools = host.request("tools/list")["tools"]
        names = [t["name"] for t in tools]
        assert names == ["valid_tool"], f"the bridge kept invalid tools: {names}"
        for name in names:
            host.request("tools/call", {"name": name, "arguments": {"region": "us-west1"}})
    elif scenario == "json-schema-ref-no-deref":
        host.request("tools/list")
    elif scenario == "sep-2322-client-request-state":
        host.request("tools/list")
        if host.era == "modern":
            host.mrtr_call("test_mrtr_echo_state")
            host.mrtr_call("test_mrtr_no_state")
            host.request("tools/call", {"name": "test_mrtr_no_result_type", "arguments": {}})
        else:
            # The bridge does the rounds: the host only answers the elicitations.
            host.request("tools/call", {"name": "test_mrtr_echo_state", "arguments": {}})
            host.request("tools/call", {"name": "test_mrtr_unrelated", "arguments": {}})
            host.request("tools/call", {"name": "test_mrtr_no_state", "arguments": {}})
            host.request("tools/call", {"name": "test_mrtr_no_result_type", "arguments": {}})
    elif scenario == "request-metadata":
        host.request("tools/list")
    else:
        sys.exit(f"bridge_client.py does not know scenario {scenario}")
    bridge.stdin.close()
    sys.exit(bridge.wait())
