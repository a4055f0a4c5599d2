import { describe, expect, it, vi } from 'vitest';
import { DAY_MS, HOUR_MS, MINUTE_MS, recordPostmarkEvent } from '../../src/features/postmark/events.ts';
import { interpretPostmarkPayload, type PostmarkEvent } from '../../src/features/postmark/payload.ts';
import { prunePostmarkEvents } from '../../src/features/postmark/retention.ts';
import { manualClock, startTestApp } from '../support/app.ts';
import { bouncePayload, deliveryPayload } from '../support/postmark.ts';
import { useTestDatabase } from '../support/setup.ts';

const database = useTestDatabase({ truncateBeforeEach: ['postmark_event', 'postmark_event_rollup'] });

const NOW = new Date('2026-11-24T12:00:00Z');

function eventOf(payload: unknown): PostmarkEvent {
  const delivery = interpretPostmarkPayload(payload, undefined, NOW);
  if (delivery.kind !== 'event') throw new Error('expected a stored record type');
  return delivery.event;
}

async function recordAt(ageMs: number, count: number) {
  for (let index = 0; index < count; index += 1) {
    const payload = index % 2 === 0 ? deliveryPayload() : bouncePayload();
    await recordPostmarkEvent(
      { db: database.db, clock: { now: () => new Date(NOW.getTime() - ageMs) } },
      eventOf(payload),
    );
  }
}

/** The database, on a clock stopped at NOW. */
function atNow() {
  return { db: database.db, clock: { now: () => NOW } };
}

async function ages() {
  const rows = await database.db.selectFrom('postmark_event').select('recorded_at').execute();
  return rows.map((row) => (NOW.getTime() - new Date(row.recorded_at).getTime()) / DAY_MS);
}

describe('pruning Postmark events', () => {
  it('deletes events older than the retention in batches and keeps the rest', async () => {
    await recordAt(120 * DAY_MS, 7);
    await recordAt(91 * DAY_MS, 5);
    await recordAt(89 * DAY_MS, 3);
    await recordAt(HOUR_MS, 2);

    const pruned = await prunePostmarkEvents(atNow(), { retentionDays: 90, batchSize: 3 });
    expect(pruned.events).toBe(12);
    expect((await ages()).sort((a, b) => b - a)).toEqual([89, 89, 89, 1 / 24, 1 / 24]);
  });

  it('follows POSTMARK_EVENT_RETENTION_DAYS', async () => {
    await recordAt(8 * DAY_MS, 2);
    await recordAt(6 * DAY_MS, 2);
    expect((await prunePostmarkEvents(atNow(), { retentionDays: 7 })).events).toBe(2);
    expect(await ages()).toEqual([6, 6]);
  });

  it('does nothing when nothing is old enough', async () => {
    await recordAt(MINUTE_MS, 3);
    expect(await prunePostmarkEvents(atNow(), { retentionDays: 90 })).toEqual({
      events: 0,
      rollups: 0,
    });
    expect(await ages()).toHaveLength(3);
  });

  it('drops rollups no 24-hour window reads any more', async () => {
    await recordAt(2 * DAY_MS, 2);
    await recordAt(HOUR_MS, 2);
    const pruned = await prunePostmarkEvents(atNow(), { retentionDays: 90 });
    expect(pruned.events).toBe(0);
    expect(pruned.rollups).toBeGreaterThan(0);
    const minutes = await database.db.selectFrom('postmark_event_rollup').select('minute').execute();
    expect(minutes.every((row) => NOW.getTime() - new Date(row.minute).getTime() <= HOUR_MS)).toBe(true);
  });

  it('stops between batches when asked to', async () => {
    await recordAt(100 * DAY_MS, 4);
    const controller = new AbortController();
    controller.abort();
    const pruned = await prunePostmarkEvents(atNow(), {
      retentionDays: 90,
      batchSize: 2,
      signal: controller.signal,
    });
    expect(pruned.events).toBe(0);
    expect(await ages()).toHaveLength(4);
  });
});

describe('the retention job', () => {
  it('prunes in the background once the app runs its background jobs, and holds the lease meanwhile', async () => {
    await recordAt(10 * DAY_MS, 3);
    await recordAt(DAY_MS, 1);
    const app = await startTestApp({
      db: database.db,
      env: { POSTMARK_EVENT_RETENTION_DAYS: '7', LOG_LEVEL: 'silent' },
      clock: manualClock(NOW),
      backgroundJobs: true,
    });
    try {
      await vi.waitFor(async () => expect(await ages()).toEqual([1]));
      const lease = await database.db
        .selectFrom('job_lease')
        .select('name')
        .where('name', '=', 'postmark-retention')
        .execute();
      expect(lease).toEqual([{ name: 'postmark-retention' }]);
    } finally {
      await app.close();
    }
    expect(await database.db.selectFrom('job_lease').select('name').execute()).toEqual([]);
  });
});
