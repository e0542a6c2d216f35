#!/usr/bin/env node
// A STATEFUL Streamable HTTP MCP server (SDK McpServer + StreamableHTTPServerTransport with
// session ids) behind a static bearer token, for crux's `--bearer` remote servers and the bridge.
// See ../README.md ("oauth/bearer-server.mjs").
//
// The expected token comes from env CRUX_TEST_BEARER_TOKEN (required, never argv, never logged).
// POST/GET/DELETE /mcp need `Authorization: Bearer <token>`; else 401 with
// `WWW-Authenticate: Bearer error="invalid_token", error_description="..."` and a JSON body.
//
// Flags: --json-response  MCP answers application/json instead of an SSE stream
//        --resumable      SSE events carry ids (the SDK's InMemoryEventStore), so a client can
//                         resume a broken stream with GET + Last-Event-ID
//
// Admin (no token needed): GET /stats, POST /admin/drop-sessions, POST /admin/notify {"data":"..."}
import { randomUUID, timingSafeEqual } from 'node:crypto';
import express from 'express';
import * as z from 'zod/v4';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { InMemoryEventStore } from '@modelcontextprotocol/sdk/examples/shared/inMemoryEventStore.js';
import { exitWhenTold, listen, log, parseFlags, printReadyLine } from './common.mjs';

const opts = parseFlags({ 'json-response': 'boolean', resumable: 'boolean' }, { 'json-response': false, resumable: false });

// Credentials a request must carry besides (or instead of) the bearer token, from env
// CRUX_TEST_EXPECT (JSON, never argv, never logged): {"query": {name: value}, "headers":
// {name: value}, "basic": "user:password"} (URL userinfo, which clients send as Basic auth).
const expect = JSON.parse(process.env.CRUX_TEST_EXPECT ?? 'null');
const expected = process.env.CRUX_TEST_BEARER_TOKEN;
if (!expected && !expect) {
  process.stderr.write('bearer-server: set CRUX_TEST_BEARER_TOKEN to the token /mcp must accept (or CRUX_TEST_EXPECT)\n');
  process.exit(2);
}
const expectedBuf = Buffer.from(expected ?? '', 'utf8');

const stats = {
  requests: 0, // every HTTP request to /mcp (any method, authorized or not)
  unauthorized: 0, // /mcp answered 401 (missing or wrong token)
  sessions_created: 0, // sessions the server issued an Mcp-Session-Id for
  deletes: 0, // authorized DELETE /mcp (any session id, known or not)
  initialize: 0, // authorized POST /mcp carrying an `initialize` request
  session_not_found: 0, // /mcp answered 404 (unknown or dropped Mcp-Session-Id)
  get_streams: 0, // authorized GET /mcp handed to a live session (standalone stream or resume)
  resumes: 0, // of those, GETs carrying Last-Event-ID
  tool_calls: 0, // tools/call requests that reached a tool
  expected_ok: 0, // /mcp requests that carried every CRUX_TEST_EXPECT credential
  expected_missing: 0, // /mcp requests that lacked one (answered 401)
  sessions: 0 // sessions alive now (filled in by GET /stats)
};

/** Per session: { transport, server }. */
const sessions = new Map();

function buildServer() {
  const server = new McpServer({ name: 'crux-bearer-test', version: '1.0.0' }, { capabilities: { logging: {} } });
  server.registerTool('whoami', { description: 'Returns "ok" when the bearer token was accepted.' }, async () => {
    stats.tool_calls++;
    return { content: [{ type: 'text', text: 'ok' }] };
  });
  server.registerTool(
    'echo',
    { description: 'Returns its message.', inputSchema: { message: z.string() } },
    async ({ message }) => {
      stats.tool_calls++;
      return { content: [{ type: 'text', text: message }] };
    }
  );
  server.registerTool(
    'slow',
    {
      description:
        'Waits `ms` milliseconds, sending a logging notification (and a progress notification when the request has a progressToken) half-way, then returns "done".',
      inputSchema: { ms: z.number().int().min(0).max(600000) }
    },
    async ({ ms }, extra) => {
      stats.tool_calls++;
      const wait = (t) =>
        new Promise((resolve) => {
          const timer = setTimeout(resolve, t);
          extra.signal.addEventListener('abort', () => {
            clearTimeout(timer);
            resolve();
          });
        });
      await wait(ms / 2);
      if (extra.signal.aborted) return { content: [{ type: 'text', text: 'cancelled' }], isError: true };
      await extra.sendNotification({
        method: 'notifications/message',
        params: { level: 'info', logger: 'slow', data: `half-way through ${ms} ms` }
      });
      const progressToken = extra._meta?.progressToken;
      if (progressToken !== undefined) {
        await extra.sendNotification({
          method: 'notifications/progress',
          params: { progressToken, progress: 1, total: 2, message: 'half-way' }
        });
      }
      await wait(ms - ms / 2);
      if (extra.signal.aborted) return { content: [{ type: 'text', text: 'cancelled' }], isError: true };
      return { content: [{ type: 'text', text: 'done' }] };
    }
  );
  return server;
}

const app = express();
app.disable('x-powered-by');
const { server: httpServer, port } = await listen(app);
const base = `http://127.0.0.1:${port}`;
const mcpUrl = `${base}/mcp`;

const rpcError = (res, status, code, message) => res.status(status).json({ jsonrpc: '2.0', error: { code, message }, id: null });

const same = (got, want) => {
  const a = Buffer.from(String(got ?? ''), 'utf8');
  const b = Buffer.from(String(want), 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
};

/** Whether a request carries every CRUX_TEST_EXPECT credential (query, headers, Basic). */
function expectOk(req) {
  if (!expect) return true;
  const query = new URL(req.originalUrl, 'http://x').searchParams;
  for (const [name, value] of Object.entries(expect.query ?? {})) {
    if (!same(query.get(name), value)) return false;
  }
  for (const [name, value] of Object.entries(expect.headers ?? {})) {
    if (!same(req.headers[name.toLowerCase()], value)) return false;
  }
  if (expect.basic !== undefined) {
    const m = /^basic (.+)$/i.exec(String(req.headers.authorization ?? ''));
    if (!m || !same(Buffer.from(m[1], 'base64').toString('utf8'), expect.basic)) return false;
  }
  return true;
}

function tokenOk(header) {
  if (expected === undefined) return true;
  const m = /^bearer (.+)$/i.exec(String(header ?? ''));
  if (!m) return false;
  const got = Buffer.from(m[1], 'utf8');
  return got.length === expectedBuf.length && timingSafeEqual(got, expectedBuf);
}

// Counting, then the bearer check (no token value is ever logged).
app.use('/mcp', (req, res, next) => {
  stats.requests++;
  res.on('finish', () => {
    if (res.statusCode === 404) stats.session_not_found++;
  });
  const carried = expectOk(req);
  if (carried) stats.expected_ok++;
  else stats.expected_missing++;
  if (carried && tokenOk(req.headers.authorization)) return next();
  stats.unauthorized++;
  const description = req.headers.authorization ? 'The bearer token is not valid' : 'Missing bearer token';
  log(`401 ${req.method} /mcp (${description.toLowerCase()})`);
  res
    .status(401)
    .set('WWW-Authenticate', `Bearer error="invalid_token", error_description="${description}"`)
    .json({ error: 'invalid_token', error_description: description });
});

/** The live session named by Mcp-Session-Id, or answers 400/404 itself and returns undefined. */
function sessionOf(req, res) {
  const sid = req.headers['mcp-session-id'];
  if (!sid) {
    rpcError(res, 400, -32000, 'Bad Request: No valid session ID provided');
    return undefined;
  }
  const session = sessions.get(sid);
  if (!session) {
    rpcError(res, 404, -32001, 'Session not found');
    return undefined;
  }
  return session;
}

const guarded = (fn) => async (req, res) => {
  try {
    await fn(req, res);
  } catch (err) {
    log(`mcp error: ${err?.message ?? err}`);
    if (!res.headersSent) rpcError(res, 500, -32603, 'Internal server error');
  }
};

app.post(
  '/mcp',
  express.json(),
  guarded(async (req, res) => {
    const body = req.body;
    const initializing = Array.isArray(body) ? body.some(isInitializeRequest) : isInitializeRequest(body);
    if (initializing) stats.initialize++;
    if (!req.headers['mcp-session-id'] && initializing) {
      const transport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        enableJsonResponse: opts['json-response'],
        eventStore: opts.resumable ? new InMemoryEventStore() : undefined,
        onsessioninitialized: (sid) => {
          stats.sessions_created++;
          sessions.set(sid, { transport, server: mcp });
          log(`session ${sid} created`);
        }
      });
      transport.onclose = () => {
        const sid = transport.sessionId;
        if (sid && sessions.get(sid)?.transport === transport) {
          sessions.delete(sid);
          log(`session ${sid} closed`);
        }
      };
      const mcp = buildServer();
      await mcp.connect(transport);
      await transport.handleRequest(req, res, body);
      return;
    }
    const session = sessionOf(req, res);
    if (session) await session.transport.handleRequest(req, res, body);
  })
);

app.get(
  '/mcp',
  guarded(async (req, res) => {
    const session = sessionOf(req, res);
    if (!session) return;
    stats.get_streams++;
    const lastEventId = req.headers['last-event-id'];
    if (lastEventId) stats.resumes++;
    log(`GET /mcp session ${req.headers['mcp-session-id']}: ${lastEventId ? `resume, Last-Event-ID ${lastEventId}` : 'standalone stream'}`);
    await session.transport.handleRequest(req, res);
  })
);

app.delete(
  '/mcp',
  guarded(async (req, res) => {
    stats.deletes++;
    const session = sessionOf(req, res);
    if (session) await session.transport.handleRequest(req, res); // closes the transport -> onclose
  })
);

app.all('/mcp', (_req, res) => {
  res.set('Allow', 'GET, POST, DELETE');
  rpcError(res, 405, -32000, 'Method not allowed.');
});

app.get('/stats', (_req, res) => {
  res.json({ ...stats, sessions: sessions.size });
});

// Forget every session (as a restarted server would): the next request with an old
// Mcp-Session-Id gets 404, and open GET/POST streams of those sessions end.
app.post('/admin/drop-sessions', async (_req, res) => {
  const all = [...sessions.values()];
  sessions.clear();
  for (const { transport, server } of all) {
    await transport.close().catch(() => {});
    await server.close().catch(() => {});
  }
  log(`dropped ${all.length} sessions`);
  res.json({ dropped: all.length });
});

// A server-initiated notifications/message (logger "admin") to every live session, not tied to
// any request: it can only travel on the session's standalone GET stream (dropped if none).
app.post('/admin/notify', express.json(), async (req, res) => {
  const data = typeof req.body?.data === 'string' ? req.body.data : 'admin notification';
  let sent = 0;
  for (const { server } of sessions.values()) {
    try {
      await server.server.notification({ method: 'notifications/message', params: { level: 'info', logger: 'admin', data } });
      sent++;
    } catch (err) {
      log(`notify failed: ${err?.message ?? err}`);
    }
  }
  res.json({ sessions: sent });
});

exitWhenTold([httpServer]);
log(`listening on ${base} (json-response ${opts['json-response']}, resumable ${opts.resumable})`);
printReadyLine({ mcp: mcpUrl, stats: `${base}/stats` });
