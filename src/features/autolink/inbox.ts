import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import type { Db } from '../../db/database.ts';
import type { AutolinkDeliveryStatus, AutolinkEventKind } from '../../db/schema.ts';
import type { ServiceDeps } from '../../lib/deps.ts';

/** The durable inbox: verified deliveries in, due work out, one row per distinct delivery. */

export interface NewDelivery {
  source: 'ops' | 'support';
  event: string;
  kind: AutolinkEventKind;
  conversationId: number;
  reportedStatus: string | null;
  closeKey: string | null;
  rawBody: Buffer;
}

export interface ClaimedDelivery {
  id: number;
  kind: AutolinkEventKind;
  event: string;
  conversation_id: number;
  reported_status: string | null;
  close_key: string | null;
  attempts: number;
  locked_by: string;
  received_at: Date;
}

export function deliveryDedupKey(event: string, rawBody: Buffer): string {
  return createHash('sha256').update(event).update('\n').update(rawBody).digest('hex');
}

/**
 * Stores a delivery unless the same one (same event, same bytes) is already stored; answers
 * its id either way, so a FreeScout retry learns the id of the first copy.
 */
export async function storeDelivery(
  deps: Pick<ServiceDeps, 'db' | 'clock'>,
  delivery: NewDelivery,
): Promise<number> {
  return (await storeDeliveryOnce(deps.db, delivery, deps.clock.now())).id;
}

/** As `storeDelivery`, also saying whether this call stored it (false: the same one was there). */
async function storeDeliveryOnce(
  db: Db,
  delivery: NewDelivery,
  now: Date,
): Promise<{ id: number; stored: boolean }> {
  const dedupKey = deliveryDedupKey(delivery.event, delivery.rawBody);
  const inserted = await db
    .insertInto('autolink_delivery')
    .values({
      dedup_key: dedupKey,
      source: delivery.source,
      event: delivery.event,
      kind: delivery.kind,
      conversation_id: delivery.conversationId,
      reported_status: delivery.reportedStatus,
      close_key: delivery.closeKey,
      next_attempt_at: now,
      received_at: now,
      updated_at: now,
    })
    .onConflict((conflict) => conflict.column('dedup_key').doNothing())
    .returning('id')
    .executeTakeFirst();
  if (inserted) return { id: inserted.id, stored: true };
  const existing = await db
    .selectFrom('autolink_delivery')
    .select('id')
    .where('dedup_key', '=', dedupKey)
    .executeTakeFirstOrThrow();
  return { id: existing.id, stored: false };
}

/**
 * Queues a re-check of one ticket's criteria that no FreeScout webhook asked for: a sweep hit
 * (`reason` names the ticket's updatedAt, so each change is queued once) or a ticket the
 * service itself created. Goes through the same inbox, claims and leases as a webhook.
 */
export async function enqueueEvaluation(
  db: Db,
  request: { conversationId: number; origin: 'sweep' | 'created_by_service'; reason: string },
  now: Date,
): Promise<{ id: number; stored: boolean }> {
  const event = `raptor.${request.origin}`;
  const body = JSON.stringify({ id: request.conversationId, reason: request.reason });
  return storeDeliveryOnce(
    db,
    {
      source: 'ops',
      event,
      kind: 'evaluate',
      conversationId: request.conversationId,
      reportedStatus: null,
      closeKey: null,
      rawBody: Buffer.from(body),
    },
    now,
  );
}

/**
 * Claims up to `limit` due deliveries for `holder` until `lockedUntil`. A delivery left
 * `processing` by a worker that died is due again once its lock has expired.
 */
export async function claimDueDeliveries(
  db: Db,
  options: { holder: string; now: Date; lockedUntil: Date; limit: number },
): Promise<ClaimedDelivery[]> {
  const { holder, now, lockedUntil, limit } = options;
  const result = await sql<ClaimedDelivery>`
    update autolink_delivery
       set status = 'processing', attempts = attempts + 1, locked_by = ${holder},
           locked_until = ${lockedUntil}, updated_at = ${now}
     where id in (
       select id from autolink_delivery
        where (status = 'pending' and next_attempt_at <= ${now})
           or (status = 'processing' and locked_until < ${now})
        order by next_attempt_at, id
        limit ${limit}
        for update skip locked)
    returning id, kind, event, conversation_id, reported_status, close_key, attempts, locked_by, received_at`.execute(
    db,
  );
  return result.rows;
}

/** Only the holder of the claim may settle it: a worker whose lock expired lost the delivery. */
function ownedBy(db: Db, delivery: Pick<ClaimedDelivery, 'id' | 'locked_by'>) {
  return db
    .updateTable('autolink_delivery')
    .where('id', '=', delivery.id)
    .where('status', '=', 'processing')
    .where('locked_by', '=', delivery.locked_by);
}

export async function renewDeliveryLock(
  db: Db,
  delivery: Pick<ClaimedDelivery, 'id' | 'locked_by'>,
  lockedUntil: Date,
): Promise<void> {
  await ownedBy(db, delivery).set({ locked_until: lockedUntil }).execute();
}

export async function completeDelivery(
  db: Db,
  delivery: ClaimedDelivery,
  outcome: string,
  now: Date,
): Promise<void> {
  await ownedBy(db, delivery)
    .set({ status: 'done', outcome, locked_by: null, locked_until: null, updated_at: now })
    .execute();
}

export async function rescheduleDelivery(
  db: Db,
  delivery: ClaimedDelivery,
  options: { nextAttemptAt: Date; lastError?: string; countAttempt: boolean; now: Date },
): Promise<void> {
  await ownedBy(db, delivery)
    .set((eb) => ({
      status: 'pending',
      next_attempt_at: options.nextAttemptAt,
      ...(options.lastError === undefined ? {} : { last_error: options.lastError }),
      attempts: options.countAttempt ? eb.ref('attempts') : eb('attempts', '-', 1),
      locked_by: null,
      locked_until: null,
      updated_at: options.now,
    }))
    .execute();
}

export async function failDelivery(
  db: Db,
  delivery: ClaimedDelivery,
  lastError: string,
  now: Date,
): Promise<void> {
  await ownedBy(db, delivery)
    .set({ status: 'failed', last_error: lastError, locked_by: null, locked_until: null, updated_at: now })
    .execute();
}

export interface DeliverySummary {
  id: number;
  /** Direction A's inbox (FreeScout deliveries) or Direction B's (GitHub deliveries). */
  direction: 'freescout_to_github' | 'github_to_freescout';
  source: string;
  event: string;
  conversation_id: number | null;
  issue_number: number | null;
  status: AutolinkDeliveryStatus;
  attempts: number;
  last_error: string | null;
  outcome: string | null;
  next_attempt_at: Date;
  received_at: Date;
  updated_at: Date;
}

/**
 * Both directions' inboxes, newest first. They share one id sequence, so an id names one
 * delivery whichever direction received it; Direction B's table is read as shared state.
 */
export async function listDeliveries(
  db: Db,
  filter: { status?: AutolinkDeliveryStatus | undefined; limit: number },
): Promise<DeliverySummary[]> {
  const status = filter.status ?? null;
  const result = await sql<DeliverySummary>`
    select * from (
      select id, 'freescout_to_github' as direction, source, event, conversation_id,
             null::integer as issue_number, status, attempts, last_error, outcome,
             next_attempt_at, received_at, updated_at
        from autolink_delivery
       where ${status}::text is null or status = ${status}
      union all
      select id, 'github_to_freescout' as direction, 'github' as source, event || '.' || action as event,
             null::integer as conversation_id, issue_number, status, attempts, last_error, outcome,
             next_attempt_at, received_at, updated_at
        from github_sync_delivery
       where ${status}::text is null or status = ${status}
    ) deliveries
    order by id desc
    limit ${filter.limit}`.execute(db);
  return result.rows.map((row) => ({ ...row, id: Number(row.id) }));
}

export type ReplayResult = 'replayed' | 'not_found' | 'in_progress';

/**
 * Puts a delivery back in the queue with a fresh attempt budget. Replaying a finished one is
 * safe: every step it would take is recorded, so it only redoes what is missing.
 */
export async function replayDelivery(
  deps: Pick<ServiceDeps, 'db' | 'clock'>,
  id: number,
): Promise<ReplayResult> {
  const { db } = deps;
  const now = deps.clock.now();
  for (const table of ['autolink_delivery', 'github_sync_delivery'] as const) {
    const replayed = await db
      .updateTable(table)
      .set({
        status: 'pending',
        attempts: 0,
        next_attempt_at: now,
        outcome: null,
        locked_by: null,
        locked_until: null,
        updated_at: now,
      })
      .where('id', '=', id)
      .where((eb) => eb.or([eb('status', '!=', 'processing'), eb('locked_until', '<', now)]))
      .returning('id')
      .executeTakeFirst();
    if (replayed) return 'replayed';
    const exists = await db.selectFrom(table).select('id').where('id', '=', id).executeTakeFirst();
    if (exists) return 'in_progress';
  }
  return 'not_found';
}
