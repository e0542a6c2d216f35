#!/usr/bin/env python3
"""Minimal real MCP host for crux's end-to-end tests, built on the official `mcp` SDK.

Usage:
    py_client.py <path/to/.mcp.json> <server-name> <tool-name> [json-args]
    py_client.py <path/to/.mcp.json> <server-name> --list-tools
    py_client.py <path/to/.mcp.json> <server-name> --steps 'STEP;STEP;...'

Reads `mcpServers.<server-name>` (command, args, env) from the file and starts it with the
SDK's stdio client, exactly as an MCP host would: the server gets the SDK's default
environment (HOME, LOGNAME, PATH, SHELL, TERM, USER from this process) plus the entry's
`env`, and nothing else from this process's environment.

Output: the tool result's text content on stdout (each text block followed by a newline),
or the tool names one per line with --list-tools. The server's own stderr passes through to
this process's stderr.

--steps runs several steps in ONE session (one server process, one initialize), e.g.
    --steps 'list;call whoami {};sleep 3;call echo {"message":"x"}'
Steps are separated by `;` (a `;` inside a JSON argument is fine). Each step prints one JSON
line on stdout, in order:
    list                 {"step":1,"op":"list","ok":true,"tools":["whoami",...]}
    call TOOL [JSON]     {"step":2,"op":"call","tool":"whoami","ok":true,"is_error":false,"text":["ok"],
                          "notifications":[...]}   (log messages and progress seen since the
                          previous step; on other steps' lines too when there were any)
                         failure: "ok":false with "is_error":true and "text" (the tool's isError), or
                         "error" and "code" (an MCP/JSON-RPC error such as crux's -32001)
    sleep SECONDS        {"step":3,"op":"sleep","ok":true,"seconds":3.0}
    ping                 {"step":4,"op":"ping","ok":true}
A failing step does not stop the run (so a test can check that the server keeps serving);
a closed connection does: its line has "fatal":true and the exit code is 3. Exit code 4 if
any step failed, else 0.

Exit codes:
    0  success
    2  usage error, unreadable .mcp.json, missing or non-stdio entry
    3  the server could not be spawned, died, or the MCP handshake/request failed or timed out
    4  the tool reported an error (isError) or the server answered with an MCP error
       (--steps: at least one step failed)

PY_CLIENT_TIMEOUT (seconds, default 60) bounds the whole session.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any, NoReturn

import anyio
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.shared.exceptions import MCPError

CONNECTION_CLOSED = -32000  # mcp_types.jsonrpc.CONNECTION_CLOSED


class ToolError(Exception):
    """The tool (or the server, for a request) answered with an error."""


def die(code: int, msg: str) -> NoReturn:
    print(f"py_client: {msg}", file=sys.stderr)
    sys.exit(code)


def load_entry(path: str, name: str) -> StdioServerParameters:
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        die(2, f"cannot read {path}: {e}")
    servers = doc.get("mcpServers") if isinstance(doc, dict) else None
    if not isinstance(servers, dict) or name not in servers:
        die(2, f"no server named {name!r} under mcpServers in {path}")
    entry = servers[name]
    if not isinstance(entry, dict) or not isinstance(entry.get("command"), str):
        die(2, f"server {name!r} in {path} is not a stdio entry (no \"command\")")
    args = entry.get("args") or []
    env = entry.get("env") or {}
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        die(2, f"server {name!r}: \"args\" must be a list of strings")
    if not isinstance(env, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in env.items()):
        die(2, f"server {name!r}: \"env\" must be an object of strings")
    # env is merged by the SDK over get_default_environment(); nothing else is inherited.
    return StdioServerParameters(command=entry["command"], args=args, env=env)


async def run(params: StdioServerParameters, tool: str | None, arguments: dict[str, Any]) -> list[str]:
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            try:
                await session.initialize()
            except Exception as e:  # connection closed before the handshake: server did not start
                raise ConnectionError(f"initialize failed: {e}") from e
            if tool is None:
                tools = await session.list_tools()
                return [t.name for t in tools.tools]
            try:
                result = await session.call_tool(tool, arguments)
            except MCPError as e:
                if e.code == CONNECTION_CLOSED:
                    raise ConnectionError(f"connection closed during tools/call: {e}") from e
                raise ToolError(f"MCP error {e.code}: {e}") from e
            texts = [c.text for c in result.content if getattr(c, "type", None) == "text"]
            if result.is_error:
                raise ToolError("\n".join(texts) or "tool returned isError with no text")
            return texts


def split_steps(text: str) -> list[str]:
    """Splits on `;` outside JSON strings, objects and arrays."""
    steps: list[str] = []
    cur: list[str] = []
    depth = 0
    in_str = esc = False
    for ch in text:
        if in_str:
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                in_str = False
        elif ch == '"':
            in_str = True
        elif ch in "{[":
            depth += 1
        elif ch in "}]":
            depth -= 1
        elif ch == ";" and depth <= 0:
            steps.append("".join(cur).strip())
            cur = []
            continue
        cur.append(ch)
    steps.append("".join(cur).strip())
    return [s for s in steps if s]


def parse_steps(text: str) -> list[tuple[str, Any]]:
    """Validates every step before the server is started; dies with exit 2 on a bad one."""
    out: list[tuple[str, Any]] = []
    for raw in split_steps(text):
        op, _, rest = raw.partition(" ")
        rest = rest.strip()
        if op in ("list", "ping"):
            if rest:
                die(2, f"step {raw!r}: {op} takes no argument")
            out.append((op, None))
        elif op == "sleep":
            try:
                seconds = float(rest)
            except ValueError:
                die(2, f"step {raw!r}: sleep needs a number of seconds")
            if seconds < 0:
                die(2, f"step {raw!r}: negative sleep")
            out.append((op, seconds))
        elif op == "call":
            tool, _, args = rest.partition(" ")
            if not tool:
                die(2, f"step {raw!r}: call needs a tool name")
            arguments: Any = {}
            if args.strip():
                try:
                    arguments = json.loads(args)
                except ValueError as e:
                    die(2, f"step {raw!r}: arguments are not valid JSON: {e}")
                if not isinstance(arguments, dict):
                    die(2, f"step {raw!r}: arguments must be a JSON object")
            out.append((op, (tool, arguments)))
        else:
            die(2, f"unknown step {raw!r} (steps: list, call TOOL [JSON], sleep SECONDS, ping)")
    if not out:
        die(2, "--steps: no steps")
    return out


def emit(obj: dict[str, Any]) -> None:
    print(json.dumps(obj), flush=True)


async def run_steps(params: StdioServerParameters, steps: list[tuple[str, Any]]) -> bool:
    """Runs the steps in one session; prints a JSON line per step. True if every step passed."""
    notes: list[dict[str, Any]] = []

    async def on_log(p: Any) -> None:
        notes.append({"type": "log", "level": str(getattr(p, "level", "")), "data": getattr(p, "data", None)})

    all_ok = True
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write, logging_callback=on_log) as session:
            try:
                await session.initialize()
            except Exception as e:
                raise ConnectionError(f"initialize failed: {e}") from e
            for n, (op, arg) in enumerate(steps, start=1):
                line: dict[str, Any] = {"step": n, "op": op}
                if op == "sleep":
                    await anyio.sleep(arg)
                    line.update(ok=True, seconds=arg)
                    if notes:
                        line["notifications"] = list(notes)
                    notes.clear()
                    emit(line)
                    continue

                async def on_progress(progress: float, total: float | None, message: str | None) -> None:
                    notes.append({"type": "progress", "progress": progress, "total": total, "message": message})

                try:
                    if op == "list":
                        tools = await session.list_tools()
                        line.update(ok=True, tools=[t.name for t in tools.tools])
                    elif op == "ping":
                        await session.send_ping()
                        line["ok"] = True
                    else:
                        tool, arguments = arg
                        line["tool"] = tool
                        result = await session.call_tool(tool, arguments, progress_callback=on_progress)
                        texts = [c.text for c in getattr(result, "content", []) if getattr(c, "type", None) == "text"]
                        is_error = bool(getattr(result, "is_error", False))
                        line.update(ok=not is_error, is_error=is_error, text=texts)
                except MCPError as e:
                    if e.code == CONNECTION_CLOSED:
                        emit({**line, "ok": False, "fatal": True, "error": f"connection closed: {e}"})
                        raise ConnectionError(f"connection closed during step {n} ({op}): {e}") from e
                    line.update(ok=False, code=e.code, error=str(e))
                if op == "call" or notes:
                    line["notifications"] = list(notes)
                notes.clear()
                all_ok = all_ok and bool(line["ok"])
                emit(line)
    return all_ok


def leaf(exc: BaseException) -> BaseException:
    """Unwrap anyio/asyncio exception groups down to the first real error."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


def main_steps(path: str, name: str, text: str) -> int:
    steps = parse_steps(text)
    params = load_entry(path, name)
    timeout = float(os.environ.get("PY_CLIENT_TIMEOUT", "60"))

    async def bounded() -> bool:
        with anyio.fail_after(timeout):
            return await run_steps(params, steps)

    try:
        all_ok = anyio.run(bounded)
    except BaseException as raw:  # noqa: BLE001 - report every failure as one stderr line
        e = leaf(raw)
        if isinstance(e, (KeyboardInterrupt, SystemExit)):
            raise
        if isinstance(e, TimeoutError):
            die(3, f"{name}: timed out after {timeout:g}s")
        if isinstance(e, OSError) and not isinstance(e, ConnectionError):
            die(3, f"{name}: cannot start {params.command!r}: {e}")
        die(3, f"{name}: server failed: {e or type(e).__name__}")
    sys.stdout.flush()
    return 0 if all_ok else 4


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[0] in ("-h", "--help"):
        print(__doc__.strip().split("\n\n")[1], file=sys.stderr)
        return 2
    path, name, tool_arg = argv[0], argv[1], argv[2]
    if tool_arg == "--steps" or tool_arg.startswith("--steps="):
        if tool_arg == "--steps":
            if len(argv) != 4:
                die(2, "--steps takes exactly one argument: 'STEP;STEP;...'")
            text = argv[3]
        else:
            if len(argv) != 3:
                die(2, "too many arguments")
            text = tool_arg[len("--steps="):]
        return main_steps(path, name, text)
    params = load_entry(path, name)
    tool: str | None
    if tool_arg == "--list-tools":
        if len(argv) != 3:
            die(2, "--list-tools takes no further arguments")
        tool, arguments = None, {}
    else:
        tool = tool_arg
        arguments = {}
        if len(argv) > 3:
            try:
                arguments = json.loads(argv[3])
            except ValueError as e:
                die(2, f"json-args is not valid JSON: {e}")
            if not isinstance(arguments, dict):
                die(2, "json-args must be a JSON object")
        if len(argv) > 4:
            die(2, "too many arguments")

    timeout = float(os.environ.get("PY_CLIENT_TIMEOUT", "60"))

    async def bounded() -> list[str]:
        with anyio.fail_after(timeout):
            return await run(params, tool, arguments)

    try:
        lines = anyio.run(bounded)
    except BaseException as raw:  # noqa: BLE001 - report every failure as one stderr line
        e = leaf(raw)
        if isinstance(e, (KeyboardInterrupt, SystemExit)):
            raise
        if isinstance(e, ToolError):
            die(4, f"{name}: tool {tool!r} failed: {e}")
        if isinstance(e, TimeoutError):
            die(3, f"{name}: timed out after {timeout:g}s")
        if isinstance(e, OSError) and not isinstance(e, ConnectionError):
            die(3, f"{name}: cannot start {params.command!r}: {e}")
        die(3, f"{name}: server failed: {e or type(e).__name__}")
    for line in lines:
        print(line)
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
