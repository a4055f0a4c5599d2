import { sql } from 'kysely';
import type { Db } from '../db/database.ts';

const HOUR_MS = 60 * 60_000;
const DAY_MS = 24 * HOUR_MS;

/** Events of one kind ÷ messages (Delivery + Bounce + SpamComplaint events) over a window. */
export interface PostmarkRate {
  events: number;
  messages: number;
  /** 0 while there were no messages. */
  rate: number;
  windowMs: number;
}

/**
 * The two rates the Postmark alerts compare, from the minute rollups: undeliverable bounces
 * over the last hour, spam complaints over the last 24 hours. Shared by the alert monitor and
 * the operator page, so the page shows exactly the rate an alert would fire on.
 */
export async function readPostmarkRates(
  db: Db,
  now: Date,
  /** `POSTMARK_BOUNCE_ALERT_TYPES`. */
  undeliverableBounceTypes: readonly string[],
): Promise<{ bounce: PostmarkRate; spam: PostmarkRate }> {
  const hourAgo = new Date(now.getTime() - HOUR_MS);
  const dayAgo = new Date(now.getTime() - DAY_MS);
  // Only bounces that mean "not delivered" count: an out-of-office reply (AutoResponder) or a
  // subscription notice follows a message that did arrive. Types compare case-insensitively.
  const undeliverable = undeliverableBounceTypes.map((type) => type.toLowerCase());
  const { rows } = await sql<{
    bounced_hour: number;
    messages_hour: number;
    spam_day: number;
    messages_day: number;
  }>`
    select
      coalesce(sum(count) filter (
        where minute > ${hourAgo} and event_type = 'Bounce' and lower(bounce_type) = any(${undeliverable}::text[])
      ), 0) as bounced_hour,
      coalesce(sum(count) filter (where minute > ${hourAgo}), 0) as messages_hour,
      coalesce(sum(count) filter (where event_type = 'SpamComplaint'), 0) as spam_day,
      coalesce(sum(count), 0) as messages_day
    from postmark_event_rollup
    where minute > ${dayAgo}`.execute(db);
  const counts = rows[0];
  return {
    bounce: rateOf(Number(counts?.bounced_hour ?? 0), Number(counts?.messages_hour ?? 0), HOUR_MS),
    spam: rateOf(Number(counts?.spam_day ?? 0), Number(counts?.messages_day ?? 0), DAY_MS),
  };
}

function rateOf(events: number, messages: number, windowMs: number): PostmarkRate {
  return { events, messages, rate: messages === 0 ? 0 : events / messages, windowMs };
}
