import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { Db } from '../db/database.ts';

/** Identifies this process as a lease holder. */
export const INSTANCE_ID: string = randomUUID();

/**
 * Takes or renews the named lease for `ttlMs`; true when this instance holds it. A lease row
 * (not a session advisory lock) survives pooled connections and works the same on PGlite;
 * a holder that dies simply lets its lease expire.
 */
export async function acquireLease(
  db: Db,
  name: string,
  ttlMs: number,
  now: Date,
  holder = INSTANCE_ID,
): Promise<boolean> {
  const expiresAt = new Date(now.getTime() + ttlMs);
  const result = await sql<{ holder: string }>`
    insert into job_lease (name, holder, expires_at) values (${name}, ${holder}, ${expiresAt})
    on conflict (name) do update set holder = excluded.holder, expires_at = excluded.expires_at
      where job_lease.holder = excluded.holder or job_lease.expires_at < ${now}
    returning holder`.execute(db);
  return result.rows.length === 1;
}

export async function releaseLease(db: Db, name: string, holder = INSTANCE_ID): Promise<void> {
  await db.deleteFrom('job_lease').where('name', '=', name).where('holder', '=', holder).execute();
}

/**
 * A lease on one row of a work table (a ticket's link, a close comment): as of `now`, `holder`
 * holds it until `expiresAt`, unless it releases it earlier.
 */
export interface RowLease {
  holder: string;
  now: Date;
  expiresAt: Date;
}

/** A holder's write found its row lease gone (expired and taken over): the stale holder stops there. */
export class LeaseLostError extends Error {
  override name = 'LeaseLostError';
}
