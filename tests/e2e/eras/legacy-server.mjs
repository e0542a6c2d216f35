#!/usr/bin/env node
// A legacy-era (MCP 2025-11-25) Streamable HTTP server on SDK 1.32.2 (../node_modules), for
// crux's era tests: STATEFUL sessions (Mcp-Session-Id), the standalone GET stream, DELETE.
// See ../README.md ("eras/").
//
// Flags: --auth bearer|oauth (default bearer: token from env CRUX_TEST_BEARER_TOKEN, never argv)
//        --issuer URL        (with --auth oauth: JWTs from this AS's JWKS, audience = the MCP URL)
//        --json-response     answer application/json instead of SSE
// Tools: echo {text} -> text; slow {ms} -> "done" after ms (a cancelled call is counted);
//        tools added with POST /admin/add-tool {"name":"x"} (-> notifications/tools/list_changed
//        on every session's GET stream).
// Admin (no token): GET /stats, POST /admin/add-tool, POST /admin/drop-sessions.
import { randomUUID } from 'node:crypto';
import * as z from 'zod/v4';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import {
  commonDefaults, commonFlags, countTool, exitWhenTold, listen, log, makeAuth, newStats, parseFlags,
  printReadyLine, protectedResource, readJson, record, sendJson, sleep
} from './common.mjs';

const opts = parseFlags(commonFlags, commonDefaults);
const stats = newStats();
const sessions = new Map(); // Mcp-Session-Id -> { transport, server }

function addExtraTool(server, name) {
  server.registerTool(name, { description: `Added at run time; returns "${name}".` }, async () => {
    countTool(stats, name);
    return { content: [{ type: 'text', text: name }] };
  });
}

function buildServer() {
  const server = new McpServer(
    { name: 'crux-legacy-test', version: '1.0.0' },
    { capabilities: { logging: {}, tools: { listChanged: true } } }
  );
  server.registerTool('echo', { description: 'Returns its text.', inputSchema: { text: z.string() } }, async ({ text }) => {
    countTool(stats, 'echo');
    return { content: [{ type: 'text', text }] };
  });
  server.registerTool(
    'slow',
    { description: 'Waits `ms` milliseconds, then returns "done".', inputSchema: { ms: z.number().int().min(0).max(600000) } },
    async ({ ms }, extra) => {
      countTool(stats, 'slow');
      if (await sleep(ms, extra.signal)) {
        stats.cancelled++;
        log(`slow ${ms}: cancelled`);
        return { content: [{ type: 'text', text: 'cancelled' }], isError: true };
      }
      stats.completed_slow++;
      return { content: [{ type: 'text', text: 'done' }] };
    }
  );
  for (const name of stats.extra_tools) addExtraTool(server, name);
  return server;
}

let auth;
const { server: httpServer, port } = await listen(async (req, res) => {
  try {
    await route(req, res);
  } catch (err) {
    log(`error: ${err?.stack ?? err}`);
    if (!res.headersSent) sendJson(res, 500, { jsonrpc: '2.0', error: { code: -32603, message: 'Internal server error' }, id: null });
  }
});
const base = `http://127.0.0.1:${port}`;
const mcpUrl = `${base}/mcp`;
const prmUrl = `${base}/.well-known/oauth-protected-resource/mcp`;
auth = makeAuth({ mode: opts.auth, issuer: opts.issuer, mcpUrl, prmUrl, stats });
const rpcError = (res, status, code, message) => sendJson(res, status, { jsonrpc: '2.0', error: { code, message }, id: null });

async function route(req, res) {
  const path = new URL(req.url, base).pathname;
  if (path === '/stats' && req.method === 'GET') return sendJson(res, 200, { ...stats, sessions: sessions.size });
  if (opts.auth === 'oauth' && req.method === 'GET' && path.startsWith('/.well-known/oauth-protected-resource')) {
    return sendJson(res, 200, protectedResource(mcpUrl, opts.issuer));
  }
  if (path === '/admin/add-tool' && req.method === 'POST') {
    const name = String((await readJson(req))?.name ?? `extra${stats.extra_tools.length + 1}`);
    stats.extra_tools.push(name);
    for (const { server } of sessions.values()) {
      addExtraTool(server, name); // the SDK sends notifications/tools/list_changed (GET stream)
      stats.list_changed++;
    }
    return sendJson(res, 200, { added: name, sessions: sessions.size });
  }
  if (path === '/admin/drop-sessions' && req.method === 'POST') {
    const all = [...sessions.values()];
    sessions.clear();
    for (const s of all) await s.transport.close().catch(() => {});
    return sendJson(res, 200, { dropped: all.length });
  }
  if (path !== '/mcp') return sendJson(res, 404, { error: 'not found' });

  stats.requests++;
  const body = req.method === 'POST' ? await readJson(req) : undefined;
  const verdict = await auth.check(req);
  if (!verdict.authInfo) return sendJson(res, verdict.status, verdict.body, verdict.headers);
  req.auth = verdict.authInfo;
  record(stats, req, body);

  const sid = req.headers['mcp-session-id'];
  if (req.method === 'POST' && !sid && (Array.isArray(body) ? body.some(isInitializeRequest) : isInitializeRequest(body))) {
    const mcp = buildServer();
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      enableJsonResponse: opts['json-response'],
      onsessioninitialized: (id) => {
        sessions.set(id, { transport, server: mcp });
        log(`session ${id} created`);
      }
    });
    transport.onclose = () => {
      if (transport.sessionId && sessions.get(transport.sessionId)?.transport === transport) sessions.delete(transport.sessionId);
    };
    await mcp.connect(transport);
    return transport.handleRequest(req, res, body);
  }
  if (!['GET', 'POST', 'DELETE'].includes(req.method)) return rpcError(res, 405, -32000, 'Method not allowed.');
  if (!sid) return rpcError(res, 400, -32000, 'Bad Request: No valid session ID provided');
  const session = sessions.get(sid);
  if (!session) return rpcError(res, 404, -32001, 'Session not found');
  return session.transport.handleRequest(req, res, body);
}

exitWhenTold([httpServer]);
log(`listening on ${base} (auth ${opts.auth})`);
printReadyLine({ mcp: mcpUrl, stats: `${base}/stats`, admin: `${base}/admin`, ...(opts.auth === 'oauth' ? { prm: prmUrl } : {}) });
