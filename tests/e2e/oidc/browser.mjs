#!/usr/bin/env node
// A scripted browser for `CRUX_BROWSER` (crux runs `$CRUX_BROWSER <authorization-url>`), made
// for provider.mjs's dev interactions. See ../README.md ("oidc/").
//
// GETs the URL with a cookie jar, follows redirects; on a page with a POST form (the login page:
// any login/password; the consent page) submits it; stops at the first redirect to a loopback
// URL on another origin (crux's redirect URI, http://127.0.0.1:PORT/...), GETs it and exits 0.
// Exits 1 when the provider shows an error page (its `error: ...` lines go to stderr), when the
// redirect carries `error=...` (GET anyway, so crux sees it), or after 20 steps.
// Env: BROWSER_LOGIN (default "crux-test-user"), BROWSER_DENY=1 (abort the consent instead).
const start = process.argv[2];
if (!start) {
  process.stderr.write('usage: browser.mjs <authorization-url>\n');
  process.exit(2);
}
const origin = new URL(start).origin;
const jar = new Map(); // cookie name -> value (one provider origin: no domain/path logic needed)

const cookieHeader = () => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
function keepCookies(res) {
  for (const line of res.headers.getSetCookie?.() ?? []) {
    const [pair] = line.split(';');
    const eq = pair.indexOf('=');
    const name = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    if (/expires=Thu, 01 Jan 1970/i.test(line) || value === '') jar.delete(name);
    else jar.set(name, value);
  }
}

const decode = (s) => s.replace(/&amp;/g, '&').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>');
const attr = (tag, name) => decode(new RegExp(`${name}="([^"]*)"`).exec(tag)?.[1] ?? '');

/** The first POST form of a page: its action and fields (hidden values kept, text/password filled). */
function parseForm(html, base) {
  const form = /<form[^>]*method="post"[^>]*>([\s\S]*?)<\/form>/i.exec(html);
  if (!form) return undefined;
  const fields = new URLSearchParams();
  for (const [input] of form[1].matchAll(/<input[^>]*>/gi)) {
    const name = attr(input, 'name');
    if (!name) continue;
    const type = attr(input, 'type') || 'text';
    fields.set(name, type === 'hidden' ? attr(input, 'value') : type === 'password' ? 'any-password' : process.env.BROWSER_LOGIN || 'crux-test-user');
  }
  return { action: new URL(attr(form[0], 'action'), base), fields };
}

const isLoopbackTarget = (url) => url.origin !== origin && ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);

async function finish(url) {
  const res = await fetch(url, { redirect: 'manual' });
  const err = url.searchParams.get('error');
  if (err) {
    process.stderr.write(`browser: the provider redirected with error=${err}: ${url.searchParams.get('error_description') ?? ''}\n`);
    process.exit(1);
  }
  process.stderr.write(`browser: reached the redirect URI (HTTP ${res.status})\n`);
  process.exit(res.status < 400 ? 0 : 1);
}

let url = new URL(start);
let method = 'GET';
let body;
for (let step = 0; step < 20; step++) {
  if (isLoopbackTarget(url)) await finish(url);
  const res = await fetch(url, {
    method,
    body,
    redirect: 'manual',
    headers: { cookie: cookieHeader(), ...(body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) }
  });
  keepCookies(res);
  method = 'GET';
  body = undefined;
  const location = res.headers.get('location');
  if (res.status >= 300 && res.status < 400 && location) {
    url = new URL(location, url);
    continue;
  }
  const html = await res.text();
  const errors = [...html.matchAll(/<pre><strong>([^<]+)<\/strong>: ([^<]*)<\/pre>/g)].map((m) => `${m[1]}: ${decode(m[2])}`);
  if (res.status >= 400 || errors.length) {
    process.stderr.write(`browser: error page (HTTP ${res.status}) at ${url.pathname}\n${errors.join('\n') || html.slice(0, 300)}\n`);
    process.exit(1);
  }
  const form = parseForm(html, url);
  if (!form) {
    process.stderr.write(`browser: no form and no redirect at ${url.pathname} (HTTP ${res.status})\n`);
    process.exit(1);
  }
  if (process.env.BROWSER_DENY === '1' && form.fields.get('prompt') === 'consent') {
    const abort = /href="([^"]*\/abort)"/.exec(html)?.[1];
    if (abort) {
      url = new URL(decode(abort), url);
      continue;
    }
  }
  url = form.action;
  method = 'POST';
  body = form.fields.toString();
}
process.stderr.write('browser: gave up after 20 steps\n');
process.exit(1);
