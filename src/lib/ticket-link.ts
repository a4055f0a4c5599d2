import type { Selectable, Updateable } from 'kysely';
import type { Db } from '../db/database.ts';
import type { AutolinkLinkTable, LinkDirection } from '../db/schema.ts';
import { LeaseLostError, type RowLease } from './lease.ts';

/**
 * A ticket's link record (`autolink_link`, one row per ticket whichever direction made it) and
 * the lease on it. GitHub autolink (Direction A) and an operator's link or unlink (the links
 * feature) take the same lease, so only one of them calls GitHub or FreeScout for a ticket at
 * a time. Shared here because both features write the row; neither imports the other.
 */

type TicketLink = Selectable<AutolinkLinkTable>;

export async function findTicketLink(db: Db, conversationId: number): Promise<TicketLink | undefined> {
  return db
    .selectFrom('autolink_link')
    .selectAll()
    .where('conversation_id', '=', conversationId)
    .executeTakeFirst();
}

/**
 * Claims the ticket's row for the lease holder, creating it (with `claimId`, made by
 * `direction`) when there is none; undefined while another holder's lease lives. A row whose
 * lease was released or has expired is taken over, whoever made it.
 */
export async function leaseTicketLink(
  db: Db,
  row: { conversationId: number; claimId: string; direction: LinkDirection },
  lease: RowLease,
): Promise<TicketLink | undefined> {
  return db
    .insertInto('autolink_link')
    .values({
      conversation_id: row.conversationId,
      claim_id: row.claimId,
      claimed_at: lease.now,
      direction: row.direction,
      lease_holder: lease.holder,
      lease_expires_at: lease.expiresAt,
    })
    .onConflict((conflict) =>
      conflict
        .column('conversation_id')
        .doUpdateSet({ lease_holder: lease.holder, lease_expires_at: lease.expiresAt })
        .where((eb) =>
          eb.or([
            eb('autolink_link.lease_holder', 'is', null),
            eb('autolink_link.lease_expires_at', '<', lease.now),
          ]),
        ),
    )
    .returningAll()
    .executeTakeFirst();
}

/**
 * Writes a step of the holder's work on the ticket's row, only while it still holds the lease;
 * throws `LeaseLostError` when the lease was lost, so a stale worker or request stops there.
 */
export async function recordTicketLinkStep(
  db: Db,
  conversationId: number,
  holder: string,
  step: Updateable<AutolinkLinkTable>,
): Promise<TicketLink> {
  const updated = await db
    .updateTable('autolink_link')
    .set(step)
    .where('conversation_id', '=', conversationId)
    .where('lease_holder', '=', holder)
    .returningAll()
    .executeTakeFirst();
  if (!updated) throw new LeaseLostError(`lost the lease on the link of ticket ${conversationId}`);
  return updated;
}

export async function releaseTicketLink(db: Db, conversationId: number, holder: string): Promise<void> {
  await db
    .updateTable('autolink_link')
    .set({ lease_holder: null, lease_expires_at: null })
    .where('conversation_id', '=', conversationId)
    .where('lease_holder', '=', holder)
    .execute();
}
