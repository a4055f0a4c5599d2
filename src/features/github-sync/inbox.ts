import { sql } from 'kysely';
import type { Db } from '../../db/database.ts';
import type { ServiceDeps } from '../../lib/deps.ts';

/** The durable inbox of verified GitHub deliveries: one row per `X-GitHub-Delivery`. */

export interface NewSyncDelivery {
  guid: string;
  event: string;
  action: string;
  issueNumber: number;
  label: string | null;
  senderLogin: string;
  payload: string;
}

export interface ClaimedSyncDelivery {
  id: number;
  delivery_guid: string;
  action: string;
  issue_number: number;
  label: string | null;
  sender_login: string;
  payload: string;
  attempts: number;
  locked_by: string;
  note_started_at: Date | null;
}

/** Stores a delivery unless its GUID is already stored; answers its id either way. */
export async function storeSyncDelivery(
  deps: Pick<ServiceDeps, 'db' | 'clock'>,
  delivery: NewSyncDelivery,
): Promise<number> {
  const { db } = deps;
  const now = deps.clock.now();
  const inserted = await db
    .insertInto('github_sync_delivery')
    .values({
      delivery_guid: delivery.guid,
      event: delivery.event,
      action: delivery.action,
      issue_number: delivery.issueNumber,
      label: delivery.label,
      sender_login: delivery.senderLogin,
      payload: delivery.payload,
      next_attempt_at: now,
      received_at: now,
      updated_at: now,
    })
    .onConflict((conflict) => conflict.column('delivery_guid').doNothing())
    .returning('id')
    .executeTakeFirst();
  if (inserted) return Number(inserted.id);
  const existing = await db
    .selectFrom('github_sync_delivery')
    .select('id')
    .where('delivery_guid', '=', delivery.guid)
    .executeTakeFirstOrThrow();
  return Number(existing.id);
}

/** True while a labelled delivery of this issue waits or runs: its ticket may be about to exist. */
export async function hasOpenLabelDelivery(db: Db, issueNumber: number): Promise<boolean> {
  const row = await db
    .selectFrom('github_sync_delivery')
    .select('id')
    .where('issue_number', '=', issueNumber)
    .where('action', '=', 'labeled')
    .where('status', 'in', ['pending', 'processing'])
    .executeTakeFirst();
  return row !== undefined;
}

/** True while a labelled delivery received before `id` waits or runs: its ticket may be about to exist. */
export async function hasEarlierOpenLabelDelivery(db: Db, issueNumber: number, id: number): Promise<boolean> {
  const row = await db
    .selectFrom('github_sync_delivery')
    .select('id')
    .where('issue_number', '=', issueNumber)
    .where('action', '=', 'labeled')
    .where('status', 'in', ['pending', 'processing'])
    .where('id', '<', id)
    .executeTakeFirst();
  return row !== undefined;
}

/** Claims due deliveries as Direction A's inbox does (`for update skip locked`, lock expiry). */
export async function claimDueSyncDeliveries(
  db: Db,
  options: { holder: string; now: Date; lockedUntil: Date; limit: number },
): Promise<ClaimedSyncDelivery[]> {
  const { holder, now, lockedUntil, limit } = options;
  const result = await sql<ClaimedSyncDelivery>`
    update github_sync_delivery
       set status = 'processing', attempts = attempts + 1, locked_by = ${holder},
           locked_until = ${lockedUntil}, updated_at = ${now}
     where id in (
       select id from github_sync_delivery
        where (status = 'pending' and next_attempt_at <= ${now})
           or (status = 'processing' and locked_until < ${now})
        order by next_attempt_at, id
        limit ${limit}
        for update skip locked)
    returning id, delivery_guid, action, issue_number, label, sender_login, payload, attempts,
              locked_by, note_started_at`.execute(db);
  return result.rows.map((row) => ({ ...row, id: Number(row.id) }));
}

function ownedBy(db: Db, delivery: Pick<ClaimedSyncDelivery, 'id' | 'locked_by'>) {
  return db
    .updateTable('github_sync_delivery')
    .where('id', '=', delivery.id)
    .where('status', '=', 'processing')
    .where('locked_by', '=', delivery.locked_by);
}

export async function renewSyncDeliveryLock(
  db: Db,
  delivery: Pick<ClaimedSyncDelivery, 'id' | 'locked_by'>,
  lockedUntil: Date,
): Promise<void> {
  await ownedBy(db, delivery).set({ locked_until: lockedUntil }).execute();
}

/** Records that this delivery's note is about to be sent; refuses when the claim was lost. */
export async function markNoteStarted(
  deps: Pick<ServiceDeps, 'db' | 'clock'>,
  delivery: ClaimedSyncDelivery,
): Promise<void> {
  const updated = await ownedBy(deps.db, delivery)
    .set({ note_started_at: deps.clock.now() })
    .returning('id')
    .executeTakeFirst();
  if (!updated) throw new Error(`lost the claim on GitHub delivery ${delivery.id}`);
}

export async function completeSyncDelivery(
  db: Db,
  delivery: ClaimedSyncDelivery,
  outcome: string,
  now: Date,
): Promise<void> {
  await ownedBy(db, delivery)
    .set({ status: 'done', outcome, locked_by: null, locked_until: null, updated_at: now })
    .execute();
}

export async function rescheduleSyncDelivery(
  db: Db,
  delivery: ClaimedSyncDelivery,
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

export async function failSyncDelivery(
  db: Db,
  delivery: ClaimedSyncDelivery,
  lastError: string,
  now: Date,
): Promise<void> {
  await ownedBy(db, delivery)
    .set({ status: 'failed', last_error: lastError, locked_by: null, locked_until: null, updated_at: now })
    .execute();
}
