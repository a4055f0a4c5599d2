import { beforeAll, describe, expect, it } from 'vitest';
import { manualClock } from '../support/app.ts';
import { type SeededOps, seedOpsData } from '../support/ops.ts';
import { useTestApp, useTestDatabase } from '../support/setup.ts';

const TOKEN = 'ops-cross-site-token-51c0';
const NOW = new Date('2026-11-25T12:40:00Z');
const HOST = 'raptor.test';
const FORM = 'application/x-www-form-urlencoded';

const database = useTestDatabase();
let seeded: SeededOps;
beforeAll(async () => {
  seeded = await seedOpsData(database.db, NOW);
});
const app = useTestApp(() => ({
  db: database.db,
  clock: manualClock(NOW),
  env: {
    INTERNAL_API_TOKEN: TOKEN,
    FLAG_FREESCOUT_GITHUB_AUTOLINK: '1',
    GITHUB_REPO: 'raxx/app',
    GITHUB_ISSUE_BOT_TOKEN: 'ghp_cross_site_test_token',
  },
}));

const signIn = (payload: string, headers: Record<string, string> = {}) =>
  app.app.inject({
    method: 'POST',
    url: '/ops/sign-in',
    headers: { host: HOST, 'content-type': FORM, ...headers },
    payload,
  });
const form = (token: string) => new URLSearchParams({ token }).toString();
const cookieOf = (setCookie: string | string[] | undefined) => String(setCookie).split(';')[0] ?? '';
async function session(): Promise<string> {
  const response = await signIn(form(TOKEN), { 'sec-fetch-site': 'same-origin' });
  expect(response.statusCode).toBe(303);
  return cookieOf(response.headers['set-cookie']);
}

const signOut = (headers: Record<string, string>) =>
  app.app.inject({ method: 'POST', url: '/ops/sign-out', headers: { host: HOST, ...headers } });

/** What browsers send with a form post or fetch, by where the page that sent it came from. */
const allowed: Array<[string, Record<string, string>]> = [
  // Chromium posting the page's own form under `Referrer-Policy: no-referrer`.
  ['Sec-Fetch-Site same-origin with Origin null', { 'sec-fetch-site': 'same-origin', origin: 'null' }],
  ['Sec-Fetch-Site same-origin', { 'sec-fetch-site': 'same-origin', origin: `https://${HOST}` }],
  ['Sec-Fetch-Site none (the person acted)', { 'sec-fetch-site': 'none' }],
  ['no Fetch Metadata, Origin of this host', { origin: `https://${HOST}` }],
  [
    'no Fetch Metadata, Origin null, Referer of this host',
    { origin: 'null', referer: `https://${HOST}/ops` },
  ],
  ['no Fetch Metadata, no Origin, Referer of this host', { referer: `https://${HOST}/ops` }],
  ['no browser headers at all (curl with the cookie)', {}],
];
const refused: Array<[string, Record<string, string>]> = [
  ['Sec-Fetch-Site cross-site', { 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' }],
  // Another port or subdomain of our host: the SameSite cookie goes along, Fetch Metadata tells.
  ['Sec-Fetch-Site same-site', { 'sec-fetch-site': 'same-site', origin: `https://ops.${HOST}` }],
  [
    'Sec-Fetch-Site cross-site, whatever Origin says',
    { 'sec-fetch-site': 'cross-site', origin: `https://${HOST}` },
  ],
  ['no Fetch Metadata, Origin of another host', { origin: 'https://evil.example' }],
  ['no Fetch Metadata, Origin of another port', { origin: `https://${HOST}:8443` }],
  ['no Fetch Metadata, Origin null without a Referer', { origin: 'null' }],
  [
    'no Fetch Metadata, Origin null, Referer of another host',
    { origin: 'null', referer: 'https://evil.example/' },
  ],
  ['no Fetch Metadata, no Origin, Referer of another host', { referer: 'https://evil.example/x' }],
  ['no Fetch Metadata, an Origin that is no URL', { origin: 'garbage' }],
];

describe('cross-site protection of state-changing requests carrying the session cookie', () => {
  it.each(allowed)('signs out on %s', async (_name, headers) => {
    const response = await signOut({ cookie: await session(), ...headers });
    expect(response.statusCode).toBe(303);
    expect(response.headers.location).toBe('/ops/sign-in');
    expect(String(response.headers['set-cookie'])).toMatch(/^raptor_ops_session=; .*Max-Age=0/);
  });

  it.each(refused)('refuses to sign out on %s, leaving the cookie', async (_name, headers) => {
    const response = await signOut({ cookie: await session(), ...headers });
    expect(response.statusCode).toBe(403);
    expect(response.json()).toMatchObject({ error: 'cross_site_request' });
    expect(response.headers['set-cookie']).toBeUndefined();
  });

  it('signs out a browser whose session has already ended', async () => {
    const response = await signOut({ 'sec-fetch-site': 'same-origin', cookie: 'raptor_ops_session=1.x' });
    expect(response.statusCode).toBe(303);
    expect(String(response.headers['set-cookie'])).toMatch(/Max-Age=0/);
  });

  it.each(refused)('refuses a Retry on %s and leaves the work item failed', async (_name, headers) => {
    const [failed] = seeded.failedWork;
    const response = await app.app.inject({
      method: 'POST',
      url: `/api/_internal/autolink/deliveries/${failed?.id}/retry`,
      headers: { host: HOST, cookie: await session(), ...headers },
    });
    expect(response.statusCode).toBe(403);
    expect(response.json()).toMatchObject({ error: 'cross_site_request' });
    const row = await database.db
      .selectFrom('autolink_delivery')
      .select('status')
      .where('id', '=', failed?.id ?? 0)
      .executeTakeFirstOrThrow();
    expect(row.status).toBe('failed');
  });

  it('lets a Retry carrying the bearer token through whatever the browser headers say', async () => {
    const [, failed] = seeded.failedWork;
    const response = await app.app.inject({
      method: 'POST',
      url: `/api/_internal/autolink/deliveries/${failed?.id}/retry`,
      headers: { host: HOST, authorization: `Bearer ${TOKEN}`, 'sec-fetch-site': 'cross-site' },
    });
    expect(response.statusCode).toBe(202);
  });

  it('refuses a cross-site sign-in: the form again for a form post, JSON for a JSON client', async () => {
    const page = await signIn(form(TOKEN), { 'sec-fetch-site': 'cross-site' });
    expect(page.statusCode).toBe(403);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.body).toContain('<form method="post" action="/ops/sign-in">');
    expect(page.headers['set-cookie']).toBeUndefined();
    const json = await signIn(JSON.stringify({ token: TOKEN }), {
      'content-type': 'application/json',
      'sec-fetch-site': 'same-site',
    });
    expect(json.statusCode).toBe(403);
    expect(json.json()).toMatchObject({ error: 'cross_site_request' });
  });
});

describe('signing in', () => {
  it('answers a form post with a redirect to /ops and the cookie', async () => {
    const response = await signIn(form(TOKEN), { 'sec-fetch-site': 'same-origin', origin: 'null' });
    expect(response.statusCode).toBe(303);
    expect(response.headers.location).toBe('/ops');
    expect(String(response.headers['set-cookie'])).toMatch(/^raptor_ops_session=\d+\./);
  });

  it('answers a mistyped token in a form with the form again and the error, as HTML', async () => {
    for (const token of ['not-the-token', 'x'.repeat(1001)]) {
      const response = await signIn(form(token));
      expect(response.statusCode).toBe(401);
      expect(response.headers['content-type']).toMatch(/^text\/html/);
      expect(response.body).toContain('That token is not valid.');
      expect(response.body).toContain('<form method="post" action="/ops/sign-in">');
      expect(response.headers['set-cookie']).toBeUndefined();
    }
  });

  it('answers a JSON client with the redirect and cookie, or a JSON error', async () => {
    const json = (body: unknown) => signIn(JSON.stringify(body), { 'content-type': 'application/json' });
    const ok = await json({ token: TOKEN });
    expect(ok.statusCode).toBe(303);
    expect(String(ok.headers['set-cookie'])).toMatch(/^raptor_ops_session=\d+\./);
    const wrong = await json({ token: 'not-the-token' });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json()).toMatchObject({ error: 'unauthorized' });
    const invalid = await json({ token: 42 });
    expect(invalid.statusCode).toBe(400);
    expect(invalid.json()).toMatchObject({ error: 'invalid_payload' });
  });

  it('sends every page with Referrer-Policy same-origin, so its forms post a real Origin', async () => {
    const pages = [
      await app.app.inject({ method: 'GET', url: '/ops/sign-in' }),
      await app.app.inject({ method: 'GET', url: '/ops', headers: { accept: 'text/html' } }),
      await app.app.inject({ method: 'GET', url: '/ops', headers: { cookie: await session() } }),
      await signIn(form('not-the-token')),
    ];
    for (const page of pages) {
      expect(page.headers['content-type']).toMatch(/^text\/html/);
      expect(page.headers['referrer-policy']).toBe('same-origin');
      expect(page.headers['x-content-type-options']).toBe('nosniff');
    }
  });
});
