import type { Selectable } from 'kysely';
import type { Db } from '../../db/database.ts';
import type { GithubSyncIssueTable, LinkDirection } from '../../db/schema.ts';
import type { RowLease } from '../../lib/lease.ts';

/**
 * The per-issue claim row of Direction B and the shared link record (`autolink_link`, one row
 * per linked ticket whichever direction made it). The claim carries a lease: only its holder
 * calls FreeScout or GitHub for that issue, whatever the number of deliveries or instances.
 */

export type IssueClaim = Selectable<GithubSyncIssueTable>;

export interface RecordedLink {
  conversation_id: number;
  issue_url: string | null;
  direction: LinkDirection;
}

/** The ticket linked to an issue of the repository, by either direction. */
export async function findLinkByIssue(db: Db, issueNumber: number): Promise<RecordedLink | undefined> {
  const row = await db
    .selectFrom('autolink_link')
    .select(['conversation_id', 'issue_url', 'direction'])
    .where('issue_number', '=', issueNumber)
    .orderBy('linked_at')
    .executeTakeFirst();
  return row;
}

export async function findIssueClaim(
  db: Db,
  repo: string,
  issueNumber: number,
): Promise<IssueClaim | undefined> {
  return db
    .selectFrom('github_sync_issue')
    .selectAll()
    .where('repo', '=', repo.toLowerCase())
    .where('issue_number', '=', issueNumber)
    .executeTakeFirst();
}

/** Claims the issue's row (creating it when there is none); undefined while another holder's lease lives. */
export async function leaseIssue(
  db: Db,
  issue: { repo: string; issueNumber: number; issueUrl: string; claimId: string },
  lease: RowLease,
): Promise<IssueClaim | undefined> {
  return db
    .insertInto('github_sync_issue')
    .values({
      repo: issue.repo.toLowerCase(),
      issue_number: issue.issueNumber,
      issue_url: issue.issueUrl,
      claim_id: issue.claimId,
      claimed_at: lease.now,
      lease_holder: lease.holder,
      lease_expires_at: lease.expiresAt,
    })
    .onConflict((conflict) =>
      conflict
        .columns(['repo', 'issue_number'])
        .doUpdateSet({ lease_holder: lease.holder, lease_expires_at: lease.expiresAt })
        .where((eb) =>
          eb.or([
            eb('github_sync_issue.lease_holder', 'is', null),
            eb('github_sync_issue.lease_expires_at', '<', lease.now),
          ]),
        ),
    )
    .returningAll()
    .executeTakeFirst();
}

export async function releaseIssue(db: Db, claim: IssueClaim, holder: string): Promise<void> {
  await db
    .updateTable('github_sync_issue')
    .set({ lease_holder: null, lease_expires_at: null })
    .where('repo', '=', claim.repo)
    .where('issue_number', '=', claim.issue_number)
    .where('lease_holder', '=', holder)
    .execute();
}

/** Drops a claim that never sent a create, so a later label evaluates the issue afresh. */
export async function abandonIssue(db: Db, claim: IssueClaim, holder: string): Promise<void> {
  await db
    .deleteFrom('github_sync_issue')
    .where('repo', '=', claim.repo)
    .where('issue_number', '=', claim.issue_number)
    .where('lease_holder', '=', holder)
    .where('conversation_id', 'is', null)
    .where('create_started_at', 'is', null)
    .execute();
}

type IssueProgress = Partial<
  Pick<IssueClaim, 'create_started_at' | 'comment_started_at' | 'comment_id' | 'commented_at'>
>;

export class IssueLeaseLostError extends Error {
  override name = 'IssueLeaseLostError';
}

/** Records one step; throws when the lease was lost, so a stale worker stops there. */
export async function recordIssueProgress(
  db: Db,
  claim: IssueClaim,
  holder: string,
  progress: IssueProgress,
): Promise<IssueClaim> {
  const updated = await db
    .updateTable('github_sync_issue')
    .set(progress)
    .where('repo', '=', claim.repo)
    .where('issue_number', '=', claim.issue_number)
    .where('lease_holder', '=', holder)
    .returningAll()
    .executeTakeFirst();
  if (!updated) throw new IssueLeaseLostError(`lost the lease on GitHub issue #${claim.issue_number}`);
  return updated;
}

/**
 * Records the ticket on the claim and in the shared link record, in one transaction: from then
 * on every later delivery (and Direction A) sees the issue as linked.
 */
export async function recordTicket(
  db: Db,
  claim: IssueClaim,
  holder: string,
  conversationId: number,
  now: Date,
): Promise<IssueClaim> {
  return db.transaction().execute(async (trx) => {
    const updated = await trx
      .updateTable('github_sync_issue')
      .set({ conversation_id: conversationId, linked_at: now })
      .where('repo', '=', claim.repo)
      .where('issue_number', '=', claim.issue_number)
      .where('lease_holder', '=', holder)
      .returningAll()
      .executeTakeFirst();
    if (!updated) throw new IssueLeaseLostError(`lost the lease on GitHub issue #${claim.issue_number}`);
    await trx
      .insertInto('autolink_link')
      .values({
        conversation_id: conversationId,
        claim_id: claim.claim_id,
        claimed_at: claim.claimed_at,
        issue_number: claim.issue_number,
        issue_url: claim.issue_url,
        linked_at: now,
        // Written with the create itself, so Direction A has nothing left to write back.
        field_written_at: now,
        direction: 'github_to_freescout',
      })
      .onConflict((conflict) => conflict.column('conversation_id').doNothing())
      .execute();
    return updated;
  });
}
