import { sql } from 'kysely';
import type { Db } from '../../db/database.ts';
import { DAY_MS, HOUR_MS } from './events.ts';

export const RETENTION_LEASE_NAME = 'postmark-retention';
const DEFAULT_BATCH_SIZE = 5_000;
/** Rollups outlive the longest window read from them (24 h) by a margin. */
const ROLLUP_KEEP_MS = DAY_MS + HOUR_MS;
/** Hourly counts feed the operator page's 7-day chart; a day of margin. */
const HOURLY_KEEP_MS = 8 * DAY_MS;

export interface PruneOptions {
  now: Date;
  retentionDays: number;
  batchSize?: number;
  signal?: AbortSignal;
}

/**
 * Deletes events recorded before the retention cutoff, and rollups no window reads any more.
 * Each batch is its own short statement, so ingest never waits behind a long delete. Batches
 * take the lowest ids: ids grow with `recorded_at`, so the old rows are found at the start of
 * the primary key without an index on `recorded_at`, and a table with nothing to prune costs
 * one short index read.
 */
export async function prunePostmarkEvents(
  db: Db,
  options: PruneOptions,
): Promise<{ events: number; rollups: number }> {
  await compactHourlyRollups(db, options.now);
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  const cutoff = new Date(options.now.getTime() - options.retentionDays * DAY_MS);
  let events = 0;
  while (!options.signal?.aborted) {
    const result = await sql`
      delete from postmark_event
      where id in (select id from postmark_event order by id limit ${batchSize})
        and recorded_at < ${cutoff}`.execute(db);
    const deleted = Number(result.numAffectedRows ?? 0);
    events += deleted;
    if (deleted === 0) break;
  }
  const rollupResult = await db
    .deleteFrom('postmark_event_rollup')
    .where('minute', '<', new Date(options.now.getTime() - ROLLUP_KEEP_MS))
    .executeTakeFirst();
  await db
    .deleteFrom('postmark_event_hourly')
    .where('hour', '<', new Date(options.now.getTime() - HOURLY_KEEP_MS))
    .execute();
  return { events, rollups: Number(rollupResult.numDeletedRows) };
}

/**
 * Sums the minute rollups of each completed hour of the last 24 into `postmark_event_hourly`
 * before those minutes are pruned. Recomputed whole each run (the minutes of those hours are
 * all still kept), so running it twice, or on two instances, gives the same counts.
 */
export async function compactHourlyRollups(db: Db, now: Date): Promise<void> {
  const currentHour = new Date(Math.floor(now.getTime() / HOUR_MS) * HOUR_MS);
  await sql`
    insert into postmark_event_hourly (hour, event_type, count)
    select date_trunc('hour', minute), event_type, sum(count)
    from postmark_event_rollup
    where minute >= ${new Date(currentHour.getTime() - DAY_MS)} and minute < ${currentHour}
    group by 1, 2
    on conflict (hour, event_type) do update set count = excluded.count`.execute(db);
}
