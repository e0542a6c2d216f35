#!/usr/bin/env node
// A modern-only (MCP 2026-07-28) Streamable HTTP server on the TypeScript SDK 2.x
// (`@modelcontextprotocol/server`, ./node_modules), for crux's era tests. Stateless: the SDK's
// `createMcpHandler(factory, { legacy: 'reject' })` serves `server/discover`, checks `_meta` and the
// MCP-Protocol-Version / Mcp-Method / Mcp-Name headers, streams `subscriptions/listen`, and answers
// a legacy `initialize` with the unsupported-protocol-version error. See ../README.md ("eras/").
//
// Flags: --auth bearer|oauth (default bearer: token from env CRUX_TEST_BEARER_TOKEN, never argv)
//        --issuer URL        (with --auth oauth: JWTs from this AS's JWKS, audience = the MCP URL)
//        --json-response     never stream a call's answer (responseMode 'json')
// Tools: echo {text}; slow {ms} (a cancelled call - the client closed the HTTP request - is
//        counted); confirm {action}: answers input_required with an elicitation (MRTR) until the
//        retry carries inputResponses.confirm accepted with {"confirm": true}; tools added with
//        POST /admin/add-tool {"name":"x"} (-> notifications/tools/list_changed on every open
//        subscriptions/listen stream).
// Admin (no token): GET /stats, POST /admin/add-tool.
import { Readable } from 'node:stream';
import * as z from 'zod/v4';
import { acceptedContent, createMcpHandler, inputRequired, McpServer } from '@modelcontextprotocol/server';
import {
  commonDefaults, commonFlags, countTool, exitWhenTold, listen, log, makeAuth, newStats, parseFlags,
  printReadyLine, protectedResource, readJson, record, sendJson, sleep
} from './common.mjs';

const opts = parseFlags(commonFlags, commonDefaults);
const stats = { ...newStats(), discover: 0, listen_streams: 0, input_required: 0, legacy_rejected: 0 };

function buildServer() {
  const server = new McpServer({ name: 'crux-modern-test', version: '1.0.0' }, { capabilities: { tools: { listChanged: true } } });
  server.registerTool('echo', { description: 'Returns its text.', inputSchema: z.object({ text: z.string() }) }, async ({ text }) => {
    countTool(stats, 'echo');
    return { content: [{ type: 'text', text }] };
  });
  server.registerTool(
    'slow',
    { description: 'Waits `ms` milliseconds, then returns "done".', inputSchema: z.object({ ms: z.number().int().min(0).max(600000) }) },
    async ({ ms }, ctx) => {
      countTool(stats, 'slow');
      if (await sleep(ms, ctx.mcpReq.signal)) {
        stats.cancelled++;
        log(`slow ${ms}: cancelled`);
        return { content: [{ type: 'text', text: 'cancelled' }], isError: true };
      }
      stats.completed_slow++;
      return { content: [{ type: 'text', text: 'done' }] };
    }
  );
  server.registerTool(
    'confirm',
    { description: 'Asks the user to confirm `action` (input_required + elicitation), then returns "confirmed <action>".', inputSchema: z.object({ action: z.string() }) },
    async ({ action }, ctx) => {
      countTool(stats, 'confirm');
      const answer = acceptedContent(ctx.mcpReq.inputResponses, 'confirm');
      if (answer?.confirm !== true) {
        stats.input_required++;
        return inputRequired({
          inputRequests: {
            confirm: inputRequired.elicit({
              message: `Really ${action}?`,
              requestedSchema: { type: 'object', properties: { confirm: { type: 'boolean' } }, required: ['confirm'] }
            })
          }
        });
      }
      return { content: [{ type: 'text', text: `confirmed ${action}` }] };
    }
  );
  for (const name of stats.extra_tools) {
    server.registerTool(name, { description: `Added at run time; returns "${name}".` }, async () => {
      countTool(stats, name);
      return { content: [{ type: 'text', text: name }] };
    });
  }
  return server;
}

const handler = createMcpHandler(buildServer, {
  legacy: 'reject',
  responseMode: opts['json-response'] ? 'json' : 'auto',
  onerror: (err) => log(`handler: ${err?.message ?? err}`)
});

let auth;
const { server: httpServer, port } = await listen(async (req, res) => {
  try {
    await route(req, res);
  } catch (err) {
    log(`error: ${err?.stack ?? err}`);
    if (!res.headersSent) sendJson(res, 500, { jsonrpc: '2.0', error: { code: -32603, message: 'Internal server error' }, id: null });
    else res.destroy();
  }
});
const base = `http://127.0.0.1:${port}`;
const mcpUrl = `${base}/mcp`;
const prmUrl = `${base}/.well-known/oauth-protected-resource/mcp`;
auth = makeAuth({ mode: opts.auth, issuer: opts.issuer, mcpUrl, prmUrl, stats });

async function route(req, res) {
  const path = new URL(req.url, base).pathname;
  if (path === '/stats' && req.method === 'GET') return sendJson(res, 200, stats);
  if (opts.auth === 'oauth' && req.method === 'GET' && path.startsWith('/.well-known/oauth-protected-resource')) {
    return sendJson(res, 200, protectedResource(mcpUrl, opts.issuer));
  }
  if (path === '/admin/add-tool' && req.method === 'POST') {
    const name = String((await readJson(req))?.name ?? `extra${stats.extra_tools.length + 1}`);
    stats.extra_tools.push(name); // later requests' fresh instances list it
    handler.notify.toolsChanged(); // -> every open subscriptions/listen stream
    stats.list_changed++;
    return sendJson(res, 200, { added: name });
  }
  if (path !== '/mcp') return sendJson(res, 404, { error: 'not found' });

  stats.requests++;
  const body = req.method === 'POST' ? await readJson(req) : undefined;
  const verdict = await auth.check(req);
  if (!verdict.authInfo) return sendJson(res, verdict.status, verdict.body, verdict.headers);
  record(stats, req, body);
  const method = body?.method;
  if (method === 'server/discover') stats.discover++;
  if (method === 'subscriptions/listen') stats.listen_streams++;

  // node:http -> web Request; the request's signal aborts when the client goes away, which is
  // how a 2026-07-28 client cancels a call (the SDK aborts ctx.mcpReq.signal).
  const gone = new AbortController();
  res.on('close', () => gone.abort());
  const headers = new Headers();
  for (const [k, v] of Object.entries(req.headers)) headers.set(k, Array.isArray(v) ? v.join(', ') : String(v));
  const request = new Request(new URL(req.url, base), {
    method: req.method,
    headers,
    body: req.method === 'POST' && body !== undefined ? JSON.stringify(body) : undefined,
    signal: gone.signal
  });
  const response = await handler.fetch(request, { authInfo: verdict.authInfo, parsedBody: body });
  if (method === 'initialize' && response.status >= 400) stats.legacy_rejected++;
  res.writeHead(response.status, Object.fromEntries(response.headers));
  if (!response.body) return res.end();
  Readable.fromWeb(response.body).on('error', () => res.destroy()).pipe(res);
}

exitWhenTold([httpServer]);
log(`listening on ${base} (auth ${opts.auth})`);
printReadyLine({ mcp: mcpUrl, stats: `${base}/stats`, admin: `${base}/admin`, ...(opts.auth === 'oauth' ? { prm: prmUrl } : {}) });
