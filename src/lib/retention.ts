import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
import type { Database } from '../db/schema.ts';

/**
 * Deletes the rows of `table` whose `timeColumn` is before `cutoff`, in batches of the lowest
 * ids, each batch its own short statement so writers never wait behind a long delete. The
 * table's ids grow with `timeColumn`: the old rows sit at the start of the primary key, found
 * without an index on the time, and a table with nothing to prune costs one short index read.
 * Stops at the first batch that deletes nothing, or between batches once `signal` aborts.
 */
export async function deleteRowsBefore<T extends keyof Database & string>(
  db: Db,
  table: T,
  timeColumn: keyof Database[T] & string,
  options: { cutoff: Date; batchSize: number; signal?: AbortSignal | undefined },
): Promise<number> {
  let deleted = 0;
  while (!options.signal?.aborted) {
    const result = await sql`
      delete from ${sql.table(table)}
      where id in (select id from ${sql.table(table)} order by id limit ${options.batchSize})
        and ${sql.ref(timeColumn)} < ${options.cutoff}`.execute(db);
    const batch = Number(result.numAffectedRows ?? 0);
    deleted += batch;
    if (batch === 0) break;
  }
  return deleted;
}
