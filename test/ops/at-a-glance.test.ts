import { beforeAll, describe, expect, it } from 'vitest';
import { manualClock, startTestApp } from '../support/app.ts';
import { seedOpsData } from '../support/ops.ts';
import { useCloseAfterTest, useTestDatabase } from '../support/setup.ts';

const TOKEN = 'ops-glance-token-93d1';
const NOW = new Date('2026-11-25T12:40:00Z');

const database = useTestDatabase();
beforeAll(async () => {
  // The last hour: 1 undeliverable bounce of 121 messages; the last 24 h: 1 complaint of 2913.
  await seedOpsData(database.db, NOW);
});
const closeAfterTest = useCloseAfterTest();

const decodeEntities = (html: string) =>
  html
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, '&');

/** The operator page's verdict on the bounce rate: its tone and the reason printed beside it. */
async function bounceVerdict(env: Record<string, string>, now = NOW) {
  const app = closeAfterTest(
    await startTestApp({
      db: database.db,
      clock: manualClock(now),
      env: { INTERNAL_API_TOKEN: TOKEN, FLAG_POSTMARK_DELIVERY_MONITOR: '1', ...env },
    }),
  );
  const page = await app.app.inject({
    method: 'GET',
    url: '/ops',
    headers: { authorization: `Bearer ${TOKEN}` },
  });
  expect(page.statusCode).toBe(200);
  return {
    tone: /class="rate tone-(\w+)" data-k="bounce-box"/.exec(page.body)?.[1],
    reason: decodeEntities(/data-k="bounce-reason">([^<]*)</.exec(page.body)?.[1] ?? ''),
  };
}

describe('the bounce rate at a glance', () => {
  it('reads healthy under its threshold', async () => {
    await expect(bounceVerdict({ POSTMARK_BOUNCE_ALERT_RATE: '0.01' })).resolves.toEqual({
      tone: 'ok',
      reason: 'below the 1.00% alert threshold',
    });
  });

  it('warns over its threshold when the volume is under the alert minimum, saying why it does not alert', async () => {
    await expect(
      bounceVerdict({ POSTMARK_BOUNCE_ALERT_RATE: '0.005', POSTMARK_ALERT_MIN_VOLUME: '200' }),
    ).resolves.toEqual({
      tone: 'warn',
      reason: 'above the 0.50% threshold; not alerting: volume 121 < minimum 200',
    });
  });

  it('reads as alerting over its threshold with enough volume', async () => {
    await expect(
      bounceVerdict({ POSTMARK_BOUNCE_ALERT_RATE: '0.005', POSTMARK_ALERT_MIN_VOLUME: '50' }),
    ).resolves.toEqual({ tone: 'bad', reason: 'above the 0.50% threshold: alerting' });
  });

  it('says there were no messages rather than a 0 % rate that looks healthy', async () => {
    const weekLater = new Date(NOW.getTime() + 8 * 24 * 3_600_000);
    await expect(bounceVerdict({}, weekLater)).resolves.toEqual({ tone: 'none', reason: 'no messages' });
  });
});
