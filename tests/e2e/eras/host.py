#!/usr/bin/env python3
"""A modern MCP host for crux's era tests: PyPI `mcp` 2.3.0's `Client` (mode "auto": it sends
`server/discover` first and falls back to `initialize` on a legacy server) over stdio to the
entry NAME of an `.mcp.json` (crux's launcher -> `crux bridge` -> the remote server).

Usage: host.py <.mcp.json> <NAME> [--no-list-changed] [--no-cancel] [--confirm]

Steps, one JSON line each on stdout (the Rust test reads them as they come):
  {"op":"connected","protocol":"2026-07-28"|"2025-11-25",...}
  {"op":"list","tools":[...]}
  {"op":"call","text":"hello"}                            echo {"text":"hello"}
  {"op":"waiting_list_changed"}    -> the test now triggers a tools list change on the server
  {"op":"list_changed","tools":[...]}                     (modern: over subscriptions/listen;
                                                           legacy: a notification on the GET stream)
  {"op":"cancelled","after_ms":...}                       slow {"ms":10000} abandoned after 500 ms
  {"op":"confirm","text":"confirmed deploy"}              (--confirm: input_required + elicitation)
  {"op":"done"}
A failure prints {"op":..., "error": "..."} and exits 1. HOST_TIMEOUT (s, default 30) bounds
each wait. The server process gets only the SDK's default environment plus the entry's `env`.
"""

from __future__ import annotations

import json
import os
import sys
import time

import anyio
import mcp_types as types
from mcp import Client, StdioServerParameters

TIMEOUT = float(os.environ.get("HOST_TIMEOUT", "30"))


def emit(**fields: object) -> None:
    print(json.dumps(fields), flush=True)


def text_of(result: types.CallToolResult) -> str:
    return "".join(getattr(c, "text", "") for c in result.content)


async def main(path: str, name: str, flags: set[str]) -> int:
    entry = json.load(open(path))["mcpServers"][name]
    params = StdioServerParameters(command=entry["command"], args=entry.get("args", []), env=entry.get("env"))
    changed = anyio.Event()

    async def on_message(message: object) -> None:
        method = getattr(getattr(message, "root", message), "method", None)
        if method == "notifications/tools/list_changed":
            changed.set()

    async def on_elicit(_ctx: object, p: types.ElicitRequestParams) -> types.ElicitResult:
        return types.ElicitResult(action="accept", content={"confirm": True})

    step = "connect"
    try:
        client = Client(params, mode="auto", message_handler=on_message, elicitation_callback=on_elicit, cache=None, read_timeout_seconds=TIMEOUT)
        async with client:
            modern = client.protocol_version >= "2026"
            info = client.server_info
            emit(op="connected", protocol=client.protocol_version, server=info.name if info else None)
            step = "list"
            with anyio.fail_after(TIMEOUT):
                tools = [t.name for t in (await client.list_tools()).tools]
            emit(op="list", tools=tools)

            step = "call"
            with anyio.fail_after(TIMEOUT):
                result = await client.call_tool("echo", {"text": "hello"})
            emit(op="call", text=text_of(result), is_error=bool(result.is_error))

            if "--no-list-changed" not in flags:
                step = "list_changed"
                with anyio.fail_after(TIMEOUT):
                    if modern:
                        async with client.listen(tools_list_changed=True) as sub:
                            emit(op="waiting_list_changed")
                            await sub.__anext__()
                    else:
                        emit(op="waiting_list_changed")
                        await changed.wait()
                    tools = [t.name for t in (await client.list_tools()).tools]
                emit(op="list_changed", tools=tools)

            if "--no-cancel" not in flags:
                step = "cancel"
                started = time.monotonic()
                with anyio.move_on_after(0.5):
                    await client.call_tool("slow", {"ms": 10000})
                    raise RuntimeError("slow returned before it was cancelled")
                emit(op="cancelled", after_ms=round((time.monotonic() - started) * 1000))
                with anyio.fail_after(TIMEOUT):  # the session still works after a cancel
                    after = await client.call_tool("echo", {"text": "after cancel"})
                emit(op="call", text=text_of(after), is_error=bool(after.is_error))

            if "--confirm" in flags:
                step = "confirm"
                with anyio.fail_after(TIMEOUT):
                    result = await client.call_tool("confirm", {"action": "deploy"})
                emit(op="confirm", text=text_of(result), is_error=bool(result.is_error))
    except BaseException as err:  # noqa: BLE001 - report every failure as one line
        if isinstance(err, (KeyboardInterrupt, SystemExit)):
            raise
        while isinstance(err, BaseExceptionGroup) and len(err.exceptions) == 1:
            err = err.exceptions[0]
        emit(op=step, error=f"{type(err).__name__}: {err}")
        return 1
    emit(op="done")
    return 0


if __name__ == "__main__":
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(anyio.run(main, sys.argv[1], sys.argv[2], set(sys.argv[3:])))
