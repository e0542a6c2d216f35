#!/usr/bin/env node
// Self-test of the OAuth kit, by hand (no crux): provider.mjs + browser.mjs + both era servers
// in --auth oauth mode. DCR (public client) -> authorize (PKCE S256, resource, offline_access)
// through browser.mjs -> code exchange -> MCP call on each era server -> refresh (rotated; the
// old refresh token is dead) -> revocation -> a restarted provider has forgotten the client.
// Run: node tests/e2e/oidc/selftest.mjs   (prints "oidc selftest: N passed, 0 failed")
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import readline from 'node:readline';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
let passed = 0;
let failed = 0;
const check = (ok, what) => {
  if (ok) passed++;
  else failed++;
  process.stderr.write(`${ok ? 'ok  ' : 'FAIL'} ${what}\n`);
};

const children = [];
function start(script, args = [], env = {}) {
  const child = spawn('node', [script, ...args], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'inherit'] });
  children.push(child);
  return new Promise((resolve) => readline.createInterface({ input: child.stdout }).once('line', (l) => resolve({ child, ready: JSON.parse(l) })));
}
const stop = (c) => new Promise((r) => (c.exitCode !== null ? r() : (c.once('exit', r), c.kill())));

const b64url = (b) => b.toString('base64url');
const form = (obj) => new URLSearchParams(obj).toString();
const post = async (url, body, type = 'application/x-www-form-urlencoded') =>
  fetch(url, { method: 'POST', headers: { 'content-type': type }, body });

/** One sign-in through browser.mjs; resolves with the token response. */
async function signIn(meta, clientId, resource) {
  const verifier = b64url(randomBytes(32));
  const state = b64url(randomBytes(8));
  let gotCode;
  const codeP = new Promise((r) => (gotCode = r));
  const cb = http.createServer((req, res) => {
    const u = new URL(req.url, 'http://127.0.0.1');
    res.end('done');
    gotCode(u.searchParams);
  });
  await new Promise((r) => cb.listen(0, '127.0.0.1', r));
  const redirect = `http://127.0.0.1:${cb.address().port}/callback`;
  const auth = new URL(meta.authorization_endpoint);
  auth.search = form({
    client_id: clientId, response_type: 'code', redirect_uri: redirect, scope: 'openid offline_access mcp', state, resource,
    code_challenge: b64url(createHash('sha256').update(verifier).digest()), code_challenge_method: 'S256', prompt: 'consent'
  });
  const browser = spawn('node', [path.join(here, 'browser.mjs'), auth.href], { stdio: ['ignore', 'inherit', 'inherit'] });
  const [params, code] = await Promise.all([codeP, new Promise((r) => browser.on('exit', r))]);
  cb.close();
  check(code === 0 && params.get('state') === state && params.get('code'), 'browser.mjs logged in, consented, reached the redirect URI');
  const res = await post(meta.token_endpoint, form({ grant_type: 'authorization_code', code: params.get('code'), redirect_uri: redirect, code_verifier: verifier, client_id: clientId, resource }));
  return res.json();
}

try {
  const { child: op, ready: opReady } = await start(path.join(here, 'provider.mjs'));
  const meta = await (await fetch(`${opReady.issuer}/.well-known/openid-configuration`)).json();
  check(meta.registration_endpoint && meta.revocation_endpoint && meta.code_challenge_methods_supported?.includes('S256'), 'discovery names registration, revocation, S256');

  const servers = {};
  for (const era of ['legacy', 'modern']) {
    servers[era] = (await start(path.join(here, '../eras', `${era}-server.mjs`), ['--auth', 'oauth', '--issuer', opReady.issuer])).ready;
    const r = await post(servers[era].mcp, '{}', 'application/json');
    check(r.status === 401 && (r.headers.get('www-authenticate') ?? '').includes(`resource_metadata="${servers[era].prm}"`), `${era}: 401 names the PRM`);
    const prm = await (await fetch(servers[era].prm)).json();
    check(prm.resource === servers[era].mcp && prm.authorization_servers[0] === opReady.issuer, `${era}: PRM names the issuer`);
  }

  const reg = await (await post(meta.registration_endpoint, JSON.stringify({
    redirect_uris: ['http://127.0.0.1/callback'], application_type: 'native', token_endpoint_auth_method: 'none',
    grant_types: ['authorization_code', 'refresh_token'], response_types: ['code']
  }), 'application/json')).json();
  check(typeof reg.client_id === 'string', 'DCR registered a public client');

  const resource = servers.modern.mcp;
  const tokens = await signIn(meta, reg.client_id, resource);
  check(tokens.access_token && tokens.refresh_token, 'code exchange: access + refresh token (offline_access)');
  const claims = JSON.parse(Buffer.from(tokens.access_token.split('.')[1], 'base64url'));
  check(claims.aud === resource, 'the access token is a JWT for the MCP URL');

  const headers = { authorization: `Bearer ${tokens.access_token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'server/discover' };
  const meta26 = { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientInfo': { name: 's', version: '1' }, 'io.modelcontextprotocol/clientCapabilities': {} };
  const d = await fetch(resource, { method: 'POST', headers, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'server/discover', params: { _meta: meta26 } }) });
  check(d.status === 200, 'modern server accepts the token (server/discover)');
  const wrongAud = await fetch(servers.legacy.mcp, { method: 'POST', headers, body: '{}' });
  check(wrongAud.status === 401, 'legacy server refuses a token for another audience');

  const refreshed = await (await post(meta.token_endpoint, form({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: reg.client_id }))).json();
  check(refreshed.access_token && refreshed.refresh_token && refreshed.refresh_token !== tokens.refresh_token, 'refresh rotates the refresh token');
  check(JSON.parse(Buffer.from(refreshed.access_token.split('.')[1], 'base64url')).aud === resource, 'the refreshed token keeps the audience');
  const old = await post(meta.token_endpoint, form({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: reg.client_id }));
  check(old.status === 400 && (await old.json()).error === 'invalid_grant', 'the old refresh token is dead');

  const status = async (t) => (await (await post(`${opReady.admin}/refresh-token-status`, JSON.stringify({ token: t }), 'application/json')).json()).active;
  const rt = refreshed.refresh_token;
  // the reuse of the old token revoked the whole grant (oidc-provider's rotation safety)
  check((await status(rt)) === false, 'reusing a rotated refresh token killed the grant');
  const again = await signIn(meta, reg.client_id, resource);
  check(await status(again.refresh_token), 'refresh-token-status: active after a new sign-in');
  const rev = await post(meta.revocation_endpoint, form({ token: again.refresh_token, token_type_hint: 'refresh_token', client_id: reg.client_id }));
  check(rev.status === 200 && (await status(again.refresh_token)) === false, 'revocation kills the grant');

  const s = await (await fetch(opReady.stats)).json();
  check(s.registrations === 1 && s.authorization_code_grants === 2 && s.refresh_grants === 1 && s.refresh_errors === 1 && s.revocations === 1, `provider stats ${JSON.stringify({ ...s, refresh_times: s.refresh_times.length })}`);

  const port = new URL(opReady.issuer).port;
  await stop(op);
  const { ready: op2 } = await start(path.join(here, 'provider.mjs'), [], { OIDC_PORT: port });
  check(op2.issuer === opReady.issuer, 'restarted on the same port');
  const lost = await post(meta.token_endpoint, form({ grant_type: 'refresh_token', refresh_token: again.refresh_token, client_id: reg.client_id }));
  check(lost.status >= 400 && ['invalid_client', 'invalid_grant'].includes((await lost.json()).error), 'a restarted provider has forgotten the client');
} catch (err) {
  check(false, `unexpected: ${err?.stack ?? err}`);
} finally {
  await Promise.all(children.map(stop));
}
process.stdout.write(`oidc selftest: ${passed} passed, ${failed} failed\n`);
process.exit(failed ? 1 : 0);
