import type { Selectable } from 'kysely';
import type { Db } from '../../db/database.ts';
import type { AutolinkLinkTable, GithubIssueDetailTable } from '../../db/schema.ts';
import { recordTicketLinkStep } from '../../lib/ticket-link.ts';

/**
 * The shared link record (`autolink_link`, one row per ticket whichever direction made it) as
 * the console reads and an operator changes it, and the copy of each linked issue. The row's
 * lease is taken and released in `lib/ticket-link.ts`, the same one Direction A's worker takes.
 */

export type LinkRow = Selectable<AutolinkLinkTable>;
export type DetailRow = Selectable<GithubIssueDetailTable>;

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

/** Records one step of an operator's link or unlink; throws `LeaseLostError` when the lease was lost. */
export function recordStep(db: Db, conversationId: number, holder: string, step: Step): Promise<LinkRow> {
  return recordTicketLinkStep(db, conversationId, holder, step);
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
