import type { Selectable } from 'kysely';
import type { Db } from '../../db/database.ts';
import type { DeliveryLogTable, DeliveryOutcome } from '../../db/schema.ts';
import type { ServiceDeps } from '../../lib/deps.ts';
import { deleteRowsBefore } from '../../lib/retention.ts';

export const DELIVERY_LOG_RETENTION_LEASE = 'delivery-log-retention';
const DAY_MS = 24 * 60 * 60_000;
const PRUNE_BATCH_SIZE = 5_000;

/** A logged delivery as the operator routes answer it. */
export type LoggedDelivery = Omit<Selectable<DeliveryLogTable>, 'received_at'> & { received_at: string };

export interface DeliveryFilter {
  route?: string | undefined;
  /** An exact status (`401`), a class (`4xx`), or an outcome (`ignored`, `rejected`, …). */
  status?: string | undefined;
  limit: number;
}

function toLoggedDelivery(row: Selectable<DeliveryLogTable>): LoggedDelivery {
  return {
    ...row,
    received_at: new Date(row.received_at).toISOString(),
    duration_ms: Number(row.duration_ms),
  };
}

/** Newest first; `route` matches the route pattern or the path a sender posts to. */
export async function listLoggedDeliveries(db: Db, filter: DeliveryFilter): Promise<LoggedDelivery[]> {
  let query = db
    .selectFrom('delivery_log')
    .select([
      'id',
      'received_at',
      'route',
      'event',
      'delivery_id',
      'status',
      'duration_ms',
      'outcome',
      'detail',
    ])
    .orderBy('id', 'desc')
    .limit(filter.limit);
  if (filter.route) query = query.where('route', '=', filter.route);
  const status = filter.status;
  if (status && /^[1-5]xx$/i.test(status)) {
    const floor = Number(status[0]) * 100;
    query = query.where('status', '>=', floor).where('status', '<', floor + 100);
  } else if (status && /^[0-9]+$/.test(status)) {
    query = query.where('status', '=', Number(status));
  } else if (status) {
    query = query.where('outcome', '=', status.toLowerCase() as DeliveryOutcome);
  }
  return (await query.execute()).map(toLoggedDelivery);
}

/** Deletes rows received before the retention cutoff, oldest first, in short batches. */
export async function pruneDeliveryLog(
  { db, clock }: Pick<ServiceDeps, 'db' | 'clock'>,
  options: { retentionDays: number; batchSize?: number; signal?: AbortSignal },
): Promise<number> {
  return deleteRowsBefore(db, 'delivery_log', 'received_at', {
    cutoff: new Date(clock.now().getTime() - options.retentionDays * DAY_MS),
    batchSize: options.batchSize ?? PRUNE_BATCH_SIZE,
    signal: options.signal,
  });
}
