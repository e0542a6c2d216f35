#!/usr/bin/env python3
"""The conformance suite's client command: translates MCP_CONFORMANCE_CONTEXT into
`crux mcp probe` flags and execs crux (so the suite's timeout reaches it).

Usage (by the suite): client.py <server-url>. The crux binary comes from CRUX_BIN.
Secrets from the context reach crux on standard input, never in argv.
"""
import json
import os
import sys

url = sys.argv[-1]
scenario = os.environ.get("MCP_CONFORMANCE_SCENARIO", "")
context = json.loads(os.environ.get("MCP_CONFORMANCE_CONTEXT") or "{}")
argv = [os.environ["CRUX_BIN"], "mcp", "probe", url]
# Used only where the authorization server advertises client ID metadata documents.
argv += ["--client-metadata-url", "https://conformance-test.local/client-metadata.json"]
stdin_text = None
if "client_id" in context:
    argv += ["--client-id", context["client_id"]]
if scenario.startswith("auth/client-credentials"):
    argv += ["--grant", "client-credentials"]
if "private_key_pem" in context:
    argv += ["--auth-method", "private_key_jwt", "--private-key-stdin"]
    stdin_text = context["private_key_pem"]
elif "client_secret" in context:
    argv += ["--client-secret-stdin"]
    stdin_text = context["client_secret"]
if scenario.startswith("auth/") and not scenario.startswith("auth/client-credentials"):
    # Step-up scenarios only challenge a tool call.
    argv += ["--call", "test-tool"]
if stdin_text is not None:
    r, w = os.pipe()
    os.write(w, stdin_text.encode())
    os.close(w)
    os.dup2(r, 0)
    os.close(r)
# The authorization endpoints of the suite redirect at once: "the browser" just follows
# the redirect to crux's loopback listener.
os.environ["CRUX_BROWSER"] = "curl -fsS -o /dev/null -L --max-time 20"
os.environ["CRUX_OAUTH_TIMEOUT"] = "25"
os.execv(argv[0], argv)
