import type { Db } from '../../db/database.ts';
import type { ServiceDeps } from '../../lib/deps.ts';
import { heldBy, type InboxDelivery } from '../../lib/durable-inbox.ts';

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

export type ClaimedSyncDelivery = InboxDelivery<'github_sync_delivery'>;

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

/**
 * True while a labelled delivery of this issue waits or runs (only one received before
 * `beforeId`, when given): its ticket may be about to exist.
 */
export async function hasOpenLabelDelivery(db: Db, issueNumber: number, beforeId?: number): Promise<boolean> {
  let query = db
    .selectFrom('github_sync_delivery')
    .select('id')
    .where('issue_number', '=', issueNumber)
    .where('action', '=', 'labeled')
    .where('status', 'in', ['pending', 'processing']);
  if (beforeId !== undefined) query = query.where('id', '<', beforeId);
  return (await query.executeTakeFirst()) !== undefined;
}

/** Records that this delivery's note is about to be sent; refuses when the claim was lost. */
export async function markNoteStarted(
  deps: Pick<ServiceDeps, 'db' | 'clock'>,
  delivery: ClaimedSyncDelivery,
): Promise<void> {
  const updated = await deps.db
    .updateTable('github_sync_delivery')
    .set({ note_started_at: deps.clock.now() })
    .where(heldBy(delivery))
    .returning('id')
    .executeTakeFirst();
  if (!updated) throw new Error(`lost the claim on GitHub delivery ${delivery.id}`);
}
