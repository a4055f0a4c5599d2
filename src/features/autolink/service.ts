import { randomUUID } from 'node:crypto';
import type { FreeScoutClient, FreeScoutConversation } from '../../clients/freescout.ts';
import type { GitHubClient, GitHubIssue } from '../../clients/github.ts';
import type { ServiceDeps } from '../../lib/deps.ts';
import { workLease } from '../../lib/durable-inbox.ts';
import { UpstreamError } from '../../lib/errors.ts';
import { type IssueUrlField, issueUrlFieldOf, issueUrlShown } from '../../lib/issue-url-field.ts';
import { findTicketLink, leaseTicketLink, releaseTicketLink } from '../../lib/ticket-link.ts';
import { createSettlesAt } from '../../lib/unknown-outcome.ts';
import type { ClaimedDelivery } from './inbox.ts';
import {
  abandonLink,
  type CloseComment,
  findCloseComment,
  type Link,
  leaseCloseComment,
  recordCloseProgress,
  recordIssueClosed,
  recordLinkProgress,
  releaseCloseComment,
} from './links.ts';
import {
  draftIssue,
  evaluateCriteria,
  inAutolinkMailbox,
  issueMarker,
  issueNumberInRepo,
  LINK_LABEL,
  notePrefix,
  noteText,
  resolvedCommentText,
  threadBodies,
} from './ticket.ts';

/** GitHub's clock is not ours: recovery looks this far before the claim for the issue it opened. */
const RECOVERY_CLOCK_SKEW_MS = 15 * 60_000;

/** Another worker holds this ticket (or this close) right now; try again shortly, at no cost. */
export class TicketBusyError extends Error {
  override name = 'TicketBusyError';
}

/** Something the worker needs is not configured; retried, so fixing the config heals the queue. */
export class AutolinkNotConfiguredError extends Error {
  override name = 'AutolinkNotConfiguredError';
}

/**
 * An earlier write that is not idempotent (the issue, the note, the close comment) may still
 * land upstream (it timed out or failed without an answer) and the search for it found nothing
 * yet. No second write until `settlesAt`, when the upstream must have finished whatever it was
 * doing; the work is retried then, at no attempt's cost.
 */
export class WriteUnsettledError extends Error {
  override name = 'WriteUnsettledError';
  constructor(
    what: string,
    readonly settlesAt: Date,
  ) {
    super(`an earlier ${what} has an unknown outcome; searching again at ${settlesAt.toISOString()}`);
  }
}

/** Throws while a write begun at `startedAt` may still land upstream. */
function requireSettled(deps: ServiceDeps, what: string, startedAt: Date, timeoutMs: number): void {
  const settlesAt = createSettlesAt(startedAt, timeoutMs);
  if (deps.clock.now() < settlesAt) throw new WriteUnsettledError(what, settlesAt);
}

/** A write the upstream refused with an answer created nothing: no need to look for it later. */
function createdNothing(error: unknown): boolean {
  return error instanceof UpstreamError && !error.details.outcomeUnknown;
}

/** Does the work of one delivery; answers its outcome, or throws for a retry. */
export async function processDelivery(
  deps: ServiceDeps,
  delivery: ClaimedDelivery,
  holder: string,
): Promise<string> {
  try {
    if (delivery.kind === 'status' && delivery.reported_status === 'closed') {
      const closed = await commentOnClose(deps, delivery, holder);
      // A ticket closed before it was ever linked may still qualify (tagged just before closing).
      if (closed !== 'skipped:no_linked_issue') return closed;
    }
    return await linkTicket(deps, delivery.conversation_id, holder);
  } catch (error) {
    // FreeScout no longer has the conversation (deleted for good): nothing is left to do, ever.
    if (error instanceof UpstreamError && error.service === 'freescout' && error.status === 404) {
      return 'skipped:conversation_not_found';
    }
    throw error;
  }
}

function requireClients(deps: ServiceDeps): { github: GitHubClient; freescout: FreeScoutClient } {
  const { github, freescout } = deps.clients;
  if (!github) {
    throw new AutolinkNotConfiguredError(
      'GitHub is not configured (GITHUB_REPO and GITHUB_ISSUE_BOT_TOKEN or the GITHUB_APP_* trio)',
    );
  }
  if (!freescout) {
    throw new AutolinkNotConfiguredError(
      'FreeScout is not configured (FREESCOUT_API_URL, FREESCOUT_API_KEY)',
    );
  }
  return { github, freescout };
}

/** Always fresh from FreeScout, with its tags (webhook bodies carry none). */
function readTicket(freescout: FreeScoutClient, conversationId: number) {
  return freescout.getConversation(conversationId);
}

/** The `github_issue_url` field of the ticket's own mailbox (another mailbox's field would hide the URL). */
async function issueUrlFieldOfTicket(
  deps: ServiceDeps,
  freescout: FreeScoutClient,
  conversation: FreeScoutConversation,
): Promise<IssueUrlField> {
  if (conversation.mailboxId === undefined) {
    return { found: false, problem: `ticket ${conversation.id} has no mailboxId` };
  }
  return issueUrlFieldOf(
    freescout,
    deps.config.freescout.issueUrlField,
    conversation.mailboxId,
    conversation,
  );
}

/** The criteria; the issue URL field is looked up only for a ticket in an autolink mailbox. */
async function evaluateTicket(
  deps: ServiceDeps,
  freescout: FreeScoutClient,
  conversation: FreeScoutConversation,
) {
  const settings = deps.config.autolink;
  const field = inAutolinkMailbox(conversation, settings)
    ? await issueUrlFieldOfTicket(deps, freescout, conversation)
    : undefined;
  const verdict = evaluateCriteria(conversation, settings, field ? issueUrlShown(conversation, field) : null);
  return { verdict, field };
}

/**
 * Direction A, conversation created: at most one GitHub issue per ticket, then the custom
 * field write-back and the internal note, each step recorded so no retry repeats it.
 */
export async function linkTicket(deps: ServiceDeps, conversationId: number, holder: string): Promise<string> {
  const { db, config } = deps;
  const clients = requireClients(deps);
  let conversation: FreeScoutConversation | undefined;

  const existing = await findTicketLink(db, conversationId);
  if (!existing) {
    conversation = await readTicket(clients.freescout, conversationId);
    const { verdict } = await evaluateTicket(deps, clients.freescout, conversation);
    if (!verdict.eligible) return `skipped:${verdict.reason}`;
  } else if (existing.note_added_at !== null || existing.direction !== 'freescout_to_github') {
    // A link made from GitHub (Direction B) or by an operator is complete as recorded.
    return 'already_linked';
  }

  const link = await leaseTicketLink(
    db,
    { conversationId, claimId: randomUUID(), direction: 'freescout_to_github' },
    workLease(deps, holder),
  );
  if (!link) throw new TicketBusyError(`ticket ${conversationId} is being linked by another worker`);
  try {
    let current = link;
    let outcome = 'write_back_completed';
    if (current.issue_number === null) {
      const found = await recoverIssue(deps, clients.github, current);
      if (found) {
        outcome = 'issue_recovered';
        current = await saveIssue(deps, current, found, holder);
      } else {
        if (current.create_started_at !== null) {
          requireSettled(
            deps,
            'GitHub issue create',
            new Date(current.create_started_at),
            clients.github.timeoutMs,
          );
        }
        conversation ??= await readTicket(clients.freescout, conversationId);
        const { verdict, field } = await evaluateTicket(deps, clients.freescout, conversation);
        if (!verdict.eligible) {
          await abandonLink(db, conversationId, holder);
          return `skipped:${verdict.reason}`;
        }
        // Checked before the issue exists: its URL would have nowhere visible to go.
        if (field && !field.found) throw new AutolinkNotConfiguredError(field.problem);
        const publicUrl = config.freescout.publicUrl;
        if (!publicUrl) throw new AutolinkNotConfiguredError('FREESCOUT_PUBLIC_URL is not configured');
        // Checked before the issue exists: its note could not be written without it.
        if (clients.freescout.userId === undefined) {
          throw new AutolinkNotConfiguredError('FREESCOUT_API_USER_ID is not configured');
        }
        const mailboxName = await mailboxNameOf(deps, clients.freescout, conversation.mailboxId);
        const draft = draftIssue({
          conversation,
          claimId: current.claim_id,
          ...verdict,
          publicUrl,
          mailboxName,
          labelsByTag: config.autolink.labelsByTag,
        });
        // From here an issue may exist whatever GitHub answers: a later attempt looks before
        // creating, and waits for the create to settle when the search finds nothing.
        current = await recordLinkProgress(db, conversationId, holder, {
          create_started_at: deps.clock.now(),
        });
        let issue: GitHubIssue;
        try {
          issue = await clients.github.createIssue(draft);
        } catch (error) {
          // GitHub answered that it created nothing: the next attempt need not wait or search.
          if (createdNothing(error)) {
            await recordLinkProgress(db, conversationId, holder, { create_started_at: null });
          }
          throw error;
        }
        outcome = 'issue_created';
        current = await saveIssue(deps, current, issue, holder);
      }
    }
    if (current.note_added_at !== null && outcome === 'write_back_completed') return 'already_linked';
    await writeBack(deps, clients.freescout, current, conversation, holder);
    return outcome;
  } finally {
    await releaseTicketLink(db, conversationId, holder);
  }
}

/** The mailbox's name for the issue body; a detail, so a failure to read it does not hold the issue back. */
async function mailboxNameOf(
  deps: ServiceDeps,
  freescout: FreeScoutClient,
  mailboxId: number | undefined,
): Promise<string | undefined> {
  if (mailboxId === undefined) return undefined;
  try {
    return (await freescout.listMailboxes()).find((mailbox) => mailbox.id === mailboxId)?.name;
  } catch (error) {
    deps.log.warn(
      { err: error, mailboxId },
      'autolink: mailbox name unavailable; the issue shows its id only',
    );
    return undefined;
  }
}

/**
 * After a claim whose `createIssue` may have reached GitHub (crash, timeout, 5xx), finds the
 * issue it opened by the marker in its body, listing the repo's linked issues since the claim
 * (never the search API: it lags behind writes).
 */
async function recoverIssue(
  deps: ServiceDeps,
  github: GitHubClient,
  link: Link,
): Promise<GitHubIssue | null> {
  if (link.create_started_at === null) return null;
  const since = new Date(new Date(link.create_started_at).getTime() - RECOVERY_CLOCK_SKEW_MS);
  const marker = issueMarker(link.conversation_id, link.claim_id);
  const issues = await github.listIssuesWithLabel(LINK_LABEL, since);
  const found = issues.filter((issue) => issue.body?.includes(marker));
  if (found.length > 1) {
    deps.log.error(
      { conversationId: link.conversation_id, issues: found.map((issue) => issue.number) },
      'autolink: several issues carry one claim marker; linking the first',
    );
  }
  return found.sort((a, b) => a.number - b.number)[0] ?? null;
}

function saveIssue(deps: ServiceDeps, link: Link, issue: GitHubIssue, holder: string): Promise<Link> {
  deps.log.info(
    { conversationId: link.conversation_id, issue: issue.number },
    'autolink: ticket linked to a GitHub issue',
  );
  return recordLinkProgress(deps.db, link.conversation_id, holder, {
    issue_number: issue.number,
    issue_url: issue.htmlUrl,
    linked_at: deps.clock.now(),
  });
}

async function writeBack(
  deps: ServiceDeps,
  freescout: FreeScoutClient,
  link: Link,
  knownConversation: FreeScoutConversation | undefined,
  holder: string,
): Promise<void> {
  const { db, clock } = deps;
  const { conversation_id: conversationId, issue_number: issueNumber, issue_url: issueUrl } = link;
  if (issueNumber === null || issueUrl === null) return;
  let current = link;

  if (current.field_written_at === null) {
    // The ticket's mailbox now: a ticket moved since its issue was opened shows its own fields.
    const ticket = knownConversation ?? (await freescout.getConversation(conversationId));
    const field = await issueUrlFieldOfTicket(deps, freescout, ticket);
    if (!field.found) throw new AutolinkNotConfiguredError(field.problem);
    await freescout.updateCustomFields(conversationId, [{ id: field.id, value: issueUrl }]);
    current = await recordLinkProgress(db, conversationId, holder, { field_written_at: clock.now() });
  }

  if (current.note_added_at === null) {
    const text = noteText(issueNumber, issueUrl);
    // addNote is not idempotent: when an earlier attempt may have added it, the ticket's threads say so.
    // The URL is left out of the match: FreeScout may store it rewritten as a link.
    if (current.note_started_at !== null) {
      const ticket = await freescout.getConversation(conversationId);
      if (threadBodies(ticket).some((thread) => thread.body.includes(notePrefix(issueNumber)))) {
        await recordLinkProgress(db, conversationId, holder, { note_added_at: clock.now() });
        return;
      }
      requireSettled(deps, 'FreeScout note', new Date(current.note_started_at), freescout.timeoutMs);
    }
    await recordLinkProgress(db, conversationId, holder, { note_started_at: clock.now() });
    try {
      await freescout.addNote(conversationId, { text });
    } catch (error) {
      if (createdNothing(error))
        await recordLinkProgress(db, conversationId, holder, { note_started_at: null });
      throw error;
    }
    await recordLinkProgress(db, conversationId, holder, { note_added_at: clock.now() });
  }
}

/**
 * Direction A, status changed to closed: one `FreeScout ticket resolved (<UTC>)` comment per
 * close on the linked issue, which stays open (closing it is an engineer's call) unless
 * `FREESCOUT_AUTOLINK_CLOSE_ISSUE` is on.
 */
export async function commentOnClose(
  deps: ServiceDeps,
  delivery: Pick<ClaimedDelivery, 'id' | 'conversation_id' | 'close_key'>,
  holder: string,
): Promise<string> {
  const { db, clock } = deps;
  const { github, freescout } = requireClients(deps);
  const conversationId = delivery.conversation_id;

  const conversation = await freescout.getConversation(conversationId);
  const issueUrl =
    issueUrlShown(conversation, await issueUrlFieldOfTicket(deps, freescout, conversation)) ??
    (await findTicketLink(db, conversationId))?.issue_url ??
    null;
  if (issueUrl === null) return 'skipped:no_linked_issue';
  const issueNumber = issueNumberInRepo(issueUrl, github.repo);
  if (issueNumber === null) return 'skipped:issue_not_in_repository';

  const freshClosedAt = typeof conversation.closedAt === 'string' ? conversation.closedAt : undefined;
  const closeKey = delivery.close_key ?? freshClosedAt ?? `delivery:${delivery.id}`;
  const closedAt = Number.isNaN(Date.parse(closeKey)) ? clock.now() : new Date(closeKey);
  const row = { conversationId, closeKey, issueNumber, commentBody: resolvedCommentText(closedAt) };
  const comment = await leaseCloseComment(db, row, workLease(deps, holder));
  if (!comment) {
    const recorded = await findCloseComment(db, conversationId, closeKey);
    if (recorded?.posted_at) {
      // A crash between the comment and the close leaves only the close to do.
      return (await closeIssueAfterComment(deps, github, recorded))
        ? 'issue_closed'
        : 'comment_already_posted';
    }
    throw new TicketBusyError(`close ${closeKey} of ticket ${conversationId} is being handled elsewhere`);
  }
  try {
    if (comment.started_at !== null) {
      const earlier = (await github.listComments(comment.issue_number)).find(
        (candidate) => candidate.body.trim() === comment.comment_body,
      );
      if (earlier) {
        await recordCloseProgress(db, comment, holder, { comment_id: earlier.id, posted_at: clock.now() });
        await closeIssueAfterComment(deps, github, comment);
        return 'comment_recovered';
      }
      requireSettled(deps, 'GitHub comment', new Date(comment.started_at), github.timeoutMs);
    }
    await recordCloseProgress(db, comment, holder, { started_at: clock.now() });
    let posted: { id: number };
    try {
      posted = await github.createComment(comment.issue_number, comment.comment_body);
    } catch (error) {
      if (createdNothing(error)) await recordCloseProgress(db, comment, holder, { started_at: null });
      throw error;
    }
    await recordCloseProgress(db, comment, holder, { comment_id: posted.id, posted_at: clock.now() });
    await closeIssueAfterComment(deps, github, comment);
    return 'comment_posted';
  } finally {
    await releaseCloseComment(db, comment, holder);
  }
}

/**
 * `FREESCOUT_AUTOLINK_CLOSE_ISSUE`: the issue is closed as completed once per close of the
 * ticket, after its comment. Closing is idempotent at GitHub, so a retry after a crash before
 * the record only repeats a no-op.
 */
async function closeIssueAfterComment(
  deps: ServiceDeps,
  github: GitHubClient,
  row: Pick<CloseComment, 'conversation_id' | 'close_key' | 'issue_number' | 'issue_closed_at'>,
): Promise<boolean> {
  if (!deps.config.autolink.closeIssue || row.issue_closed_at !== null) return false;
  await github.closeIssueAsCompleted(row.issue_number);
  await recordIssueClosed(deps.db, row, deps.clock.now());
  deps.log.info(
    { conversationId: row.conversation_id, issue: row.issue_number },
    'autolink: issue closed with its ticket',
  );
  return true;
}
