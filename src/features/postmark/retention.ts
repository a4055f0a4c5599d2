import { sql } from 'kysely';
import type { ServiceDeps } from '../../lib/deps.ts';
import { deleteRowsBefore } from '../../lib/retention.ts';
import { DAY_MS, HOUR_MS } from './events.ts';

export const RETENTION_LEASE_NAME = 'postmark-retention';
const DEFAULT_BATCH_SIZE = 5_000;
/** Rollups outlive the longest window read from them (24 h) by a margin. */
const ROLLUP_KEEP_MS = DAY_MS + HOUR_MS;
/** Hourly counts feed the operator page's 7-day chart; a day of margin. */
const HOURLY_KEEP_MS = 8 * DAY_MS;

export interface PruneOptions {
  retentionDays: number;
  batchSize?: number;
  signal?: AbortSignal;
}

/**
 * Deletes events recorded before the retention cutoff (oldest first, in short batches, so
 * ingest never waits behind a long delete), and rollups no window reads any more.
 */
export async function prunePostmarkEvents(
  deps: Pick<ServiceDeps, 'db' | 'clock'>,
  options: PruneOptions,
): Promise<{ events: number; rollups: number }> {
  const { db } = deps;
  const now = deps.clock.now();
  await compactHourlyRollups(deps);
  const events = await deleteRowsBefore(db, 'postmark_event', 'recorded_at', {
    cutoff: new Date(now.getTime() - options.retentionDays * DAY_MS),
    batchSize: options.batchSize ?? DEFAULT_BATCH_SIZE,
    signal: options.signal,
  });
  const rollupResult = await db
    .deleteFrom('postmark_event_rollup')
    .where('minute', '<', new Date(now.getTime() - ROLLUP_KEEP_MS))
    .executeTakeFirst();
  await db
    .deleteFrom('postmark_event_hourly')
    .where('hour', '<', new Date(now.getTime() - HOURLY_KEEP_MS))
    .execute();
  return { events, rollups: Number(rollupResult.numDeletedRows) };
}

/**
 * Sums the minute rollups of each completed hour of the last 24 into `postmark_event_hourly`
 * before those minutes are pruned. Recomputed whole each run (the minutes of those hours are
 * all still kept), so running it twice, or on two instances, gives the same counts.
 */
export async function compactHourlyRollups({ db, clock }: Pick<ServiceDeps, 'db' | 'clock'>): Promise<void> {
  const currentHour = new Date(Math.floor(clock.now().getTime() / HOUR_MS) * HOUR_MS);
  await sql`
    insert into postmark_event_hourly (hour, event_type, count)
    select date_trunc('hour', minute), event_type, sum(count)
    from postmark_event_rollup
    where minute >= ${new Date(currentHour.getTime() - DAY_MS)} and minute < ${currentHour}
    group by 1, 2
    on conflict (hour, event_type) do update set count = excluded.count`.execute(db);
}
