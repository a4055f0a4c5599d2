import { type Kysely, sql } from 'kysely';
import type { CachedTicketStatus, Database } from '../../db/schema.ts';
import type { ServiceDeps } from '../../lib/deps.ts';
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
  const applied = await upsertTicketSnapshots(db, [snapshot], options);
  return applied.has(snapshot.ticketId);
}

/**
 * One statement for many tickets (each at most once: Postgres refuses to update a row twice in
 * one INSERT … ON CONFLICT), all dated or all undated. Returns the ids it applied.
 */
async function upsertTicketSnapshots(
  db: Kysely<Database>,
  snapshots: readonly TicketSnapshot[],
  options: CacheWriteOptions,
): Promise<Set<number>> {
  const dated = snapshots[0]?.updatedAt !== undefined;
  const ttlExpires = new Date(options.now.getTime() + options.ttlSeconds * 1000);
  // Rows in ticket order: concurrent batches then lock shared rows in the same order and cannot deadlock.
  const ordered = [...snapshots].sort((a, b) => a.ticketId - b.ticketId);
  const rows = ordered.map((snapshot) => ({
    ticket_id: snapshot.ticketId,
    status: snapshot.status,
    updated_at: snapshot.updatedAt ?? options.now,
    ttl_expires: ttlExpires,
    refreshed_at: options.now,
    source: options.source,
  }));
  const written = await db
    .insertInto('freescout_ticket_cache')
    .values(rows)
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
    .execute();
  return new Set(written.map((row) => row.ticket_id));
}

const MAX_BATCH = 200;

interface QueuedWrite {
  snapshot: TicketSnapshot;
  settle: (error: unknown, applied?: boolean) => void;
}

/**
 * The webhook's writer: deliveries that arrive in the same event-loop turn share one upsert
 * statement (group commit), and each caller resolves only once that statement has committed,
 * so no 2xx goes out before its row is durable. Under load this saves a round trip and a
 * commit per delivery; alone, a delivery waits one turn.
 */
export function createTicketCacheWriter(deps: Pick<ServiceDeps, 'db' | 'clock'>, ttlSeconds: number) {
  let queue: QueuedWrite[] = [];
  let scheduled = false;

  function flush() {
    scheduled = false;
    const batch: QueuedWrite[] = [];
    const later: QueuedWrite[] = [];
    const ids = new Set<number>();
    for (const write of queue) {
      if (batch.length < MAX_BATCH && !ids.has(write.snapshot.ticketId)) {
        ids.add(write.snapshot.ticketId);
        batch.push(write);
      } else {
        later.push(write);
      }
    }
    queue = later;
    if (later.length) schedule();
    const options = { now: deps.clock.now(), ttlSeconds, source: 'webhook' as const };
    upsertTicketSnapshots(
      deps.db,
      batch.map((write) => write.snapshot),
      options,
    ).then(
      (applied) => {
        for (const write of batch) write.settle(null, applied.has(write.snapshot.ticketId));
      },
      (error: unknown) => {
        for (const write of batch) write.settle(error);
      },
    );
  }

  function schedule() {
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  }

  return {
    /** Resolves to whether the snapshot changed the row, after the commit. */
    write(snapshot: TicketSnapshot): Promise<boolean> {
      if (snapshot.updatedAt === undefined) {
        return refreshTicketCache(deps.db, snapshot, {
          now: deps.clock.now(),
          ttlSeconds,
          source: 'webhook',
        });
      }
      return new Promise((resolve, reject) => {
        queue.push({
          snapshot,
          settle: (error, applied) => (error ? reject(error) : resolve(applied === true)),
        });
        schedule();
      });
    },
  };
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
