import type { Selectable } from 'kysely';
import type { Db } from '../../db/database.ts';
import type { AutolinkCloseCommentTable, AutolinkLinkTable } from '../../db/schema.ts';
import { LeaseLostError, type RowLease } from '../../lib/lease.ts';
import { recordTicketLinkStep } from '../../lib/ticket-link.ts';

/**
 * Direction A's writes to the per-ticket link rows, and the per-close comment rows. Each row
 * carries a lease: whoever holds it is the only one allowed to call GitHub or FreeScout for
 * that ticket (or that close), whatever the number of deliveries, workers or instances. A
 * holder that dies lets its lease expire. The link row's lease is taken and released in
 * `lib/ticket-link.ts`: it is the same lease an operator's link takes.
 */

export type Link = Selectable<AutolinkLinkTable>;
export type CloseComment = Selectable<AutolinkCloseCommentTable>;

/** Drops a claim that never produced an issue, so a later event evaluates the ticket afresh. */
export async function abandonLink(db: Db, conversationId: number, holder: string): Promise<void> {
  await db
    .deleteFrom('autolink_link')
    .where('conversation_id', '=', conversationId)
    .where('lease_holder', '=', holder)
    .where('issue_number', 'is', null)
    .execute();
}

type LinkProgress = Partial<
  Pick<
    Link,
    | 'create_started_at'
    | 'issue_number'
    | 'issue_url'
    | 'linked_at'
    | 'field_written_at'
    | 'note_started_at'
    | 'note_added_at'
  >
>;

/** Records one of Direction A's steps; throws `LeaseLostError` when the lease was lost. */
export function recordLinkProgress(
  db: Db,
  conversationId: number,
  holder: string,
  progress: LinkProgress,
): Promise<Link> {
  return recordTicketLinkStep(db, conversationId, holder, progress);
}

/**
 * Claims the comment row of one close (creating it when there is none); undefined when it is
 * already posted or someone else holds a live lease on it.
 */
export async function leaseCloseComment(
  db: Db,
  row: { conversationId: number; closeKey: string; issueNumber: number; commentBody: string },
  lease: RowLease,
): Promise<CloseComment | undefined> {
  return db
    .insertInto('autolink_close_comment')
    .values({
      conversation_id: row.conversationId,
      close_key: row.closeKey,
      issue_number: row.issueNumber,
      comment_body: row.commentBody,
      lease_holder: lease.holder,
      lease_expires_at: lease.expiresAt,
      created_at: lease.now,
    })
    .onConflict((conflict) =>
      conflict
        .columns(['conversation_id', 'close_key'])
        .doUpdateSet({ lease_holder: lease.holder, lease_expires_at: lease.expiresAt })
        .where((eb) =>
          eb.and([
            eb('autolink_close_comment.posted_at', 'is', null),
            eb.or([
              eb('autolink_close_comment.lease_holder', 'is', null),
              eb('autolink_close_comment.lease_expires_at', '<', lease.now),
            ]),
          ]),
        ),
    )
    .returningAll()
    .executeTakeFirst();
}

export async function findCloseComment(
  db: Db,
  conversationId: number,
  closeKey: string,
): Promise<CloseComment | undefined> {
  return db
    .selectFrom('autolink_close_comment')
    .selectAll()
    .where('conversation_id', '=', conversationId)
    .where('close_key', '=', closeKey)
    .executeTakeFirst();
}

export async function recordCloseProgress(
  db: Db,
  row: Pick<CloseComment, 'conversation_id' | 'close_key'>,
  holder: string,
  progress: Partial<Pick<CloseComment, 'started_at' | 'comment_id' | 'posted_at'>>,
): Promise<void> {
  const updated = await db
    .updateTable('autolink_close_comment')
    .set(progress)
    .where('conversation_id', '=', row.conversation_id)
    .where('close_key', '=', row.close_key)
    .where('lease_holder', '=', holder)
    .returning('conversation_id')
    .executeTakeFirst();
  if (!updated)
    throw new LeaseLostError(`lost the lease on close ${row.close_key} of ${row.conversation_id}`);
}

export async function recordIssueClosed(
  db: Db,
  row: Pick<CloseComment, 'conversation_id' | 'close_key'>,
  now: Date,
): Promise<void> {
  await db
    .updateTable('autolink_close_comment')
    .set({ issue_closed_at: now })
    .where('conversation_id', '=', row.conversation_id)
    .where('close_key', '=', row.close_key)
    .execute();
}

export async function releaseCloseComment(
  db: Db,
  row: Pick<CloseComment, 'conversation_id' | 'close_key'>,
  holder: string,
): Promise<void> {
  await db
    .updateTable('autolink_close_comment')
    .set({ lease_holder: null, lease_expires_at: null })
    .where('conversation_id', '=', row.conversation_id)
    .where('close_key', '=', row.close_key)
    .where('lease_holder', '=', holder)
    .execute();
}
