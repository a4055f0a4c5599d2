import { sql } from 'kysely';
import type { Db } from '../../db/database.ts';
import type { PostmarkEventType } from '../../db/schema.ts';
import { formatUtc } from '../../lib/clock.ts';
import type { ServiceDeps } from '../../lib/deps.ts';
import type { PostmarkEvent } from './payload.ts';

/**
 * Rows per minute and event type in the rollup. Every webhook of a minute adds to the same
 * counter; spreading it over a few rows keeps concurrent webhooks from queueing on one row
 * lock until each commit, while a 24 h read stays a few thousand rows.
 */
const ROLLUP_SHARDS = 4;

export const MINUTE_MS = 60_000;
export const HOUR_MS = 60 * MINUTE_MS;
export const DAY_MS = 24 * HOUR_MS;

interface EventCounts {
  delivered: number;
  bounced: number;
  spam_complaint: number;
}

interface RecentEvent {
  id: number;
  event_type: PostmarkEventType;
  message_id: string | null;
  recipient: string | null;
  tag: string | null;
  bounce_type: string | null;
  bounce_description: string | null;
  recorded_at: string;
}

function minuteOf(time: Date): Date {
  return new Date(Math.floor(time.getTime() / MINUTE_MS) * MINUTE_MS);
}

/**
 * Stores an event once and counts it in its minute's rollup, in one statement (so one
 * transaction): a retry of a stored event inserts nothing and so counts nothing.
 * Returns the new row's id, or null when the event was already stored.
 */
export async function recordPostmarkEvent(
  deps: Pick<ServiceDeps, 'db' | 'clock'>,
  event: PostmarkEvent,
): Promise<{ id: number } | null> {
  const { db } = deps;
  const recordedAt = deps.clock.now();
  // The bounce ID goes into the payload from its exact digits (numeric), not from JS's rounded number.
  const payloadJson =
    event.postmarkId === null
      ? sql`${JSON.stringify(event.payload)}::jsonb`
      : sql`jsonb_set(${JSON.stringify(event.payload)}::jsonb, '{ID}', to_jsonb(${event.postmarkId}::numeric))`;
  const rollupBounceType = event.type === 'Bounce' ? (event.bounceType ?? '') : '';
  const result = await sql<{ id: number }>`
    with inserted as (
      insert into postmark_event (
        event_key, event_type, message_id, recipient, tag, bounce_type, bounce_description,
        postmark_id, occurred_at, recorded_at, payload
      ) values (
        ${event.key}, ${event.type}, ${event.messageId}, ${event.recipient}, ${event.tag},
        ${event.bounceType}, ${event.bounceDescription}, ${event.postmarkId}, ${event.occurredAt},
        ${recordedAt}, ${payloadJson}
      )
      on conflict (postmark_event_key_sha256(event_key)) do nothing
      returning id, event_type
    ), counted as (
      insert into postmark_event_rollup (minute, event_type, bounce_type, shard, count)
      select ${minuteOf(recordedAt)}, event_type, ${rollupBounceType}, id % ${ROLLUP_SHARDS}, 1 from inserted
      on conflict (minute, event_type, bounce_type, shard) do update set count = postmark_event_rollup.count + 1
    )
    select id from inserted`.execute(db);
  const row = result.rows[0];
  return row ? { id: row.id } : null;
}

/**
 * Event counts over the window ending now: the minute buckets that start after `now - windowMs`
 * (the current, partial minute included), read from the rollups only.
 */
async function countEventsSince(db: Db, now: Date, windowMs: number): Promise<EventCounts> {
  const rows = await db
    .selectFrom('postmark_event_rollup')
    .select(['event_type', (eb) => eb.fn.sum<number>('count').as('total')])
    .where('minute', '>', new Date(now.getTime() - windowMs))
    .groupBy('event_type')
    .execute();
  const countOf = (type: PostmarkEventType) =>
    Number(rows.find((row) => row.event_type === type)?.total ?? 0);
  return {
    delivered: countOf('Delivery'),
    bounced: countOf('Bounce'),
    spam_complaint: countOf('SpamComplaint'),
  };
}

function totalOf(counts: EventCounts): number {
  return counts.delivered + counts.bounced + counts.spam_complaint;
}

/** The newest stored events (newest first) and the last 24 hours' counts. */
export async function readRecentDeliveries(deps: Pick<ServiceDeps, 'db' | 'clock'>, limit: number) {
  const { db } = deps;
  const now = deps.clock.now();
  const [rows, counts] = await Promise.all([
    db
      .selectFrom('postmark_event')
      .select([
        'id',
        'event_type',
        'message_id',
        'recipient',
        'tag',
        'bounce_type',
        'bounce_description',
        'recorded_at',
      ])
      .orderBy('id', 'desc')
      .limit(limit)
      .execute(),
    countEventsSince(db, now, DAY_MS),
  ]);
  const events: RecentEvent[] = rows.map((row) => ({
    ...row,
    recorded_at: formatUtc(new Date(row.recorded_at)),
  }));
  return { events, counts_24h: counts, total_24h: totalOf(counts) };
}
