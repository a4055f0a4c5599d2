import { type Kysely, sql } from 'kysely';
import type { CachedTicketStatus, Database } from '../../db/schema.ts';
import type { TicketSnapshot } from './delivery.ts';

export type TicketStateAtRead = CachedTicketStatus | 'none';

export interface CacheWriteOptions {
  now: Date;
  ttlSeconds: number;
  source: 'webhook' | 'poll';
  /**
   * Re-validation: a snapshot equal to the stored one extends `ttl_expires`. Webhook repeats
   * leave the row untouched instead.
   */
  confirm?: boolean;
}

/**
 * Writes a snapshot unless the row already holds a newer one, so late retries never regress
 * the status. Equal timestamps with another status apply: FreeScout stamps to the second, and
 * the latest delivery of that second is the best knowledge there is (the poller re-reads it).
 * An undated snapshot (an id-only delete) applies whenever it changes the status, and keeps
 * the newer of the two timestamps: deletion fails closed.
 */
export async function refreshTicketCache(
  db: Kysely<Database>,
  snapshot: TicketSnapshot,
  options: CacheWriteOptions,
): Promise<boolean> {
  const dated = snapshot.updatedAt !== undefined;
  const row = {
    ticket_id: snapshot.ticketId,
    status: snapshot.status,
    updated_at: snapshot.updatedAt ?? options.now,
    ttl_expires: new Date(options.now.getTime() + options.ttlSeconds * 1000),
    refreshed_at: options.now,
    source: options.source,
  };
  const written = await db
    .insertInto('freescout_ticket_cache')
    .values(row)
    .onConflict((conflict) =>
      conflict
        .column('ticket_id')
        .doUpdateSet({
          status: (eb) => eb.ref('excluded.status'),
          updated_at: (eb) =>
            dated
              ? eb.ref('excluded.updated_at')
              : sql<Date>`greatest(freescout_ticket_cache.updated_at, excluded.updated_at)`,
          ttl_expires: (eb) => eb.ref('excluded.ttl_expires'),
          refreshed_at: (eb) => eb.ref('excluded.refreshed_at'),
          source: (eb) => eb.ref('excluded.source'),
        })
        .where((eb) =>
          !dated
            ? eb('freescout_ticket_cache.status', '<>', eb.ref('excluded.status'))
            : eb.or([
                eb('freescout_ticket_cache.updated_at', '<', eb.ref('excluded.updated_at')),
                eb.and([
                  eb('freescout_ticket_cache.updated_at', '=', eb.ref('excluded.updated_at')),
                  options.confirm
                    ? eb.lit(true)
                    : eb('freescout_ticket_cache.status', '<>', eb.ref('excluded.status')),
                ]),
              ]),
        ),
    )
    .returning('ticket_id')
    .executeTakeFirst();
  return written !== undefined;
}

/** The cached status, or `none` when the row is missing or expired: callers fail closed. */
export async function ticketStateAtRead(
  db: Kysely<Database>,
  ticketId: number,
  now: Date,
  options: { lock?: boolean } = {},
): Promise<TicketStateAtRead> {
  let query = db
    .selectFrom('freescout_ticket_cache')
    .select(['status', 'ttl_expires'])
    .where('ticket_id', '=', ticketId);
  if (options.lock) query = query.forUpdate();
  const row = await query.executeTakeFirst();
  if (!row || new Date(row.ttl_expires).getTime() <= now.getTime()) return 'none';
  return row.status;
}

export function isOpen(state: TicketStateAtRead): boolean {
  return state === 'active' || state === 'pending';
}
