import type { Selectable } from 'kysely';
import type { Db } from '../../db/database.ts';
import type { AutolinkLinkTable, GithubIssueDetailTable } from '../../db/schema.ts';

/**
 * The shared link record (`autolink_link`, one row per ticket whichever direction made it) as
 * the console reads and an operator changes it, and the copy of each linked issue.
 */

export type LinkRow = Selectable<AutolinkLinkTable>;
export type DetailRow = Selectable<GithubIssueDetailTable>;

export interface Lease {
  holder: string;
  now: Date;
  expiresAt: Date;
}

export async function findLinkRow(db: Db, conversationId: number): Promise<LinkRow | undefined> {
  return db
    .selectFrom('autolink_link')
    .selectAll()
    .where('conversation_id', '=', conversationId)
    .executeTakeFirst();
}

/** Tickets linked to an issue now (a claim without an issue yet, or an unlinked ticket, is not). */
export async function findLinkedTickets(db: Db, conversationIds: number[]): Promise<LinkRow[]> {
  if (conversationIds.length === 0) return [];
  return db
    .selectFrom('autolink_link')
    .selectAll()
    .where('conversation_id', 'in', conversationIds)
    .where('issue_number', 'is not', null)
    .where('issue_url', 'is not', null)
    .execute();
}

export async function findTicketOfIssue(db: Db, issueNumber: number): Promise<LinkRow | undefined> {
  return db
    .selectFrom('autolink_link')
    .selectAll()
    .where('issue_number', '=', issueNumber)
    .orderBy('linked_at')
    .executeTakeFirst();
}

/**
 * Claims the ticket's row for an operator's link, creating it when there is none; undefined
 * while another holder's lease lives (Direction A's worker uses the same lease).
 */
export async function leaseTicketRow(
  db: Db,
  row: { conversationId: number; claimId: string },
  lease: Lease,
): Promise<LinkRow | undefined> {
  return db
    .insertInto('autolink_link')
    .values({
      conversation_id: row.conversationId,
      claim_id: row.claimId,
      claimed_at: lease.now,
      direction: 'manual',
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

type Step = Partial<
  Pick<
    LinkRow,
    | 'direction'
    | 'issue_number'
    | 'issue_url'
    | 'linked_at'
    | 'field_written_at'
    | 'note_started_at'
    | 'note_added_at'
    | 'issue_labeled_at'
    | 'comment_started_at'
    | 'commented_at'
    | 'unlink_field_cleared_at'
    | 'unlink_note_started_at'
    | 'unlinked_at'
  >
>;

export class LinkLeaseLostError extends Error {
  override name = 'LinkLeaseLostError';
}

/** Records one step; throws when the lease was lost, so a stale request stops there. */
export async function recordStep(
  db: Db,
  conversationId: number,
  holder: string,
  step: Step,
): Promise<LinkRow> {
  const updated = await db
    .updateTable('autolink_link')
    .set(step)
    .where('conversation_id', '=', conversationId)
    .where('lease_holder', '=', holder)
    .returningAll()
    .executeTakeFirst();
  if (!updated) throw new LinkLeaseLostError(`lost the lease on the link of ticket ${conversationId}`);
  return updated;
}

export async function releaseTicketRow(db: Db, conversationId: number, holder: string): Promise<void> {
  await db
    .updateTable('autolink_link')
    .set({ lease_holder: null, lease_expires_at: null })
    .where('conversation_id', '=', conversationId)
    .where('lease_holder', '=', holder)
    .execute();
}

/** A claim this request made that never linked anything goes away again (never Direction A's). */
export async function dropEmptyClaim(db: Db, conversationId: number, holder: string): Promise<void> {
  await db
    .deleteFrom('autolink_link')
    .where('conversation_id', '=', conversationId)
    .where('lease_holder', '=', holder)
    .where('direction', '=', 'manual')
    .where('issue_number', 'is', null)
    .where('unlinked_at', 'is', null)
    .where('create_started_at', 'is', null)
    .execute();
}

export async function readDetails(db: Db, issueNumbers: number[]): Promise<Map<number, DetailRow>> {
  if (issueNumbers.length === 0) return new Map();
  const rows = await db
    .selectFrom('github_issue_detail')
    .selectAll()
    .where('issue_number', 'in', issueNumbers)
    .execute();
  return new Map(rows.map((row) => [row.issue_number, row]));
}

/** A row that only holds a refresh claim: no copy was ever fetched. */
export const NO_COPY_STATE = '';

/**
 * Claims the refresh of one issue's copy across instances: true for exactly one caller while
 * the copy is older than `staleBefore` and no other claim lives.
 */
export async function claimRefresh(
  db: Db,
  issueNumber: number,
  at: { now: Date; staleBefore: Date; until: Date },
): Promise<boolean> {
  const claimed = await db
    .insertInto('github_issue_detail')
    .values({
      issue_number: issueNumber,
      title: '',
      state: NO_COPY_STATE,
      labels: '[]',
      fetched_at: new Date(0),
      refresh_until: at.until,
    })
    .onConflict((conflict) =>
      conflict
        .column('issue_number')
        .doUpdateSet({ refresh_until: at.until })
        .where((eb) =>
          eb.and([
            eb('github_issue_detail.fetched_at', '<', at.staleBefore),
            eb.or([
              eb('github_issue_detail.refresh_until', 'is', null),
              eb('github_issue_detail.refresh_until', '<', at.now),
            ]),
          ]),
        ),
    )
    .returning('issue_number')
    .executeTakeFirst();
  return claimed !== undefined;
}
