import { describe, expect, it } from 'vitest';
import { recordPostmarkEvent } from '../../src/features/postmark/events.ts';
import { interpretPostmarkPayload, type PostmarkEvent } from '../../src/features/postmark/payload.ts';
import { prunePostmarkEvents } from '../../src/features/postmark/retention.ts';
import { bouncePayload, deliveryPayload } from '../support/postmark.ts';
import { useTestDatabase } from '../support/setup.ts';

const HOUR = 60 * 60_000;
const NOW = new Date('2026-11-25T12:20:00Z');

const database = useTestDatabase();

function eventOf(payload: Record<string, unknown>): PostmarkEvent {
  const interpreted = interpretPostmarkPayload(payload, Buffer.from(JSON.stringify(payload)), NOW);
  if (interpreted.kind !== 'event') throw new Error('not a stored record type');
  return interpreted.event;
}

const hourly = () =>
  database.db
    .selectFrom('postmark_event_hourly')
    .select(['hour', 'event_type', 'count'])
    .orderBy('hour')
    .execute();

describe('hourly Postmark rollups for the 7-day chart', () => {
  it('compacts each completed hour before its minutes are pruned, the same on every run', async () => {
    // 3 deliveries and a bounce 2 h ago, 2 deliveries 30 h ago (minutes already due for pruning).
    for (let index = 0; index < 3; index++) {
      await recordPostmarkEvent(
        { db: database.db, clock: { now: () => new Date(NOW.getTime() - 2 * HOUR) } },
        eventOf(deliveryPayload()),
      );
    }
    await recordPostmarkEvent(
      { db: database.db, clock: { now: () => new Date(NOW.getTime() - 2 * HOUR) } },
      eventOf(bouncePayload()),
    );
    await recordPostmarkEvent(
      { db: database.db, clock: { now: () => new Date(NOW.getTime() - 10 * 60_000) } },
      eventOf(deliveryPayload()),
    );
    await database.db
      .insertInto('postmark_event_hourly')
      .values({ hour: new Date('2026-11-24T06:00:00Z'), event_type: 'Delivery', count: 2 })
      .execute();
    await database.db
      .insertInto('postmark_event_hourly')
      .values({ hour: new Date('2026-11-16T06:00:00Z'), event_type: 'Delivery', count: 5 })
      .execute();

    for (let run = 0; run < 2; run++)
      await prunePostmarkEvents({ db: database.db, clock: { now: () => NOW } }, { retentionDays: 90 });

    const rows = (await hourly()).map((row) => [new Date(row.hour).toISOString(), row.event_type, row.count]);
    // The current hour is not complete yet; the 9-day-old hour is past the 8 days kept.
    expect(rows).toEqual([
      ['2026-11-24T06:00:00.000Z', 'Delivery', 2],
      ['2026-11-25T10:00:00.000Z', 'Bounce', 1],
      ['2026-11-25T10:00:00.000Z', 'Delivery', 3],
    ]);
  });
});
