#!/usr/bin/env node
// An authorization server from oauth2-mock-server (OIDC discovery, JWT access tokens, no dynamic
// registration: any client_id works, no secret needed) plus, on a second port, an MCP Streamable
// HTTP endpoint that verifies those JWTs against the mock's JWKS and serves RFC 9728 metadata.
// The mock is made stricter through its hooks: authorization codes are one-time and must have
// been issued by /authorize (with their PKCE verifier), refresh tokens rotate and a used, revoked
// or unknown one gets 400 invalid_grant, revocation (RFC 7009) is tracked. See ../README.md.
//
// Flags: --expires-in N      access-token lifetime in seconds (default 3600)
//        --rfc8414           also serve /.well-known/oauth-authorization-server (same document as
//                            /.well-known/openid-configuration); default: OIDC discovery only
//        --require-audience  /mcp accepts only tokens whose `aud` is the MCP URL (a token gets
//                            aud = the `resource` of its token request); default: an absent aud is fine
//        --json-response     MCP answers application/json instead of an SSE stream
import express from 'express';
import { OAuth2Issuer, OAuth2Service } from 'oauth2-mock-server';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { requireBearerAuth } from '@modelcontextprotocol/sdk/server/auth/middleware/bearerAuth.js';
import { InvalidTokenError } from '@modelcontextprotocol/sdk/server/auth/errors.js';
import { exitWhenTold, listen, log, mcpHandlers, parseFlags, printReadyLine } from './common.mjs';

const opts = parseFlags(
  { 'expires-in': 'number', rfc8414: 'boolean', 'require-audience': 'boolean', 'json-response': 'boolean' },
  { 'expires-in': 3600, rfc8414: false, 'require-audience': false, 'json-response': false }
);

const stats = {
  token_requests: 0, // every POST /token on the authorization server
  token_errors: 0, // POST /token answered with status >= 400
  authorization_code_requests: 0, // authorization_code grants that reached the mock's response hook
  refresh_requests: 0, // refresh_token grants that reached the mock's response hook
  rejected_refresh: 0, // refresh grants answered invalid_grant (used, revoked, unknown, other client)
  rejected_code: 0, // code grants answered invalid_grant (unknown/used code, missing verifier, ...)
  registrations: 0, // always 0: the mock has no dynamic registration
  revocations: 0, // POST /revoke
  authorize_requests: 0, // GET /authorize that redirected with a code
  mcp_requests_ok: 0, // POST /mcp that passed bearer auth
  mcp_requests_unauthorized: 0, // /mcp answered 401/403
  last_resource: null // `resource` of the last token request (falls back to its authorize request's)
};

// ---- authorization server (oauth2-mock-server behind a small wrapper) ----

const issuer = new OAuth2Issuer();
await issuer.keys.generate('RS256');
const service = new OAuth2Service(issuer);
const mockApp = service.requestHandler;

const codes = new Map(); // code -> { clientId, redirectUri, challenge, scope, resource, used }
const refreshTokens = new Map(); // token -> { clientId, scope, resource, grantId, state: 'active'|'used'|'revoked' }
const accessTokens = new Map(); // token (JWT) -> { grantId, revoked, expiredByAdmin }
let grantSeq = 0;

function clientIdOf(req) {
  const h = req.headers.authorization;
  if (h && /^basic /i.test(h)) {
    const decoded = Buffer.from(h.slice(6).trim(), 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    return decodeURIComponent(i === -1 ? decoded : decoded.slice(0, i));
  }
  return req.body?.client_id;
}

function readForm(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const type = String(req.headers['content-type'] ?? '');
      try {
        resolve(type.includes('json') ? JSON.parse(text || '{}') : Object.fromEntries(new URLSearchParams(text)));
      } catch {
        resolve({});
      }
    });
    req.on('error', reject);
  });
}

service.on('beforeAuthorizeRedirect', ({ url }, req) => {
  const code = url.searchParams.get('code');
  if (!code) return;
  stats.authorize_requests++;
  const q = req.query ?? {};
  codes.set(code, {
    clientId: typeof q.client_id === 'string' ? q.client_id : undefined,
    redirectUri: typeof q.redirect_uri === 'string' ? q.redirect_uri : undefined,
    challenge: typeof q.code_challenge === 'string' ? q.code_challenge : undefined,
    scope: typeof q.scope === 'string' ? q.scope : undefined,
    resource: typeof q.resource === 'string' ? q.resource : undefined,
    used: false
  });
});

// Which grant a token request continues (before validity is checked in beforeResponse).
function grantOf(body) {
  if (body.grant_type === 'authorization_code') return codes.get(body.code);
  if (body.grant_type === 'refresh_token') return refreshTokens.get(body.refresh_token);
  return undefined;
}

service.on('beforeTokenSigning', (token, req) => {
  const body = req.body ?? {};
  const now = Math.floor(Date.now() / 1000);
  token.payload.exp = (token.payload.iat ?? now) + opts['expires-in'];
  if (token.payload.aud !== undefined) return; // the id_token (aud = client id): leave it
  const grant = grantOf(body);
  const clientId = clientIdOf(req) ?? grant?.clientId;
  if (clientId) token.payload.client_id = clientId;
  // The mock says scope "dummy" when the token request has none: use the grant's scope instead.
  if (body.scope === undefined && grant?.scope !== undefined) token.payload.scope = grant.scope;
  const resource = body.resource ?? grant?.resource;
  if (resource) token.payload.aud = resource;
});

function reject(response, kind, description) {
  response.statusCode = 400;
  response.body = { error: 'invalid_grant', error_description: description };
  if (kind === 'refresh') stats.rejected_refresh++;
  else stats.rejected_code++;
  log(`${kind} grant rejected: ${description}`);
}

service.on('beforeResponse', (response, req) => {
  const body = req.body ?? {};
  const clientId = clientIdOf(req);
  if (body.grant_type === 'authorization_code') {
    stats.authorization_code_requests++;
    const c = codes.get(body.code);
    if (!c || c.used) return reject(response, 'code', 'unknown or already used authorization code');
    c.used = true;
    if (c.clientId && clientId && c.clientId !== clientId) return reject(response, 'code', 'code was issued to another client');
    if (c.challenge && !body.code_verifier) return reject(response, 'code', 'code_verifier is required');
    if (c.redirectUri && body.redirect_uri !== undefined && body.redirect_uri !== c.redirectUri) {
      return reject(response, 'code', 'redirect_uri does not match the authorization request');
    }
    const resource = body.resource ?? c.resource;
    stats.last_resource = resource ?? null;
    finishGrant(response, { clientId: clientId ?? c.clientId, scope: body.scope ?? c.scope, resource, grantId: ++grantSeq });
  } else if (body.grant_type === 'refresh_token') {
    stats.refresh_requests++;
    const r = refreshTokens.get(body.refresh_token);
    if (!r) return reject(response, 'refresh', 'unknown refresh token');
    if (r.state !== 'active') return reject(response, 'refresh', `refresh token was ${r.state}`);
    if (r.clientId && clientId && r.clientId !== clientId) return reject(response, 'refresh', 'refresh token was issued to another client');
    r.state = 'used'; // rotation: the old refresh token dies now
    const resource = body.resource ?? r.resource;
    stats.last_resource = resource ?? null;
    finishGrant(response, { clientId: clientId ?? r.clientId, scope: body.scope ?? r.scope, resource, grantId: r.grantId });
  }
});

function finishGrant(response, grant) {
  const b = response.body;
  b.expires_in = opts['expires-in'];
  if (grant.scope !== undefined) b.scope = grant.scope;
  if (b.refresh_token) {
    refreshTokens.set(b.refresh_token, { ...grant, state: 'active' });
  }
  if (b.access_token) accessTokens.set(b.access_token, { grantId: grant.grantId, revoked: false, expiredByAdmin: false });
}

service.on('beforeRevoke', (_response, req) => {
  stats.revocations++;
  const token = req.body?.token;
  if (typeof token !== 'string') return; // RFC 7009: 200 all the same
  const a = accessTokens.get(token);
  if (a) {
    a.revoked = true;
    log('revoked an access token');
    return;
  }
  const r = refreshTokens.get(token);
  if (r) {
    r.state = 'revoked';
    for (const t of accessTokens.values()) if (t.grantId === r.grantId) t.revoked = true;
    log('revoked a refresh token and its access tokens');
    return;
  }
  log('revocation of an unknown token: ignored');
});

// The mock's own OIDC discovery document, as its handler would send it.
function discoveryDoc() {
  let doc;
  service.openidConfigurationHandler({}, { json: (d) => (doc = d) });
  return doc;
}

const { server: asServer, port: asPort } = await listen(async (req, res) => {
  const path = (req.url ?? '/').split('?')[0];
  if (req.method === 'POST' && path === '/token') {
    stats.token_requests++;
    res.on('finish', () => {
      if (res.statusCode >= 400) stats.token_errors++;
    });
  }
  if (req.method === 'GET' && path === '/.well-known/oauth-authorization-server' && opts.rfc8414) {
    // The mock only has OIDC discovery; serve the same document under the RFC 8414 name.
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(discoveryDoc()));
    return;
  }
  if (req.method === 'POST' && path === '/revoke') {
    // The mock's /revoke has no form parser; parse here so its beforeRevoke hook sees req.body.
    try {
      req.body = await readForm(req);
    } catch {
      req.body = {};
    }
  }
  mockApp(req, res);
});
issuer.url = `http://127.0.0.1:${asPort}`; // the mock would say http://localhost:PORT

// ---- MCP resource server ----

const jwks = createLocalJWKSet({ keys: issuer.keys.toJSON() });
const app = express();
app.disable('x-powered-by');
const { server: mcpServer, port: mcpPort } = await listen(app);
const base = `http://127.0.0.1:${mcpPort}`;
const mcpUrl = `${base}/mcp`;
const prmUrl = `${base}/.well-known/oauth-protected-resource/mcp`;

const verifier = {
  async verifyAccessToken(token) {
    let payload;
    try {
      ({ payload } = await jwtVerify(token, jwks, { issuer: issuer.url }));
    } catch (err) {
      throw new InvalidTokenError(err?.code === 'ERR_JWT_EXPIRED' ? 'Token has expired' : 'invalid token');
    }
    const known = accessTokens.get(token);
    if (known?.revoked) throw new InvalidTokenError('token was revoked');
    if (known?.expiredByAdmin) throw new InvalidTokenError('Token has expired');
    const aud = payload.aud;
    const auds = aud === undefined ? [] : Array.isArray(aud) ? aud : [aud];
    const norm = (s) => String(s).replace(/\/$/, '');
    if (auds.length > 0 || opts['require-audience']) {
      if (!auds.some((a) => norm(a) === norm(mcpUrl))) throw new InvalidTokenError('token audience is not this resource');
    }
    return {
      token,
      clientId: String(payload.client_id ?? payload.azp ?? 'unknown'),
      scopes: typeof payload.scope === 'string' ? payload.scope.split(' ').filter(Boolean) : [],
      expiresAt: payload.exp,
      resource: auds.length > 0 ? new URL(auds[0]) : undefined
    };
  }
};

const prm = {
  resource: mcpUrl,
  authorization_servers: [issuer.url],
  bearer_methods_supported: ['header'],
  resource_name: 'crux mock-oauth-test'
};
app.get('/.well-known/oauth-protected-resource/mcp', (_req, res) => res.json(prm));
app.get('/stats', (_req, res) => res.json(stats));
app.post('/admin/expire-all', (_req, res) => {
  let n = 0;
  for (const t of accessTokens.values()) {
    if (!t.expiredByAdmin) n++;
    t.expiredByAdmin = true;
  }
  log(`expired ${n} access tokens`);
  res.json({ expired: n });
});

const bearer = requireBearerAuth({ verifier, resourceMetadataUrl: prmUrl });
const countUnauthorized = (_req, res, next) => {
  res.on('finish', () => {
    if (res.statusCode === 401 || res.statusCode === 403) stats.mcp_requests_unauthorized++;
  });
  next();
};
const mcp = mcpHandlers('mock-oauth-test', { jsonResponse: opts['json-response'], onOk: () => stats.mcp_requests_ok++ });
app.post('/mcp', countUnauthorized, bearer, express.json(), mcp.post);
app.all('/mcp', countUnauthorized, bearer, mcp.notAllowed);

exitWhenTold([asServer, mcpServer]);
log(`AS ${issuer.url}, MCP ${mcpUrl} (expires-in ${opts['expires-in']}s, rfc8414 ${opts.rfc8414})`);
printReadyLine({ mcp: mcpUrl, issuer: issuer.url, stats: `${base}/stats`, prm: prmUrl });
