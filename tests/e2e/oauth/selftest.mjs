#!/usr/bin/env node
// Drives both OAuth test servers by hand through the whole flow a client like crux performs:
// discovery, (DCR), authorize + PKCE S256, code exchange, MCP calls with the bearer token,
// refresh rotation, revocation, forced expiry, and /stats. Exits 0 when every check passes.
//   node tests/e2e/oauth/selftest.mjs        (after tests/e2e/setup.sh)
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const REDIRECT = 'http://127.0.0.1:9/callback';
let passed = 0;
let failed = 0;
const children = [];
const seenSecrets = []; // token values that must never show up in a server's output

async function check(name, fn) {
  try {
    await fn();
    passed++;
    process.stderr.write(`ok   ${name}\n`);
  } catch (err) {
    failed++;
    process.stderr.write(`FAIL ${name}\n     ${String(err?.stack ?? err).split('\n').slice(0, 6).join('\n     ')}\n`);
  }
}

function start(script, args = []) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(here, script), ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    children.push(child);
    child.out = '';
    child.err = '';
    child.stderr.on('data', (d) => (child.err += d));
    const timer = setTimeout(() => reject(new Error(`${script}: no ready line in 15 s\n${child.err}`)), 15000);
    child.stdout.on('data', (d) => {
      child.out += d;
      const nl = child.out.indexOf('\n');
      if (nl !== -1 && !child.ready) {
        clearTimeout(timer);
        child.ready = JSON.parse(child.out.slice(0, nl));
        resolve(child);
      }
    });
    child.on('exit', (code) => reject(new Error(`${script} exited early (${code})\n${child.err}`)));
  });
}

/** Closes stdin (the server must exit on EOF) and checks its output. */
async function stop(child, name) {
  const exited = new Promise((r) => child.once('exit', r));
  child.stdin.end();
  const code = await Promise.race([exited, sleep(5000).then(() => 'timeout')]);
  await check(`${name}: exits on stdin EOF`, () => assert.equal(code, 0));
  await check(`${name}: stdout is exactly one line`, () => assert.equal(child.out.trim().split('\n').length, 1));
  await check(`${name}: no token value in its logs`, () => {
    for (const s of seenSecrets) assert.ok(!child.err.includes(s) && !child.out.includes(s), 'a token value was logged');
  });
}

const pkce = () => {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
};

const form = (url, fields) =>
  fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: new URLSearchParams(Object.entries(fields).filter(([, v]) => v !== undefined))
  });

async function json(res) {
  const text = await res.text();
  try {
    return JSON.parse(text);
  } catch {
    return { _text: text };
  }
}

async function tokenRequest(endpoint, fields) {
  const res = await form(endpoint, fields);
  const body = await json(res);
  for (const k of ['access_token', 'refresh_token', 'id_token']) if (body[k]) seenSecrets.push(body[k]);
  return { status: res.status, body };
}

async function authorize(endpoint, params) {
  const res = await fetch(`${endpoint}?${new URLSearchParams(params)}`, { redirect: 'manual' });
  const location = res.headers.get('location');
  return { status: res.status, location: location ? new URL(location) : null };
}

let rpcId = 0;
async function mcpCall(mcpUrl, token, method, params = {}) {
  const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(mcpUrl, { method: 'POST', headers, body: JSON.stringify({ jsonrpc: '2.0', id: ++rpcId, method, params }) });
  const type = res.headers.get('content-type') ?? '';
  const text = await res.text();
  let message;
  if (res.ok && type.includes('text/event-stream')) {
    const data = text.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trim());
    message = JSON.parse(data[data.length - 1]);
  } else {
    try {
      message = JSON.parse(text);
    } catch {
      message = undefined;
    }
  }
  return { status: res.status, type, www: res.headers.get('www-authenticate'), message };
}

const initParams = { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'crux-selftest', version: '0' } };

async function assertMcpWorks(mcpUrl, token, serverName) {
  const init = await mcpCall(mcpUrl, token, 'initialize', initParams);
  assert.equal(init.status, 200, `initialize status ${init.status}`);
  assert.deepEqual(init.message.result.serverInfo, { name: serverName, version: '1.0.0' });
  const call = await mcpCall(mcpUrl, token, 'tools/call', { name: 'whoami', arguments: {} });
  assert.equal(call.status, 200);
  assert.equal(call.message.result.content[0].text, 'ok');
  return init;
}

async function assertMcpRejects(mcpUrl, token, prm, why) {
  const r = await mcpCall(mcpUrl, token, 'initialize', initParams);
  assert.equal(r.status, 401, `expected 401 (${why}), got ${r.status}`);
  assert.ok(r.www?.startsWith('Bearer '), `WWW-Authenticate: ${r.www}`);
  assert.ok(r.www.includes(`resource_metadata="${prm}"`), `WWW-Authenticate: ${r.www}`);
  return r;
}

const getJson = async (url) => {
  const res = await fetch(url);
  return { status: res.status, body: await json(res) };
};
const post = (url) => fetch(url, { method: 'POST' }).then(json);
const jwtPayload = (jwt) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString('utf8'));

/** The SDK's own client (auth() + StreamableHTTPClientTransport) completes the flow: a second opinion. */
async function referenceClientFlow(mcpUrl, serverName, preRegisteredClientId) {
  const saved = {};
  let code;
  const provider = {
    get redirectUrl() {
      return REDIRECT;
    },
    get clientMetadata() {
      return { client_name: 'crux-selftest-sdk-client', redirect_uris: [REDIRECT], grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], token_endpoint_auth_method: 'none' };
    },
    clientInformation: () => (preRegisteredClientId ? { client_id: preRegisteredClientId } : saved.client),
    saveClientInformation: (c) => (saved.client = c),
    tokens: () => saved.tokens,
    saveTokens: (t) => {
      saved.tokens = t;
      seenSecrets.push(t.access_token, t.refresh_token);
    },
    async redirectToAuthorization(url) {
      const res = await fetch(url, { redirect: 'manual' });
      const location = new URL(res.headers.get('location'));
      assert.equal(location.searchParams.get('error'), null, location.search);
      code = location.searchParams.get('code');
    },
    saveCodeVerifier: (v) => (saved.verifier = v),
    codeVerifier: () => saved.verifier
  };
  const connect = async () => {
    const client = new Client({ name: 'crux-selftest', version: '0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(mcpUrl), { authProvider: provider }));
    return client;
  };
  let client;
  try {
    client = await connect();
    assert.fail('expected the first connect to need authorization');
  } catch (err) {
    if (!(err instanceof UnauthorizedError)) throw err;
  }
  await new StreamableHTTPClientTransport(new URL(mcpUrl), { authProvider: provider }).finishAuth(code);
  client = await connect();
  try {
    assert.deepEqual(client.getServerVersion(), { name: serverName, version: '1.0.0' });
    const r = await client.callTool({ name: 'whoami', arguments: {} });
    assert.equal(r.content[0].text, 'ok');
    assert.ok(saved.tokens.refresh_token);
  } finally {
    await client.close();
  }
}

// ---------------------------------------------------------------------------------------------
async function sdkServer() {
  const srv = await start('sdk-server.mjs');
  const { mcp, issuer, stats, prm } = srv.ready;
  const base = new URL(mcp).origin;
  let as, client, tokens;

  await check('sdk: ready line', () => {
    assert.match(mcp, /^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
    assert.equal(issuer, `${base}/`);
    assert.equal(stats, `${base}/stats`);
    assert.equal(prm, `${base}/.well-known/oauth-protected-resource/mcp`);
  });
  await check('sdk: unauthenticated POST /mcp -> 401 + resource_metadata', () => assertMcpRejects(mcp, undefined, prm, 'no token'));
  await check('sdk: protected resource metadata', async () => {
    const { status, body } = await getJson(prm);
    assert.equal(status, 200);
    assert.equal(body.resource, mcp);
    assert.deepEqual(body.authorization_servers, [issuer]);
  });
  await check('sdk: authorization server metadata (RFC 8414)', async () => {
    const { status, body } = await getJson(new URL('/.well-known/oauth-authorization-server', issuer));
    assert.equal(status, 200);
    as = body;
    assert.equal(as.issuer, issuer);
    assert.deepEqual(as.code_challenge_methods_supported, ['S256']);
    assert.equal(as.revocation_endpoint, `${base}/revoke`);
    assert.equal(as.registration_endpoint, `${base}/register`);
    assert.deepEqual(as.grant_types_supported, ['authorization_code', 'refresh_token']);
    assert.deepEqual(as.token_endpoint_auth_methods_supported, ['client_secret_post', 'none']);
  });
  const register = async (extra = {}) => {
    const res = await fetch(as.registration_endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ client_name: 'crux-selftest', redirect_uris: [REDIRECT], grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], ...extra })
    });
    const body = await json(res);
    if (body.client_secret) seenSecrets.push(body.client_secret);
    return { status: res.status, body };
  };
  await check('sdk: dynamic client registration (confidential, client_secret_post)', async () => {
    const r = await register();
    assert.equal(r.status, 201);
    assert.ok(r.body.client_id && r.body.client_secret, 'client_id + client_secret');
    client = r.body;
  });
  const creds = () => ({ client_id: client.client_id, client_secret: client.client_secret });
  const fullAuth = async ({ resource = mcp } = {}) => { // resource: null = send none
    const p = pkce();
    const a = await authorize(as.authorization_endpoint, {
      response_type: 'code', client_id: client.client_id, redirect_uri: REDIRECT, code_challenge: p.challenge,
      code_challenge_method: 'S256', state: 'st-1', ...(resource ? { resource } : {})
    });
    assert.equal(a.status, 302);
    const code = a.location.searchParams.get('code');
    assert.ok(code, `no code in ${a.location}`);
    const t = await tokenRequest(as.token_endpoint, { grant_type: 'authorization_code', code, code_verifier: p.verifier, redirect_uri: REDIRECT, resource: resource ?? undefined, ...creds() });
    assert.equal(t.status, 200, JSON.stringify(t.body));
    return t.body;
  };
  let code, verifier;
  await check('sdk: authorize redirects at once with code and state', async () => {
    const p = pkce();
    verifier = p.verifier;
    const a = await authorize(as.authorization_endpoint, {
      response_type: 'code', client_id: client.client_id, redirect_uri: REDIRECT, code_challenge: p.challenge,
      code_challenge_method: 'S256', state: 'xyz', resource: mcp
    });
    assert.equal(a.status, 302);
    assert.equal(`${a.location.origin}${a.location.pathname}`, REDIRECT);
    assert.equal(a.location.searchParams.get('state'), 'xyz');
    code = a.location.searchParams.get('code');
    assert.ok(code);
  });
  await check('sdk: wrong code_verifier -> invalid_grant', async () => {
    const t = await tokenRequest(as.token_endpoint, { grant_type: 'authorization_code', code, code_verifier: pkce().verifier, redirect_uri: REDIRECT, ...creds() });
    assert.equal(t.status, 400);
    assert.equal(t.body.error, 'invalid_grant');
  });
  await check('sdk: missing client_secret -> invalid_client', async () => {
    const t = await tokenRequest(as.token_endpoint, { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: REDIRECT, client_id: client.client_id });
    assert.equal(t.status, 400);
    assert.equal(t.body.error, 'invalid_client');
  });
  await check('sdk: code exchange', async () => {
    const t = await tokenRequest(as.token_endpoint, { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: REDIRECT, resource: mcp, ...creds() });
    assert.equal(t.status, 200, JSON.stringify(t.body));
    assert.equal(t.body.token_type, 'Bearer');
    assert.equal(t.body.expires_in, 3600);
    assert.ok(t.body.access_token && t.body.refresh_token);
    tokens = t.body;
  });
  await check('sdk: code replay -> invalid_grant', async () => {
    const t = await tokenRequest(as.token_endpoint, { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: REDIRECT, ...creds() });
    assert.equal(t.status, 400);
    assert.equal(t.body.error, 'invalid_grant');
  });
  await check('sdk: MCP initialize + tools/call whoami with the token (SSE answer)', async () => {
    const init = await assertMcpWorks(mcp, tokens.access_token, 'sdk-oauth-test');
    assert.ok(init.type.includes('text/event-stream'), init.type);
  });
  await check('sdk: GET /mcp -> 405 for an authorized client', async () => {
    const res = await fetch(mcp, { headers: { authorization: `Bearer ${tokens.access_token}`, accept: 'text/event-stream' } });
    assert.equal(res.status, 405);
  });
  let rt1, rt2, t2, t3;
  await check('sdk: refresh rotates the refresh token', async () => {
    rt1 = tokens.refresh_token;
    const r = await tokenRequest(as.token_endpoint, { grant_type: 'refresh_token', refresh_token: rt1, ...creds() });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    t2 = r.body;
    rt2 = t2.refresh_token;
    assert.ok(rt2 && rt2 !== rt1);
    assert.notEqual(t2.access_token, tokens.access_token);
    await assertMcpWorks(mcp, t2.access_token, 'sdk-oauth-test');
  });
  await check('sdk: the old refresh token -> invalid_grant', async () => {
    const r = await tokenRequest(as.token_endpoint, { grant_type: 'refresh_token', refresh_token: rt1, ...creds() });
    assert.equal(r.status, 400);
    assert.equal(r.body.error, 'invalid_grant');
  });
  await check('sdk: the new refresh token works', async () => {
    const r = await tokenRequest(as.token_endpoint, { grant_type: 'refresh_token', refresh_token: rt2, ...creds() });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    t3 = r.body;
  });
  await check('sdk: revoked access token -> 401', async () => {
    const res = await form(as.revocation_endpoint, { token: t3.access_token, token_type_hint: 'access_token', ...creds() });
    assert.equal(res.status, 200);
    await assertMcpRejects(mcp, t3.access_token, prm, 'revoked');
  });
  await check('sdk: revoked refresh token -> invalid_grant, and its grant\'s access tokens die', async () => {
    const res = await form(as.revocation_endpoint, { token: t3.refresh_token, token_type_hint: 'refresh_token', ...creds() });
    assert.equal(res.status, 200);
    const r = await tokenRequest(as.token_endpoint, { grant_type: 'refresh_token', refresh_token: t3.refresh_token, ...creds() });
    assert.equal(r.status, 400);
    assert.equal(r.body.error, 'invalid_grant');
    await assertMcpRejects(mcp, t2.access_token, prm, 'grant revoked');
  });
  let t5;
  await check('sdk: POST /admin/expire-all -> 401 "expired", refresh still works', async () => {
    t5 = await fullAuth();
    await assertMcpWorks(mcp, t5.access_token, 'sdk-oauth-test');
    const e = await post(`${base}/admin/expire-all`);
    assert.ok(e.expired >= 1);
    const r = await assertMcpRejects(mcp, t5.access_token, prm, 'expired');
    assert.match(r.www, /expired/);
    const t = await tokenRequest(as.token_endpoint, { grant_type: 'refresh_token', refresh_token: t5.refresh_token, ...creds() });
    assert.equal(t.status, 200);
    await assertMcpWorks(mcp, t.body.access_token, 'sdk-oauth-test');
    t5 = t.body;
  });
  await check('sdk: POST /admin/forget-clients -> invalid_client, re-registration works', async () => {
    const f = await post(`${base}/admin/forget-clients`);
    assert.equal(f.forgotten, 1);
    const t = await tokenRequest(as.token_endpoint, { grant_type: 'refresh_token', refresh_token: t5.refresh_token, ...creds() });
    assert.equal(t.status, 400);
    assert.equal(t.body.error, 'invalid_client');
    const r = await register();
    assert.equal(r.status, 201);
    client = r.body;
    const fresh = await fullAuth();
    await assertMcpWorks(mcp, fresh.access_token, 'sdk-oauth-test');
  });
  await check('sdk: public client (token_endpoint_auth_method none), no resource', async () => {
    const r = await register({ token_endpoint_auth_method: 'none' });
    assert.equal(r.status, 201);
    assert.equal(r.body.client_secret, undefined);
    const saved = client;
    client = r.body;
    try {
      const t = await fullAuth({ resource: null });
      await assertMcpWorks(mcp, t.access_token, 'sdk-oauth-test');
    } finally {
      client = saved;
    }
  });
  await check('sdk: /stats', async () => {
    const { body: s } = await getJson(stats);
    assert.equal(s.registrations, 3);
    assert.equal(s.clients, 2);
    assert.equal(s.authorize_requests, 4);
    assert.equal(s.authorization_code_requests, 4); // wrong verifier, missing secret and replay stop in the SDK
    assert.equal(s.refresh_requests, 5); // the one after forget-clients is stopped by client auth
    assert.equal(s.rejected_refresh, 2);
    assert.equal(s.revocations, 2);
    assert.equal(s.token_requests, 13);
    assert.equal(s.token_errors, 6);
    assert.equal(s.mcp_requests_ok, 12); // POSTs that passed bearer auth (the GET -> 405 does not count)
    assert.equal(s.mcp_requests_unauthorized, 4);
    assert.equal(s.last_resource, null); // the public-client flow sent none
  });
  await check('sdk: the SDK\'s own client (DCR + auth()) connects and calls whoami', () => referenceClientFlow(mcp, 'sdk-oauth-test'));
  await stop(srv, 'sdk');

  // Short-lived tokens, strict resource binding, JSON answers.
  const strict = await start('sdk-server.mjs', ['--expires-in', '1', '--require-resource', '--json-response']);
  {
    const { mcp, issuer, prm, stats } = strict.ready;
    const asDoc = (await getJson(new URL('/.well-known/oauth-authorization-server', issuer))).body;
    const reg = await fetch(asDoc.registration_endpoint, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none' }) }).then(json);
    await check('sdk --require-resource: authorize without resource -> redirect with error=invalid_target', async () => {
      const p = pkce();
      const a = await authorize(asDoc.authorization_endpoint, { response_type: 'code', client_id: reg.client_id, redirect_uri: REDIRECT, code_challenge: p.challenge, code_challenge_method: 'S256', state: 's' });
      assert.equal(a.status, 302);
      assert.equal(a.location.searchParams.get('error'), 'invalid_target');
      assert.equal(a.location.searchParams.get('state'), 's');
    });
    await check('sdk --expires-in 1 --json-response: token works, then expires', async () => {
      const p = pkce();
      const a = await authorize(asDoc.authorization_endpoint, { response_type: 'code', client_id: reg.client_id, redirect_uri: REDIRECT, code_challenge: p.challenge, code_challenge_method: 'S256', resource: mcp });
      const t = await tokenRequest(asDoc.token_endpoint, { grant_type: 'authorization_code', code: a.location.searchParams.get('code'), code_verifier: p.verifier, client_id: reg.client_id, resource: mcp });
      assert.equal(t.status, 200, JSON.stringify(t.body));
      assert.equal(t.body.expires_in, 1);
      const init = await assertMcpWorks(mcp, t.body.access_token, 'sdk-oauth-test');
      assert.ok(init.type.includes('application/json'), init.type);
      await sleep(1300);
      await assertMcpRejects(mcp, t.body.access_token, prm, 'expired');
      const { body: s } = await getJson(stats);
      assert.equal(s.last_resource, mcp);
    });
  }
  await stop(strict, 'sdk strict');
}

// ---------------------------------------------------------------------------------------------
async function mockServer() {
  const srv = await start('mock-server.mjs');
  const { mcp, issuer, stats, prm } = srv.ready;
  const base = new URL(mcp).origin;
  const CLIENT = 'crux-test-client';
  let oidc, tokens;

  await check('mock: ready line (AS and MCP on different ports)', () => {
    assert.match(issuer, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.notEqual(new URL(issuer).port, new URL(mcp).port);
    assert.equal(stats, `${base}/stats`);
    assert.equal(prm, `${base}/.well-known/oauth-protected-resource/mcp`);
  });
  await check('mock: unauthenticated POST /mcp -> 401 + resource_metadata', () => assertMcpRejects(mcp, undefined, prm, 'no token'));
  await check('mock: garbage bearer token -> 401', () => assertMcpRejects(mcp, 'not-a-jwt', prm, 'garbage'));
  await check('mock: protected resource metadata points at the mock issuer', async () => {
    const { status, body } = await getJson(prm);
    assert.equal(status, 200);
    assert.equal(body.resource, mcp);
    assert.deepEqual(body.authorization_servers, [issuer]);
  });
  await check('mock: OIDC discovery has S256 and revocation_endpoint; no RFC 8414 document', async () => {
    const { status, body } = await getJson(`${issuer}/.well-known/openid-configuration`);
    assert.equal(status, 200);
    oidc = body;
    assert.equal(oidc.issuer, issuer);
    assert.ok(oidc.code_challenge_methods_supported.includes('S256'));
    assert.equal(oidc.revocation_endpoint, `${issuer}/revoke`);
    assert.equal(oidc.registration_endpoint, undefined);
    const r = await fetch(`${issuer}/.well-known/oauth-authorization-server`);
    assert.equal(r.status, 404);
  });
  const auth = async (p, extra = {}) => {
    const a = await authorize(oidc.authorization_endpoint, {
      response_type: 'code', client_id: CLIENT, redirect_uri: REDIRECT, code_challenge: p.challenge,
      code_challenge_method: 'S256', state: 'st', scope: 'mcp:tools', resource: mcp, ...extra
    });
    assert.equal(a.status, 302);
    assert.equal(a.location.searchParams.get('state'), 'st');
    return a.location.searchParams.get('code');
  };
  await check('mock: code without its code_verifier -> invalid_grant', async () => {
    const code = await auth(pkce());
    const t = await tokenRequest(oidc.token_endpoint, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, client_id: CLIENT });
    assert.equal(t.status, 400);
    assert.equal(t.body.error, 'invalid_grant');
  });
  await check('mock: wrong code_verifier -> 400 invalid_request (the mock\'s own PKCE check)', async () => {
    const code = await auth(pkce());
    const t = await tokenRequest(oidc.token_endpoint, { grant_type: 'authorization_code', code, code_verifier: pkce().verifier, redirect_uri: REDIRECT, client_id: CLIENT });
    assert.equal(t.status, 400);
    assert.equal(t.body.error, 'invalid_request');
  });
  await check('mock: unknown code -> invalid_grant', async () => {
    const t = await tokenRequest(oidc.token_endpoint, { grant_type: 'authorization_code', code: 'made-up', redirect_uri: REDIRECT, client_id: CLIENT });
    assert.equal(t.status, 400);
    assert.equal(t.body.error, 'invalid_grant');
  });
  let code, verifier;
  await check('mock: code exchange (JWT with client_id, aud = resource, authorize scope)', async () => {
    const p = pkce();
    verifier = p.verifier;
    code = await auth(p);
    const t = await tokenRequest(oidc.token_endpoint, { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: REDIRECT, client_id: CLIENT, resource: mcp });
    assert.equal(t.status, 200, JSON.stringify(t.body));
    assert.equal(t.body.token_type, 'Bearer');
    assert.equal(t.body.expires_in, 3600);
    assert.equal(t.body.scope, 'mcp:tools');
    assert.ok(t.body.refresh_token && t.body.id_token);
    const claims = jwtPayload(t.body.access_token);
    assert.equal(claims.iss, issuer);
    assert.equal(claims.aud, mcp);
    assert.equal(claims.client_id, CLIENT);
    assert.equal(claims.scope, 'mcp:tools');
    assert.equal(claims.exp - claims.iat, 3600);
    tokens = t.body;
  });
  await check('mock: code replay -> 400', async () => {
    const t = await tokenRequest(oidc.token_endpoint, { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: REDIRECT, client_id: CLIENT });
    assert.equal(t.status, 400);
  });
  await check('mock: MCP initialize + tools/call whoami with the JWT', () => assertMcpWorks(mcp, tokens.access_token, 'mock-oauth-test'));
  let t2, t3;
  await check('mock: refresh rotates the refresh token (client id via HTTP Basic)', async () => {
    const res = await fetch(oidc.token_endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${CLIENT}:`).toString('base64')}` },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token })
    });
    t2 = await json(res);
    seenSecrets.push(t2.access_token, t2.refresh_token);
    assert.equal(res.status, 200, JSON.stringify(t2));
    assert.ok(t2.refresh_token && t2.refresh_token !== tokens.refresh_token);
    assert.equal(t2.scope, 'mcp:tools');
    assert.equal(jwtPayload(t2.access_token).aud, mcp);
    await assertMcpWorks(mcp, t2.access_token, 'mock-oauth-test');
  });
  await check('mock: the old refresh token -> invalid_grant', async () => {
    const r = await tokenRequest(oidc.token_endpoint, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: CLIENT });
    assert.equal(r.status, 400);
    assert.equal(r.body.error, 'invalid_grant');
  });
  await check('mock: an unknown refresh token -> invalid_grant', async () => {
    const r = await tokenRequest(oidc.token_endpoint, { grant_type: 'refresh_token', refresh_token: 'never-issued', client_id: CLIENT });
    assert.equal(r.status, 400);
    assert.equal(r.body.error, 'invalid_grant');
  });
  await check('mock: the new refresh token works; another client may not use it', async () => {
    const other = await tokenRequest(oidc.token_endpoint, { grant_type: 'refresh_token', refresh_token: t2.refresh_token, client_id: 'someone-else' });
    assert.equal(other.status, 400);
    assert.equal(other.body.error, 'invalid_grant');
    const r = await tokenRequest(oidc.token_endpoint, { grant_type: 'refresh_token', refresh_token: t2.refresh_token, client_id: CLIENT });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    t3 = r.body;
  });
  await check('mock: revoked access token -> 401', async () => {
    const res = await form(oidc.revocation_endpoint, { token: t3.access_token, token_type_hint: 'access_token', client_id: CLIENT });
    assert.equal(res.status, 200);
    await assertMcpRejects(mcp, t3.access_token, prm, 'revoked');
  });
  await check('mock: revoked refresh token -> invalid_grant, and its grant\'s access tokens die', async () => {
    const res = await form(oidc.revocation_endpoint, { token: t3.refresh_token, client_id: CLIENT });
    assert.equal(res.status, 200);
    const r = await tokenRequest(oidc.token_endpoint, { grant_type: 'refresh_token', refresh_token: t3.refresh_token, client_id: CLIENT });
    assert.equal(r.status, 400);
    assert.equal(r.body.error, 'invalid_grant');
    await assertMcpRejects(mcp, t2.access_token, prm, 'grant revoked');
  });
  await check('mock: POST /admin/expire-all -> 401 "expired", refresh still works', async () => {
    const p = pkce();
    const c = await auth(p);
    const t = await tokenRequest(oidc.token_endpoint, { grant_type: 'authorization_code', code: c, code_verifier: p.verifier, redirect_uri: REDIRECT, client_id: CLIENT });
    assert.equal(t.status, 200, JSON.stringify(t.body));
    await assertMcpWorks(mcp, t.body.access_token, 'mock-oauth-test');
    const e = await post(`${base}/admin/expire-all`);
    assert.ok(e.expired >= 1);
    const r = await assertMcpRejects(mcp, t.body.access_token, prm, 'expired');
    assert.match(r.www, /expired/);
    const n = await tokenRequest(oidc.token_endpoint, { grant_type: 'refresh_token', refresh_token: t.body.refresh_token, client_id: CLIENT });
    assert.equal(n.status, 200);
    await assertMcpWorks(mcp, n.body.access_token, 'mock-oauth-test');
  });
  await check('mock: a token for another resource (aud) -> 401', async () => {
    const p = pkce();
    const c = await auth(p, { resource: 'http://127.0.0.1:1/elsewhere' });
    const t = await tokenRequest(oidc.token_endpoint, { grant_type: 'authorization_code', code: c, code_verifier: p.verifier, redirect_uri: REDIRECT, client_id: CLIENT });
    assert.equal(t.status, 200);
    assert.equal(jwtPayload(t.body.access_token).aud, 'http://127.0.0.1:1/elsewhere');
    await assertMcpRejects(mcp, t.body.access_token, prm, 'wrong audience');
  });
  await check('mock: /stats', async () => {
    const { body: s } = await getJson(stats);
    assert.equal(s.authorize_requests, 5);
    assert.equal(s.token_requests, 14);
    assert.equal(s.token_errors, 8);
    assert.equal(s.authorization_code_requests, 5); // the wrong-verifier try never reaches the hook; the replay does not either
    assert.equal(s.rejected_code, 2);
    assert.equal(s.refresh_requests, 7);
    assert.equal(s.rejected_refresh, 4);
    assert.equal(s.revocations, 2);
    assert.equal(s.registrations, 0);
    assert.equal(s.mcp_requests_ok, 8);
    assert.equal(s.mcp_requests_unauthorized, 6);
    assert.equal(s.last_resource, 'http://127.0.0.1:1/elsewhere');
  });
  await check('mock: the SDK\'s own client (pre-registered id, OIDC discovery) connects and calls whoami', () =>
    referenceClientFlow(mcp, 'mock-oauth-test', CLIENT));
  await stop(srv, 'mock');

  const strict = await start('mock-server.mjs', ['--expires-in', '2', '--rfc8414', '--require-audience', '--json-response']);
  {
    const { mcp, issuer, prm } = strict.ready;
    await check('mock --rfc8414: /.well-known/oauth-authorization-server = the OIDC document', async () => {
      const a = await getJson(`${issuer}/.well-known/oauth-authorization-server`);
      const b = await getJson(`${issuer}/.well-known/openid-configuration`);
      assert.equal(a.status, 200);
      assert.deepEqual(a.body, b.body);
      oidc = a.body;
    });
    const codeFlow = async (resource) => {
      const p = pkce();
      const a = await authorize(oidc.authorization_endpoint, { response_type: 'code', client_id: CLIENT, redirect_uri: REDIRECT, code_challenge: p.challenge, code_challenge_method: 'S256' });
      const t = await tokenRequest(oidc.token_endpoint, { grant_type: 'authorization_code', code: a.location.searchParams.get('code'), code_verifier: p.verifier, redirect_uri: REDIRECT, client_id: CLIENT, resource });
      assert.equal(t.status, 200, JSON.stringify(t.body));
      return t.body;
    };
    await check('mock --require-audience: a token without resource -> 401 (scope is the mock\'s "dummy")', async () => {
      const t = await codeFlow(undefined);
      assert.equal(t.scope, 'dummy');
      await assertMcpRejects(mcp, t.access_token, prm, 'no audience');
    });
    // JWT exp has whole-second granularity (exp = iat + N, iat rounded down): the token dies
    // between N-1 and N seconds after issue, hence 2 s here rather than 1.
    await check('mock --expires-in 2 --json-response: token works, then expires', async () => {
      const t = await codeFlow(mcp);
      assert.equal(t.expires_in, 2);
      const init = await assertMcpWorks(mcp, t.access_token, 'mock-oauth-test');
      assert.ok(init.type.includes('application/json'), init.type);
      await sleep(2100);
      const r = await assertMcpRejects(mcp, t.access_token, prm, 'expired');
      assert.match(r.www, /expired/);
    });
  }
  await stop(strict, 'mock strict');
}

try {
  await sdkServer();
  await mockServer();
} catch (err) {
  failed++;
  process.stderr.write(`FAIL (aborted) ${err?.stack ?? err}\n`);
} finally {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
}
console.log(`selftest: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
