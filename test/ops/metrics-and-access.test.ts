import { beforeAll, describe, expect, it } from 'vitest';
import { createClients } from '../../src/clients/index.ts';
import { loadConfig } from '../../src/config.ts';
import { manualClock, startTestApp } from '../support/app.ts';
import { startFakeGitHub } from '../support/fake-github.ts';
import { startFakeSlack } from '../support/fake-slack.ts';
import { conversationPayload, freescoutDelivery } from '../support/freescout-delivery.ts';
import { type SeededOps, seedOpsData } from '../support/ops.ts';
import { useFixture, useTestApp, useTestDatabase } from '../support/setup.ts';

const TOKEN = 'ops-internal-token-77de';
const AUDIT_SECRET = 'audit-secret-metrics';
const NOW = new Date('2026-11-25T12:40:00Z');
const HOST = 'raptor.test';
const auth = { authorization: `Bearer ${TOKEN}` };

const database = useTestDatabase();
let seeded: SeededOps;
beforeAll(async () => {
  seeded = await seedOpsData(database.db, NOW);
});
const slack = useFixture(() => startFakeSlack());
const github = useFixture(() => startFakeGitHub({ owner: 'raxx', repo: 'app' }));
const app = useTestApp(() => {
  const env = {
    GITHUB_REPO: 'raxx/app',
    GITHUB_ISSUE_BOT_TOKEN: 'ghp_metrics_test_token',
    GITHUB_API_URL: github.url,
    INTERNAL_API_TOKEN: TOKEN,
    FLAG_FREESCOUT_WEBHOOK_RECEIVE: '1',
    FREESCOUT_AUDIT_WEBHOOK_SECRET: AUDIT_SECRET,
    FLAG_FREESCOUT_GITHUB_AUTOLINK: '1',
    SLACK_BOT_TOKEN: 'xoxb-metrics-test',
    SLACK_API_URL: slack.url,
  };
  return { db: database.db, clock: manualClock(NOW), env, clients: createClients(loadConfig(env)) };
});

async function scrape(): Promise<string> {
  const response = await app.app.inject({ method: 'GET', url: '/metrics', headers: auth });
  expect(response.statusCode).toBe(200);
  expect(response.headers['content-type']).toMatch(/^text\/plain/);
  return response.body;
}

const sample = (text: string, series: string) => {
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

describe('GET /metrics', () => {
  it('refuses a scrape without the token', async () => {
    const response = await app.app.inject({ method: 'GET', url: '/metrics' });
    expect(response.statusCode).toBe(401);
  });

  it('counts requests by route and status, and signature failures', async () => {
    const good = freescoutDelivery(conversationPayload(), { secret: AUDIT_SECRET, event: 'convo.status' });
    const bad = freescoutDelivery(conversationPayload(), { secret: 'wrong', event: 'convo.status' });
    const url = '/api/internal/freescout-webhook/audit';
    await app.app.inject({ method: 'POST', url, ...good });
    await app.app.inject({ method: 'POST', url, ...bad });
    const text = await scrape();
    expect(sample(text, `raptor_http_requests_total{method="POST",route="${url}",status="200"}`)).toBe(1);
    expect(sample(text, `raptor_http_requests_total{method="POST",route="${url}",status="401"}`)).toBe(1);
    expect(sample(text, `raptor_webhook_signature_failures_total{route="${url}"}`)).toBe(1);
  });

  it('reports work, alerts and cache gauges from the database', async () => {
    const text = await scrape();
    expect(sample(text, 'raptor_database_up')).toBe(1);
    expect(sample(text, 'raptor_work_items{queue="autolink",status="failed"}')).toBe(
      seeded.failedWork.length,
    );
    expect(sample(text, 'raptor_work_items{queue="autolink",status="pending"}')).toBe(seeded.pendingWork);
    expect(sample(text, 'raptor_work_oldest_pending_age_seconds{queue="autolink"}')).toBe(8 * 60);
    expect(sample(text, 'raptor_alerts_sent{kind="bounce_rate"}')).toBe(1);
    expect(sample(text, 'raptor_freescout_cache_rows{status="closed"}')).toBe(seeded.cache.closed);
    expect(sample(text, 'raptor_freescout_cache_rows{status="deleted"}')).toBe(seeded.cache.deleted);
    expect(sample(text, 'raptor_freescout_cache_expired_rows')).toBe(seeded.cache.expired);
    expect(sample(text, 'raptor_freescout_poll_last_run_age_seconds')).toBe(45);
    expect(sample(text, 'raptor_freescout_cache_newest_update_age_seconds')).toBe(60);
  });

  it("includes Node's default process metrics", async () => {
    const text = await scrape();
    expect(text).toContain('process_cpu_user_seconds_total');
    expect(text).toContain('nodejs_heap_size_used_bytes');
    expect(text).toContain('nodejs_eventloop_lag_seconds');
  });

  it('counts calls to Slack by outcome with their durations', async () => {
    const before =
      sample(await scrape(), 'raptor_upstream_requests_total{upstream="slack",outcome="ok"}') ?? 0;
    const clients = createClients(
      loadConfig({ SLACK_BOT_TOKEN: 'xoxb-metrics-test', SLACK_API_URL: slack.url }),
    );
    await clients.slack?.postMessage({ channel: 'D0AJ7K184TV', text: 'metrics test' });
    slack.failNext({ status: 500 });
    await clients.slack?.postMessage({ channel: 'D0AJ7K184TV', text: 'metrics test' }).catch(() => undefined);
    await clients.slack?.close();
    const text = await scrape();
    expect(sample(text, 'raptor_upstream_requests_total{upstream="slack",outcome="ok"}')).toBe(before + 1);
    expect(
      sample(text, 'raptor_upstream_requests_total{upstream="slack",outcome="http_5xx"}'),
    ).toBeGreaterThanOrEqual(1);
    expect(
      sample(text, 'raptor_upstream_request_duration_seconds_count{upstream="slack",outcome="ok"}'),
    ).toBe(before + 1);
  });

  it("counts calls to GitHub made through Octokit's fetch", async () => {
    const series = 'raptor_upstream_requests_total{upstream="github",outcome="ok"}';
    const before = sample(await scrape(), series) ?? 0;
    const clients = createClients(
      loadConfig({
        GITHUB_REPO: 'raxx/app',
        GITHUB_ISSUE_BOT_TOKEN: 'ghp_metrics_test_token',
        GITHUB_API_URL: github.url,
      }),
    );
    await clients.github?.getRepository();
    expect(sample(await scrape(), series)).toBe(before + 1);
  });
});

describe('reaching /ops from a browser with INTERNAL_API_TOKEN', () => {
  const signIn = (token: string, headers: Record<string, string> = {}) =>
    app.app.inject({
      method: 'POST',
      url: '/ops/sign-in',
      headers: {
        host: HOST,
        'content-type': 'application/x-www-form-urlencoded',
        origin: `https://${HOST}`,
        ...headers,
      },
      payload: new URLSearchParams({ token }).toString(),
    });
  const cookieOf = (setCookie: string | string[] | undefined) => String(setCookie).split(';')[0] ?? '';

  it('refuses /ops without credentials: JSON for curl, the sign-in form for a browser', async () => {
    const curl = await app.app.inject({ method: 'GET', url: '/ops' });
    expect(curl.statusCode).toBe(401);
    expect(curl.json()).toMatchObject({ error: 'unauthorized' });
    const browser = await app.app.inject({ method: 'GET', url: '/ops', headers: { accept: 'text/html' } });
    expect(browser.statusCode).toBe(401);
    expect(browser.headers['content-type']).toMatch(/^text\/html/);
    expect(browser.body).toContain('<form method="post" action="/ops/sign-in">');
    expect(browser.body).not.toContain('Health');
  });

  it('serves the page to a bearer token with a policy allowing nothing outside the service', async () => {
    const response = await app.app.inject({ method: 'GET', url: '/ops', headers: auth });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-security-policy']).toContain("default-src 'none'");
    expect(response.headers['content-security-policy']).toContain("connect-src 'self'");
    // Links to tickets and issues navigate away; nothing is loaded from elsewhere.
    expect(response.body).not.toMatch(/\ssrc=/);
    expect(response.body).not.toMatch(/<link[^>]+stylesheet/);
  });

  it('exchanges the token for an HttpOnly, SameSite=Strict session cookie that opens the page', async () => {
    expect((await signIn('not-the-token')).statusCode).toBe(401);
    const response = await signIn(TOKEN, { 'x-forwarded-proto': 'https' });
    expect(response.statusCode).toBe(303);
    expect(response.headers.location).toBe('/ops');
    const setCookie = String(response.headers['set-cookie']);
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Strict/);
    expect(setCookie).toMatch(/Secure/);
    expect(setCookie).toMatch(/Max-Age=\d+/);
    expect(setCookie).not.toContain(TOKEN);
    const cookie = cookieOf(setCookie);
    const page = await app.app.inject({ method: 'GET', url: '/ops', headers: { cookie } });
    expect(page.statusCode).toBe(200);
    const summary = await app.app.inject({
      method: 'GET',
      url: '/api/_internal/ops/summary',
      headers: { cookie },
    });
    expect(summary.statusCode).toBe(200);
    const forged = await app.app.inject({
      method: 'GET',
      url: '/ops',
      headers: {
        cookie: cookie.replace(/\.(.)/, (_match, first: string) => `.${first === 'A' ? 'B' : 'A'}`),
      },
    });
    expect(forged.statusCode).toBe(401);
  });

  it('refuses a cross-site sign-in and a cross-site Retry, and lets the page itself retry', async () => {
    expect((await signIn(TOKEN, { origin: 'https://evil.example' })).statusCode).toBe(403);
    const cookie = cookieOf((await signIn(TOKEN)).headers['set-cookie']);
    const [failed] = seeded.failedWork;
    const retry = (origin: string) =>
      app.app.inject({
        method: 'POST',
        url: `/api/_internal/autolink/deliveries/${failed?.id}/retry`,
        headers: { cookie, host: HOST, origin },
      });
    const crossSite = await retry('https://evil.example');
    expect(crossSite.statusCode).toBe(403);
    expect(crossSite.json()).toMatchObject({ error: 'cross_site_request' });
    const row = await database.db
      .selectFrom('autolink_delivery')
      .select('status')
      .where('id', '=', failed?.id ?? 0)
      .executeTakeFirstOrThrow();
    expect(row.status).toBe('failed');
    expect((await retry(`https://${HOST}`)).statusCode).toBe(202);
  });
});

describe('an operator page with neither token nor Cloudflare Access', () => {
  it('opens on loopback without signing in', async () => {
    const local = await startTestApp({ db: database.db, clock: manualClock(NOW) });
    const response = await local.app.inject({ method: 'GET', url: '/ops', remoteAddress: '127.0.0.1' });
    expect(response.statusCode).toBe(200);
    const remote = await local.app.inject({ method: 'GET', url: '/metrics', remoteAddress: '203.0.113.9' });
    expect(remote.statusCode).toBe(401);
    await local.close();
  });
});
