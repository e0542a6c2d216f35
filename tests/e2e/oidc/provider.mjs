#!/usr/bin/env node
// A real authorization server for crux's OAuth tests: oidc-provider 9.13.3 (./node_modules),
// configured the way an MCP deployment would be. See ../README.md ("oidc/").
//
// - dynamic client registration (POST /reg), PKCE required for every client (S256 only)
// - resource indicators (RFC 8707): a token request for `resource=<http(s) URL>` gets an RS256
//   JWT access token whose `aud` is that URL (the era servers in ../eras verify it from /jwks)
// - refresh tokens only for clients registered with the refresh_token grant that ask for
//   `offline_access` (and, when they send `prompt`, include `consent`): oidc-provider's default;
//   every refresh rotates the refresh token
// - revocation (/token/revocation) and introspection (/token/introspection) on
// - the dev interactions (login page: any login/password; consent page) - see browser.mjs
// - everything in memory: a restarted provider has forgotten every client, grant and key
//
// Env: OIDC_PORT (default 0 = random), OIDC_ACCESS_TOKEN_TTL (seconds, default 3600).
// stdout: one JSON line {"issuer":"http://127.0.0.1:PORT","stats":".../stats","admin":".../admin"}.
// Admin (no auth): GET /stats, POST /admin/refresh-token-status {"token":"..."} -> {"active":bool}.
// Exits on SIGTERM/SIGINT/SIGHUP and on stdin EOF when stdin is a pipe (like ../oauth/*.mjs).
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { exportJWK, generateKeyPair } from 'jose';
import Provider, { errors } from 'oidc-provider';
import { exitWhenTold, log, printReadyLine } from '../oauth/common.mjs';

const ttl = Number(process.env.OIDC_ACCESS_TOKEN_TTL ?? 3600);
if (!Number.isFinite(ttl) || ttl <= 0) {
  process.stderr.write('OIDC_ACCESS_TOKEN_TTL must be a positive number of seconds\n');
  process.exit(2);
}

const stats = {
  authorize_requests: 0, // GET/POST /auth
  interactions: 0, // login/consent interactions started
  registrations: 0, // successful DCRs
  token_requests: 0, // POST /token
  authorization_code_grants: 0, // successful code exchanges
  refresh_grants: 0, // successful refresh grants
  refresh_errors: 0, // refresh grants answered with an error (e.g. invalid_grant)
  token_errors: 0, // any /token error
  refresh_times: [], // Date.now() of each successful refresh grant (for rate checks)
  revocations: 0, // POST /token/revocation answered 200
  grants_revoked: 0, // grants destroyed (by a refresh token revocation, ...)
  introspections: 0,
  last_resource: null, // `aud` of the last access token issued
  last_scope: null, // scope of the last token response
  last_errors: [], // the last 20 error codes seen by the provider (e.g. invalid_client)
  clients: [] // registered clients' metadata (no secrets): client_id, grant_types, auth method, ...
};
const noteError = (ctx, err) => {
  stats.last_errors.push(`${ctx?.oidc?.route ?? '?'}: ${err?.error ?? err?.message ?? err}`);
  if (stats.last_errors.length > 20) stats.last_errors.shift();
};

// Port first, so the issuer can name it.
const server = http.createServer((req, res) => handler(req, res));
await new Promise((resolve, reject) => {
  server.on('error', reject);
  server.listen(Number(process.env.OIDC_PORT ?? 0), '127.0.0.1', resolve);
});
const issuer = `http://127.0.0.1:${server.address().port}`;

const { privateKey } = await generateKeyPair('RS256', { extractable: true });
const jwk = { ...(await exportJWK(privateKey)), kid: randomBytes(8).toString('hex'), alg: 'RS256', use: 'sig' };

const provider = new Provider(issuer, {
  jwks: { keys: [jwk] },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  scopes: ['openid', 'offline_access', 'mcp'],
  findAccount: async (_ctx, sub) => ({ accountId: sub, claims: async () => ({ sub }) }),
  pkce: { required: () => true },
  rotateRefreshToken: () => true,
  ttl: { AccessToken: ttl, IdToken: 3600, Interaction: 600, Session: 86400, Grant: 14 * 86400, RefreshToken: 14 * 86400 },
  features: {
    devInteractions: { enabled: true },
    registration: { enabled: true },
    revocation: { enabled: true },
    introspection: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: async (_ctx, _client, oneOf) => oneOf,
      useGrantedResource: async () => true,
      getResourceServerInfo: async (_ctx, resource) => {
        if (!/^https?:\/\//.test(resource)) throw new errors.InvalidTarget();
        return { scope: 'mcp', audience: resource, accessTokenTTL: ttl, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'RS256' } } };
      }
    }
  }
});

provider.on('authorization.accepted', () => stats.authorize_requests++);
provider.on('interaction.started', () => stats.interactions++);
provider.on('registration_create.success', (_ctx, client) => {
  stats.registrations++;
  const { client_id, grant_types, response_types, token_endpoint_auth_method, application_type, redirect_uris, scope } = client.metadata();
  stats.clients.push({ client_id, grant_types, response_types, token_endpoint_auth_method, application_type, redirect_uris, scope: scope ?? null });
});
provider.on('grant.success', (ctx) => {
  const type = ctx.oidc.params?.grant_type;
  if (type === 'authorization_code') stats.authorization_code_grants++;
  if (type === 'refresh_token') {
    stats.refresh_grants++;
    stats.refresh_times.push(Date.now());
  }
  stats.last_scope = ctx.body?.scope ?? null;
});
provider.on('grant.error', (ctx, err) => {
  stats.token_errors++;
  if (ctx.oidc.params?.grant_type === 'refresh_token') stats.refresh_errors++;
  noteError(ctx, err);
});
provider.on('access_token.issued', (token) => {
  stats.last_resource = token.aud ?? null;
});
provider.on('grant.revoked', () => stats.grants_revoked++);
provider.on('introspection.success', () => stats.introspections++);
for (const ev of ['authorization.error', 'registration_create.error', 'revocation.error', 'introspection.error', 'server_error']) {
  provider.on(ev, (ctx, err) => noteError(ctx, err));
}
// access_token.issued only fires for opaque tokens; JWT ones are "saved" - note both.
provider.on('access_token.saved', (token) => {
  stats.last_resource = token.aud ?? null;
});

const callback = provider.callback();
function handler(req, res) {
  const path = new URL(req.url, issuer).pathname;
  if (path === '/token' && req.method === 'POST') stats.token_requests++;
  if (path === '/token/revocation' && req.method === 'POST') {
    res.on('finish', () => res.statusCode === 200 && stats.revocations++);
  }
  if (path === '/stats' && req.method === 'GET') {
    res.writeHead(200, { 'content-type': 'application/json' });
    return res.end(JSON.stringify(stats));
  }
  if (path === '/admin/refresh-token-status' && req.method === 'POST') {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      let active = false;
      try {
        const token = JSON.parse(Buffer.concat(chunks).toString()).token;
        const found = await provider.RefreshToken.find(String(token));
        active = Boolean(found && !found.isExpired && (await provider.Grant.find(found.grantId)));
      } catch {
        active = false;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ active }));
    });
    return;
  }
  return callback(req, res);
}

exitWhenTold([server]);
log(`issuer ${issuer} (access tokens ${ttl} s)`);
printReadyLine({ issuer, stats: `${issuer}/stats`, admin: `${issuer}/admin` });
