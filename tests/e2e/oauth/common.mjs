// Shared pieces of the OAuth test servers (sdk-server.mjs, mock-server.mjs).
// stdout carries exactly one line (the ready line); everything else goes to stderr.
import http from 'node:http';
import fs from 'node:fs';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';

// Keep stdout clean even if a dependency logs with console.log/info/debug.
console.log = console.error;
console.info = console.error;
console.debug = console.error;

export function log(...args) {
  process.stderr.write(`[${process.argv[1]?.split('/').pop()}] ${args.join(' ')}\n`);
}

/**
 * Parses --name value / --name=value / --flag. `spec` maps name -> 'number' | 'string' | 'boolean'.
 * Unknown flags are fatal (exit 2) so a typo in a Rust test shows up at once.
 */
export function parseFlags(spec, defaults) {
  const out = { ...defaults };
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i];
    let value;
    const eq = arg.indexOf('=');
    if (eq !== -1) {
      value = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    }
    const name = arg.replace(/^--/, '');
    const kind = spec[name];
    if (!arg.startsWith('--') || !kind) {
      process.stderr.write(`unknown argument: ${argv[i]}\nflags: ${Object.keys(spec).map(k => `--${k}`).join(' ')}\n`);
      process.exit(2);
    }
    if (kind === 'boolean') {
      out[name] = value === undefined ? true : !['0', 'false', 'no'].includes(value);
      continue;
    }
    if (value === undefined) value = argv[++i];
    if (value === undefined) {
      process.stderr.write(`--${name} needs a value\n`);
      process.exit(2);
    }
    if (kind === 'number') {
      const n = Number(value);
      if (!Number.isFinite(n) || n < 0) {
        process.stderr.write(`--${name}: not a non-negative number: ${value}\n`);
        process.exit(2);
      }
      out[name] = n;
    } else {
      out[name] = value;
    }
  }
  return out;
}

/** Exit on SIGTERM/SIGINT/SIGHUP, and on stdin EOF when stdin is a pipe or socket (not /dev/null or a TTY). */
export function exitWhenTold(servers) {
  let exiting = false;
  const stop = (why) => {
    if (exiting) return;
    exiting = true;
    log(`exiting (${why})`);
    for (const s of servers) {
      s.closeAllConnections?.();
      s.close();
    }
    setTimeout(() => process.exit(0), 200).unref();
  };
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(sig, () => stop(sig));
  let st;
  try {
    st = fs.fstatSync(0);
  } catch {
    st = undefined;
  }
  if (st && (st.isFIFO() || st.isSocket())) {
    process.stdin.on('data', () => {});
    process.stdin.on('end', () => stop('stdin EOF'));
    process.stdin.on('error', () => stop('stdin error'));
    process.stdin.resume();
  }
}

/** Listens on 127.0.0.1, port 0; resolves with the server and its port. */
export function listen(handler) {
  return new Promise((resolve, reject) => {
    const server = http.createServer(handler);
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => resolve({ server, port: server.address().port }));
  });
}

export function printReadyLine(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

/** A fresh stateless MCP server with one tool, `whoami`, that returns the text "ok". */
function buildMcpServer(name) {
  const server = new McpServer({ name, version: '1.0.0' });
  server.registerTool(
    'whoami',
    { description: 'Returns "ok" when the bearer token was accepted.' },
    async () => ({ content: [{ type: 'text', text: 'ok' }] })
  );
  return server;
}

/**
 * Express handlers for a stateless Streamable HTTP MCP endpoint (a new server + transport per
 * request). `onOk` is called for each authorized POST that reaches the MCP server.
 */
export function mcpHandlers(name, { jsonResponse, onOk }) {
  const post = async (req, res) => {
    onOk();
    const server = buildMcpServer(name);
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse: jsonResponse
    });
    res.on('close', () => {
      transport.close().catch(() => {});
      server.close().catch(() => {});
    });
    try {
      await server.connect(transport);
      await transport.handleRequest(req, res, req.body);
    } catch (err) {
      log(`mcp error: ${err?.message ?? err}`);
      if (!res.headersSent) {
        res.status(500).json({ jsonrpc: '2.0', error: { code: -32603, message: 'Internal server error' }, id: null });
      }
    }
  };
  const notAllowed = (_req, res) => {
    res
      .status(405)
      .set('Allow', 'POST')
      .json({ jsonrpc: '2.0', error: { code: -32000, message: 'Method not allowed (stateless server).' }, id: null });
  };
  return { post, notAllowed };
}
