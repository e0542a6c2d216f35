#!/usr/bin/env node
// MCP server protected by the MCP TypeScript SDK's own authorization server (mcpAuthRouter) with
// an in-memory provider: dynamic client registration, auto-approving /authorize (302 at once),
// PKCE S256 (checked by the SDK), rotating refresh tokens, RFC 7009 revocation.
// Authorization server and MCP endpoint share one origin. See ../README.md ("OAuth test servers").
//
// Flags: --expires-in N      access-token lifetime in seconds (default 3600)
//        --require-resource  authorize/token must carry resource=<mcp url>, and /mcp accepts only
//                            tokens bound to it (default: resource optional, only recorded)
//        --json-response     MCP answers application/json instead of an SSE stream
import { randomBytes, randomUUID } from 'node:crypto';
import express from 'express';
import { mcpAuthRouter, getOAuthProtectedResourceMetadataUrl } from '@modelcontextprotocol/sdk/server/auth/router.js';
import { requireBearerAuth } from '@modelcontextprotocol/sdk/server/auth/middleware/bearerAuth.js';
import {
  InvalidGrantError,
  InvalidTargetError,
  InvalidTokenError,
  InvalidScopeError
} from '@modelcontextprotocol/sdk/server/auth/errors.js';
import { exitWhenTold, listen, log, mcpHandlers, parseFlags, printReadyLine } from './common.mjs';

const opts = parseFlags(
  { 'expires-in': 'number', 'require-resource': 'boolean', 'json-response': 'boolean' },
  { 'expires-in': 3600, 'require-resource': false, 'json-response': false }
);

const stats = {
  token_requests: 0, // every POST /token (HTTP level, including ones the SDK rejects before the provider)
  token_errors: 0, // POST /token answered with status >= 400
  authorization_code_requests: 0, // provider.exchangeAuthorizationCode calls (PKCE already checked)
  refresh_requests: 0, // provider.exchangeRefreshToken calls
  rejected_refresh: 0, // refresh grants answered invalid_grant by the provider
  registrations: 0, // successful dynamic client registrations
  revocations: 0, // provider.revokeToken calls
  authorize_requests: 0, // provider.authorize calls (auto-approved, 302 to redirect_uri)
  mcp_requests_ok: 0, // POST /mcp that passed bearer auth
  mcp_requests_unauthorized: 0, // /mcp answered 401/403
  clients: 0, // currently registered clients
  last_resource: null // `resource` of the last token request (or its authorize request), as a string
};

const newToken = (prefix) => `${prefix}_${randomBytes(24).toString('base64url')}`;
const nowSec = () => Date.now() / 1000;

class ClientsStore {
  clients = new Map();
  async getClient(clientId) {
    return this.clients.get(clientId);
  }
  async registerClient(client) {
    // The SDK has generated client_id (and client_secret unless token_endpoint_auth_method is "none").
    this.clients.set(client.client_id, client);
    stats.registrations++;
    log(`registered client ${client.client_id} (auth method ${client.token_endpoint_auth_method ?? 'default'})`);
    return client;
  }
  forgetAll() {
    const n = this.clients.size;
    this.clients.clear();
    return n;
  }
}

class Provider {
  constructor(mcpUrl) {
    this.mcpUrl = mcpUrl;
    this.clientsStore = new ClientsStore();
    this.codes = new Map(); // code -> { clientId, params }
    this.accessTokens = new Map(); // token -> { clientId, scopes, expiresAt (s), resource, grantId, revoked }
    this.refreshTokens = new Map(); // token -> { clientId, scopes, resource, grantId, state: 'active'|'used'|'revoked' }
  }

  checkResource(resource) {
    if (!opts['require-resource']) return;
    if (!resource) throw new InvalidTargetError('resource parameter is required');
    if (resource.href.replace(/\/$/, '') !== this.mcpUrl.replace(/\/$/, '')) {
      throw new InvalidTargetError(`unknown resource: ${resource.href}`);
    }
  }

  async authorize(client, params, res) {
    stats.authorize_requests++;
    this.checkResource(params.resource);
    const code = newToken('code');
    this.codes.set(code, { clientId: client.client_id, params });
    const target = new URL(params.redirectUri);
    target.searchParams.set('code', code);
    if (params.state !== undefined) target.searchParams.set('state', params.state);
    res.redirect(302, target.href);
  }

  async challengeForAuthorizationCode(client, code) {
    const data = this.codes.get(code);
    if (!data || data.clientId !== client.client_id) throw new InvalidGrantError('invalid authorization code');
    return data.params.codeChallenge;
  }

  issue(clientId, scopes, resource, grantId) {
    const access = newToken('at');
    const refresh = newToken('rt');
    const expiresIn = opts['expires-in'];
    this.accessTokens.set(access, { clientId, scopes, expiresAt: nowSec() + expiresIn, resource, grantId, revoked: false });
    this.refreshTokens.set(refresh, { clientId, scopes, resource, grantId, state: 'active' });
    const out = { access_token: access, token_type: 'Bearer', expires_in: expiresIn, refresh_token: refresh };
    if (scopes.length > 0) out.scope = scopes.join(' ');
    return out;
  }

  async exchangeAuthorizationCode(client, code, _codeVerifier, redirectUri, resource) {
    stats.authorization_code_requests++;
    const data = this.codes.get(code);
    if (!data || data.clientId !== client.client_id) throw new InvalidGrantError('invalid authorization code');
    this.codes.delete(code); // one use only
    if (redirectUri !== undefined && redirectUri !== data.params.redirectUri) {
      throw new InvalidGrantError('redirect_uri does not match the authorization request');
    }
    const bound = resource ?? data.params.resource;
    stats.last_resource = bound ? bound.href : null;
    this.checkResource(bound);
    return this.issue(client.client_id, data.params.scopes ?? [], bound, randomUUID());
  }

  async exchangeRefreshToken(client, refreshToken, scopes, resource) {
    stats.refresh_requests++;
    if (resource) stats.last_resource = resource.href;
    const data = this.refreshTokens.get(refreshToken);
    if (!data || data.state !== 'active' || data.clientId !== client.client_id) {
      stats.rejected_refresh++;
      const why = !data ? 'unknown' : data.state !== 'active' ? data.state : 'issued to another client';
      log(`refresh rejected (${why})`);
      throw new InvalidGrantError('refresh token is invalid, used or revoked');
    }
    let granted = data.scopes;
    if (scopes && scopes.length > 0) {
      if (!scopes.every((s) => data.scopes.includes(s))) throw new InvalidScopeError('scope exceeds the original grant');
      granted = scopes;
    }
    const bound = resource ?? data.resource;
    if (!resource) stats.last_resource = bound ? bound.href : null;
    this.checkResource(bound);
    data.state = 'used'; // rotation: the old refresh token dies now
    return this.issue(client.client_id, granted, bound, data.grantId);
  }

  async verifyAccessToken(token) {
    const data = this.accessTokens.get(token);
    if (!data) throw new InvalidTokenError('unknown token');
    if (data.revoked) throw new InvalidTokenError('token was revoked');
    if (data.expiresAt <= nowSec()) throw new InvalidTokenError('Token has expired');
    return {
      token,
      clientId: data.clientId,
      scopes: data.scopes,
      expiresAt: Math.ceil(data.expiresAt), // the check above is the authority
      resource: data.resource
    };
  }

  async revokeToken(client, { token }) {
    stats.revocations++;
    const access = this.accessTokens.get(token);
    if (access && access.clientId === client.client_id) {
      access.revoked = true;
      log('revoked an access token');
      return;
    }
    const refresh = this.refreshTokens.get(token);
    if (refresh && refresh.clientId === client.client_id) {
      refresh.state = 'revoked';
      // RFC 7009 §2.1: revoking a refresh token also invalidates the access tokens of its grant.
      for (const a of this.accessTokens.values()) if (a.grantId === refresh.grantId) a.revoked = true;
      log('revoked a refresh token and its access tokens');
      return;
    }
    log('revocation of an unknown token (or another client\'s): ignored');
  }

  expireAll() {
    const t = nowSec() - 1;
    let n = 0;
    for (const a of this.accessTokens.values()) {
      if (a.expiresAt > t) {
        a.expiresAt = t;
        n++;
      }
    }
    return n;
  }
}

const app = express();
app.disable('x-powered-by');
const { server, port } = await listen(app);
const base = `http://127.0.0.1:${port}`;
const mcpUrl = `${base}/mcp`;
const provider = new Provider(mcpUrl);
const prmUrl = getOAuthProtectedResourceMetadataUrl(new URL(mcpUrl));

app.use('/token', (req, res, next) => {
  if (req.method === 'POST') {
    stats.token_requests++;
    res.on('finish', () => {
      if (res.statusCode >= 400) stats.token_errors++;
    });
  }
  next();
});

const noRateLimit = { rateLimit: false };
app.use(
  mcpAuthRouter({
    provider,
    issuerUrl: new URL(base),
    resourceServerUrl: new URL(mcpUrl),
    resourceName: 'crux sdk-oauth-test',
    authorizationOptions: noRateLimit,
    tokenOptions: noRateLimit,
    clientRegistrationOptions: noRateLimit,
    revocationOptions: noRateLimit
  })
);

app.get('/stats', (_req, res) => {
  res.json({ ...stats, clients: provider.clientsStore.clients.size });
});
app.post('/admin/forget-clients', (_req, res) => {
  const n = provider.clientsStore.forgetAll();
  log(`forgot ${n} clients`);
  res.json({ forgotten: n });
});
app.post('/admin/expire-all', (_req, res) => {
  const n = provider.expireAll();
  log(`expired ${n} access tokens`);
  res.json({ expired: n });
});

const bearer = requireBearerAuth({
  verifier: provider,
  resourceMetadataUrl: prmUrl,
  expectedResource: opts['require-resource'] ? new URL(mcpUrl) : undefined
});
const countUnauthorized = (_req, res, next) => {
  res.on('finish', () => {
    if (res.statusCode === 401 || res.statusCode === 403) stats.mcp_requests_unauthorized++;
  });
  next();
};
const mcp = mcpHandlers('sdk-oauth-test', { jsonResponse: opts['json-response'], onOk: () => stats.mcp_requests_ok++ });
app.post('/mcp', countUnauthorized, bearer, express.json(), mcp.post);
app.all('/mcp', countUnauthorized, bearer, mcp.notAllowed);

const metadataIssuer = new URL(base).href; // the SDK's metadata says "http://127.0.0.1:PORT/" (trailing slash)
exitWhenTold([server]);
log(`listening on ${base} (expires-in ${opts['expires-in']}s, require-resource ${opts['require-resource']})`);
printReadyLine({ mcp: mcpUrl, issuer: metadataIssuer, stats: `${base}/stats`, prm: prmUrl });
