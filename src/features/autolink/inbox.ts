import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import type { Db } from '../../db/database.ts';
import type { AutolinkDeliveryStatus, AutolinkEventKind } from '../../db/schema.ts';
import type { ServiceDeps } from '../../lib/deps.ts';
import { INBOX_TABLES, type InboxDelivery } from '../../lib/durable-inbox.ts';

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

export type ClaimedDelivery = InboxDelivery<'autolink_delivery'>;

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
  for (const table of INBOX_TABLES) {
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
