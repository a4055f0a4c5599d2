import { beforeAll, describe, expect, it } from 'vitest';
import type { OpsSummary } from '../../src/features/ops/summary.ts';
import { manualClock } from '../support/app.ts';
import { type SeededOps, seedOpsData } from '../support/ops.ts';
import { useTestApp, useTestDatabase } from '../support/setup.ts';

const TOKEN = 'ops-internal-token-5ae1';
const NOW = new Date('2026-11-25T12:40:00Z');
const auth = { authorization: `Bearer ${TOKEN}` };

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
    FLAG_FREESCOUT_WEBHOOK_RECEIVE: '1',
    FREESCOUT_AUDIT_WEBHOOK_SECRET: 'audit-secret-1234',
    FLAG_FREESCOUT_GITHUB_AUTOLINK: '1',
    FLAG_FREESCOUT_RBAC_REVOKE: '1',
    FREESCOUT_API_URL: 'http://127.0.0.1:9/api',
    FREESCOUT_API_KEY: 'freescout-key-1234',
  },
}));

async function summary(): Promise<OpsSummary> {
  const response = await app.app.inject({ method: 'GET', url: '/api/_internal/ops/summary', headers: auth });
  expect(response.statusCode).toBe(200);
  return response.json();
}

describe('GET /api/_internal/ops/summary', () => {
  it('refuses a request without the token', async () => {
    const response = await app.app.inject({ method: 'GET', url: '/api/_internal/ops/summary' });
    expect(response.statusCode).toBe(401);
    expect(response.json()).toMatchObject({ error: 'unauthorized' });
  });

  it('gives each feature its flag and the names of what its configuration misses, never values', async () => {
    const data = await summary();
    const byFeature = Object.fromEntries(data.health.map((feature) => [feature.feature, feature]));
    expect(byFeature.freescout_audit).toMatchObject({
      flag: 'FLAG_FREESCOUT_WEBHOOK_RECEIVE',
      enabled: true,
      ready: true,
      missing: [],
    });
    expect(byFeature.autolink).toMatchObject({ enabled: true, ready: false });
    expect(byFeature.autolink?.missing).toEqual(
      expect.arrayContaining(['FREESCOUT_WEBHOOK_SECRET', 'GITHUB_REPO', 'FREESCOUT_AUTOLINK_MAILBOX_IDS']),
    );
    expect(byFeature.postmark).toMatchObject({ enabled: false, ready: false });
    expect(JSON.stringify(data)).not.toContain('freescout-key-1234');
    expect(JSON.stringify(data)).not.toContain('audit-secret-1234');
    expect(byFeature.freescout_audit?.last_delivery).toMatchObject({ status: 200, event: 'convo.status' });
    expect(byFeature.freescout_rbac?.errors_last_hour).toBe(2);
  });

  it('shows the Postmark rates, hourly series, latest bounces and alerts from the rollups', async () => {
    const { postmark } = await summary();
    expect(postmark.hourly_24h).toHaveLength(24);
    expect(postmark.hourly_7d).toHaveLength(168);
    const sum = (
      hours: OpsSummary['postmark']['hourly_24h'],
      key: 'delivered' | 'bounced' | 'spam_complaint',
    ) => hours.reduce((total, hour) => total + hour[key], 0);
    expect(sum(postmark.hourly_24h, 'delivered')).toBe(seeded.postmark24h.delivered);
    expect(sum(postmark.hourly_24h, 'bounced')).toBe(seeded.postmark24h.bounced);
    expect(sum(postmark.hourly_24h, 'spam_complaint')).toBe(seeded.postmark24h.spam);
    expect(sum(postmark.hourly_7d, 'delivered')).toBeGreaterThan(seeded.postmark24h.delivered);
    expect(postmark.rates).toMatchObject({ bounced_1h: 1, messages_1h: 121 });
    expect(postmark.rates.bounce_rate_1h).toBeCloseTo(1 / 121);
    expect(postmark.thresholds).toEqual({ bounce_rate: 0.01, spam_rate: 0.001, min_volume: 50 });
    expect(postmark.latest_problems.map((event) => event.recipient)).toEqual(
      [...seeded.problems].reverse().map((problem) => problem.recipient),
    );
    expect(postmark.alerts_sent).toEqual([
      expect.objectContaining({ kind: 'bounce_rate', events: 9, messages: 129 }),
    ]);
  });

  it('shows the FreeScout cache by status, the poller lag and signature failures per route', async () => {
    const { freescout } = await summary();
    const { expired, ...byStatus } = seeded.cache;
    expect(freescout.cache.by_status).toEqual(byStatus);
    expect(freescout.cache.expired).toBe(expired);
    expect(freescout.cache.total).toBe(12);
    expect(freescout.poller.last_run_at).toBe(seeded.pollLastRun.toISOString());
    expect(freescout.poller.lag_seconds).toBe(45);
    expect(freescout.signature_failures_24h).toContainEqual(seeded.signatureFailures);
  });

  it('shows GitHub links, pending and failed work with its last error, and Investigate tickets', async () => {
    const { github, investigate } = await summary();
    expect(github.work).toMatchObject({ pending: 2, failed: 2, processing: 0 });
    expect(github.work.oldest_pending_age_seconds).toBe(8 * 60);
    expect(github.failed.map((item) => ({ id: item.id, lastError: item.last_error }))).toEqual(
      [...seeded.failedWork].reverse(),
    );
    expect(github.links.map((link) => link.ticket_id)).toEqual(seeded.links.map((link) => link.ticket));
    expect(investigate.tickets.map((ticket) => [ticket.surface, ticket.clicks_absorbed])).toEqual(
      seeded.investigate.map((ticket) => [ticket.surface, ticket.clicks]),
    );
    expect(investigate.tickets[0]?.ticket_url).toBe('http://127.0.0.1:9/api/conversation/8801');
  });
});
