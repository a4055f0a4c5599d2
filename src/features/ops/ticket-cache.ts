import type { Db } from '../../db/database.ts';
import type { CachedTicketStatus } from '../../db/schema.ts';

/** A row of `freescout_ticket_cache` as the runbook's "did my status change arrive?" reads it. */
export interface CachedTicket {
  ticket_id: number;
  status: CachedTicketStatus;
  source: 'webhook' | 'poll';
  /** FreeScout's `updatedAt` of the change the row holds. */
  updated_at: string;
  /** When the service last wrote or confirmed the row. */
  refreshed_at: string;
  ttl_expires: string;
  /** Past `ttl_expires`: reads treat the ticket as unknown (`none`). */
  expired: boolean;
  updated_age_seconds: number;
  refreshed_age_seconds: number;
}

export interface TicketCacheFilter {
  ticketId?: number | undefined;
  limit: number;
}

const ageSeconds = (now: Date, then: Date) =>
  Math.max(0, Math.floor((now.getTime() - then.getTime()) / 1000));

/**
 * One ticket's row, or the newest rows by FreeScout's `updatedAt`. The newest need a sort of the
 * whole cache (one row per ticket, no index on `updated_at`: the webhook's writes stay cheaper);
 * an operator's check, not a hot path.
 */
export async function listTicketCache(db: Db, now: Date, filter: TicketCacheFilter): Promise<CachedTicket[]> {
  let query = db
    .selectFrom('freescout_ticket_cache')
    .select(['ticket_id', 'status', 'source', 'updated_at', 'refreshed_at', 'ttl_expires'])
    .orderBy('updated_at', 'desc')
    .orderBy('ticket_id', 'desc')
    .limit(filter.limit);
  if (filter.ticketId !== undefined) query = query.where('ticket_id', '=', filter.ticketId);
  const rows = await query.execute();
  return rows.map((row) => {
    const updated = new Date(row.updated_at);
    const refreshed = new Date(row.refreshed_at);
    const expires = new Date(row.ttl_expires);
    return {
      ticket_id: row.ticket_id,
      status: row.status,
      source: row.source,
      updated_at: updated.toISOString(),
      refreshed_at: refreshed.toISOString(),
      ttl_expires: expires.toISOString(),
      expired: expires.getTime() <= now.getTime(),
      updated_age_seconds: ageSeconds(now, updated),
      refreshed_age_seconds: ageSeconds(now, refreshed),
    };
  });
}
