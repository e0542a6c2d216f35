// Shared pieces of the era servers (legacy-server.mjs: MCP 2025-11-25 on SDK 1.32.2;
// modern-server.mjs: MCP 2026-07-28 on SDK 2.x): the auth check, the counters behind
// GET /stats, the request-body reader and the plain node:http plumbing. See ../README.md
// ("eras/"). stdout carries exactly one line (the ready line); logs go to stderr.
import { timingSafeEqual } from 'node:crypto';
import { createRemoteJWKSet, jwtVerify } from 'jose';

export { exitWhenTold, listen, log, parseFlags, printReadyLine } from '../oauth/common.mjs';

/** Counters a Rust test reads with GET /stats (see ../README.md for each field). */
export function newStats() {
  return {
    requests: 0, // every HTTP request to /mcp
    unauthorized: 0, // /mcp answered 401
    http_methods: {}, // GET/POST/DELETE -> count (authorized)
    methods: {}, // JSON-RPC method -> count (authorized POSTs; notifications too)
    headers: { 'mcp-method': {}, 'mcp-name': {}, 'mcp-protocol-version': {} }, // header value -> count
    session_ids: [], // distinct Mcp-Session-Id values seen on requests
    tool_calls: {}, // tool name -> calls that reached the tool
    cancelled: 0, // `slow` calls whose signal fired before they finished
    completed_slow: 0, // `slow` calls that ran to the end
    list_changed: 0, // tools list-changed notifications sent (legacy: per session; modern: per publish)
    extra_tools: [], // tools added with POST /admin/add-tool
    last_auth: null // { client_id, sub, aud, scope } of the last accepted OAuth token (no values)
  };
}

const bump = (obj, key) => {
  obj[key] = (obj[key] ?? 0) + 1;
};

/** Records what an authorized /mcp request carried. `body` is the parsed JSON (or undefined). */
export function record(stats, req, body) {
  bump(stats.http_methods, req.method);
  for (const name of Object.keys(stats.headers)) {
    const v = req.headers[name];
    if (v !== undefined) bump(stats.headers[name], String(v));
  }
  const sid = req.headers['mcp-session-id'];
  if (sid && !stats.session_ids.includes(sid)) stats.session_ids.push(String(sid));
  for (const msg of Array.isArray(body) ? body : body ? [body] : []) {
    if (msg && typeof msg.method === 'string') bump(stats.methods, msg.method);
  }
}

export const countTool = (stats, name) => bump(stats.tool_calls, name);

/** Reads the whole request body; resolves with the parsed JSON, or undefined (empty / not JSON). */
export function readJson(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('error', reject);
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      if (!text) return resolve(undefined);
      try {
        resolve(JSON.parse(text));
      } catch {
        resolve(undefined);
      }
    });
  });
}

/** Waits `ms`, or less when `signal` aborts; resolves with true when aborted. */
export function sleep(ms, signal) {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(true);
    const timer = setTimeout(() => resolve(false), ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/**
 * The auth check in front of /mcp. `mode` is `bearer` (exactly `Authorization: Bearer
 * $CRUX_TEST_BEARER_TOKEN`) or `oauth` (an RS256/ES256 JWT from `issuer`'s JWKS, audience = the
 * MCP URL, not expired). `check(req)` resolves with `{ authInfo }` or `{ status, headers, body }`.
 */
export function makeAuth({ mode, issuer, mcpUrl, prmUrl, stats }) {
  if (mode === 'bearer') {
    const expected = process.env.CRUX_TEST_BEARER_TOKEN;
    if (!expected) {
      process.stderr.write('set CRUX_TEST_BEARER_TOKEN to the token /mcp must accept (--auth bearer)\n');
      process.exit(2);
    }
    const want = Buffer.from(expected, 'utf8');
    return {
      async check(req) {
        const m = /^bearer (.+)$/i.exec(String(req.headers.authorization ?? ''));
        const got = m ? Buffer.from(m[1], 'utf8') : Buffer.alloc(0);
        if (got.length === want.length && timingSafeEqual(got, want)) {
          return { authInfo: { token: m[1], clientId: 'bearer', scopes: [] } };
        }
        const description = m ? 'The bearer token is not valid' : 'Missing bearer token';
        stats.unauthorized++;
        return {
          status: 401,
          headers: { 'www-authenticate': `Bearer error="invalid_token", error_description="${description}"` },
          body: { error: 'invalid_token', error_description: description }
        };
      }
    };
  }
  if (mode !== 'oauth') {
    process.stderr.write(`--auth must be bearer or oauth, not ${mode}\n`);
    process.exit(2);
  }
  if (!issuer) {
    process.stderr.write('--auth oauth needs --issuer URL (the authorization server)\n');
    process.exit(2);
  }
  let jwks;
  const keys = async () => {
    if (!jwks) {
      const base = issuer.replace(/\/$/, '');
      const res = await fetch(`${base}/.well-known/openid-configuration`);
      if (!res.ok) throw new Error(`discovery at ${base}: HTTP ${res.status}`);
      // no cooldown: a restarted provider has new keys, fetch them at once
      jwks = createRemoteJWKSet(new URL((await res.json()).jwks_uri), { cooldownDuration: 0 });
    }
    return jwks;
  };
  const challenge = (error, description) => {
    stats.unauthorized++;
    const parts = [`resource_metadata="${prmUrl}"`];
    if (error) parts.unshift(`error="${error}"`, `error_description="${description}"`);
    return {
      status: 401,
      headers: { 'www-authenticate': `Bearer ${parts.join(', ')}` },
      body: { error: error ?? 'invalid_token', error_description: description ?? 'Missing bearer token' }
    };
  };
  return {
    async check(req) {
      const m = /^bearer (.+)$/i.exec(String(req.headers.authorization ?? ''));
      if (!m) return challenge(undefined, undefined);
      try {
        const { payload } = await jwtVerify(m[1], await keys(), { issuer, audience: mcpUrl });
        stats.last_auth = { client_id: payload.client_id ?? null, sub: payload.sub ?? null, aud: payload.aud, scope: payload.scope ?? null };
        return {
          authInfo: { token: m[1], clientId: String(payload.client_id ?? ''), scopes: String(payload.scope ?? '').split(' ').filter(Boolean), expiresAt: payload.exp }
        };
      } catch (err) {
        return challenge('invalid_token', String(err?.code ?? err?.message ?? 'invalid token').replace(/"/g, "'"));
      }
    }
  };
}

/** RFC 9728 document for `mcpUrl`, naming `issuer` (only with --auth oauth). */
export const protectedResource = (mcpUrl, issuer) => ({
  resource: mcpUrl,
  authorization_servers: [issuer],
  bearer_methods_supported: ['header'],
  scopes_supported: ['mcp'] // offline_access is the AS's (its metadata lists it), not the resource's
});

export function sendJson(res, status, obj, headers = {}) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(obj));
}

/** Flags both servers take; `extra` adds a server's own. */
export const commonFlags = { auth: 'string', issuer: 'string', 'json-response': 'boolean' };
export const commonDefaults = { auth: 'bearer', issuer: '', 'json-response': false };
