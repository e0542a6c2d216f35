#!/usr/bin/env node
// A tiny MCP stdio server for hosts whose list commands only connect (claude mcp list,
// gemini mcp list): at start it writes its whole environment as JSON to the file named by its
// first argument (written to a temp name, then renamed, so a reader never sees half of it), then
// answers initialize, tools/list (one tool, `env-names`), ping and unknown methods over
// newline-delimited JSON-RPC. No dependencies. Exits on stdin EOF.
import { writeFileSync, renameSync } from "node:fs";
import { createInterface } from "node:readline";

const out = process.argv[2];
if (!out) {
  process.stderr.write("usage: env-server.mjs DUMP_FILE\n");
  process.exit(2);
}
writeFileSync(`${out}.tmp`, JSON.stringify(process.env, null, 2), { mode: 0o600 });
renameSync(`${out}.tmp`, out);

const send = (msg) => process.stdout.write(JSON.stringify({ jsonrpc: "2.0", ...msg }) + "\n");
const tool = {
  name: "env-names",
  description: "The names of this server's environment variables",
  inputSchema: { type: "object", properties: {} },
};

createInterface({ input: process.stdin }).on("line", (line) => {
  let req;
  try {
    req = JSON.parse(line);
  } catch {
    return;
  }
  if (req.id === undefined || req.id === null) return; // a notification
  switch (req.method) {
    case "initialize":
      send({
        id: req.id,
        result: {
          protocolVersion: req.params?.protocolVersion ?? "2025-06-18",
          capabilities: { tools: {} },
          serverInfo: { name: "crux-env-server", version: "1.0.0" },
        },
      });
      break;
    case "tools/list":
      send({ id: req.id, result: { tools: [tool] } });
      break;
    case "tools/call":
      send({
        id: req.id,
        result: { content: [{ type: "text", text: Object.keys(process.env).sort().join("\n") }] },
      });
      break;
    case "ping":
      send({ id: req.id, result: {} });
      break;
    default:
      send({ id: req.id, error: { code: -32601, message: `Method not found: ${req.method}` } });
  }
}).on("close", () => process.exit(0));
