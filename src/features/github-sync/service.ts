import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { FreeScoutClient, FreeScoutConversation } from '../../clients/freescout.ts';
import type { GitHubClient } from '../../clients/github.ts';
import type { ServiceDeps } from '../../lib/deps.ts';
import { workLease } from '../../lib/durable-inbox.ts';
import { UpstreamError } from '../../lib/errors.ts';
import { issueUrlFieldOf } from '../../lib/issue-url-field.ts';
import { type ClaimedSyncDelivery, hasOpenLabelDelivery, markNoteStarted } from './inbox.ts';
import {
  abandonIssue,
  findLinkByIssue,
  type IssueClaim,
  leaseIssue,
  type RecordedLink,
  recordIssueProgress,
  recordTicket,
  releaseIssue,
} from './links.ts';
import {
  carriesLinkLabel,
  confirmNoteText,
  draftTicket,
  type IssueSnapshot,
  isLinkComment,
  issueSnapshotSchema,
  labelEffect,
  linkCommentText,
  stateNoteText,
  ticketTags,
} from './payload.ts';

/**
 * A create whose answer never came (timeout, reset, 5xx) may still land: FreeScout's PHP can
 * finish the request long after our client gave up (10 s by default). Recovery lists the mailbox only once
 * this long has passed since the create started, so a late ticket is found instead of doubled.
 */
export const CREATE_SETTLE_MS = 5 * 60_000;
/** FreeScout's clock is not ours: recovery looks this far before the create for its ticket. */
const RECOVERY_CLOCK_SKEW_MS = 15 * 60_000;
const RECOVERY_PAGE_SIZE = 50;
const OPERATIONS_MAILBOX_NAME = 'operations';
/** Every status, explicitly: FreeScout's list shows only active conversations when none is given. */
const ALL_STATUSES = 'active,pending,closed,spam';

/** Another worker holds this issue right now; try again shortly, at no cost. */
export class IssueBusyError extends Error {
  override name = 'IssueBusyError';
}

/** A create of unknown outcome may still land; look for its ticket once `settlesAt` has passed. */
export class CreateUnsettledError extends Error {
  override name = 'CreateUnsettledError';
  constructor(readonly settlesAt: Date) {
    super(
      `a ticket create of unknown outcome may still land; recovery looks after ${settlesAt.toISOString()}`,
    );
  }
}

/** Something the worker needs is not configured; retried, so fixing the config heals the queue. */
export class SyncNotConfiguredError extends Error {
  override name = 'SyncNotConfiguredError';
}

/** Does the work of one delivery; answers its outcome, or throws for a retry. */
export async function processSyncDelivery(
  deps: ServiceDeps,
  delivery: ClaimedSyncDelivery,
  holder: string,
): Promise<string> {
  const { github, freescout } = requireClients(deps);
  const snapshot = issueSnapshotSchema.parse(JSON.parse(delivery.payload));
  // The service's own writes (Direction A's labels, an issue it closes) must never come back as work.
  const ownLogin = await github.ownLogin();
  if (delivery.sender_login.toLowerCase() === ownLogin.toLowerCase()) return 'skipped:own_action';

  if (delivery.action === 'labeled') {
    const effect = labelEffect(deps.config.githubSync.labels, delivery.label ?? '');
    if (!effect) return 'skipped:label_not_configured';
    if (effect.kind === 'confirm') {
      const text = confirmNoteText(delivery.issue_number, snapshot.url, delivery.sender_login);
      return noteOnLinkedTicket(deps, freescout, delivery, text);
    }
    return openTicket(deps, { github, freescout }, delivery, snapshot, effect.tags, holder);
  }
  if (delivery.action === 'closed' || delivery.action === 'reopened') {
    const text = stateNoteText(delivery.issue_number, delivery.action, delivery.sender_login);
    return noteOnLinkedTicket(deps, freescout, delivery, text);
  }
  return 'skipped:action_not_handled';
}

function requireClients(deps: ServiceDeps): { github: GitHubClient; freescout: FreeScoutClient } {
  const { github, freescout } = deps.clients;
  if (!github) {
    throw new SyncNotConfiguredError(
      'GitHub is not configured (GITHUB_REPO and GITHUB_ISSUE_BOT_TOKEN or the GITHUB_APP_* trio)',
    );
  }
  if (!freescout) {
    throw new SyncNotConfiguredError('FreeScout is not configured (FREESCOUT_API_URL, FREESCOUT_API_KEY)');
  }
  return { github, freescout };
}

/**
 * A trigger label: at most one ticket per issue (the claim row, leased before FreeScout is
 * called), tagged by read-merge-write, then the `[freescout-autolink]` comment; each step
 * recorded so no retry repeats it. On an issue already linked, only the label's tags are added.
 */
async function openTicket(
  deps: ServiceDeps,
  clients: { github: GitHubClient; freescout: FreeScoutClient },
  delivery: ClaimedSyncDelivery,
  snapshot: IssueSnapshot,
  effectTags: string[],
  holder: string,
): Promise<string> {
  const { db, clock } = deps;
  const { github, freescout } = clients;
  const issueNumber = delivery.issue_number;

  // Loop locks: an issue Direction A opened is the other end of a ticket already.
  const link = await findLinkByIssue(db, issueNumber);
  if (link?.direction === 'freescout_to_github') return 'skipped:freescout_linked';
  if (!link && carriesLinkLabel(snapshot)) return 'skipped:freescout_linked';

  const claim = await leaseIssue(
    db,
    { repo: github.repo, issueNumber, issueUrl: snapshot.url, claimId: randomUUID() },
    workLease(deps, holder),
  );
  if (!claim) throw new IssueBusyError(`GitHub issue #${issueNumber} is being handled by another worker`);
  try {
    let current = claim;
    let outcome: string | undefined;
    if (current.conversation_id === null && link) {
      current = await recordTicket(db, current, holder, link.conversation_id, clock.now());
    }
    if (current.conversation_id === null) {
      const recovered = await recoverTicket(deps, freescout, current);
      if (recovered !== null) {
        outcome = 'ticket_recovered';
        current = await recordTicket(db, current, holder, recovered, clock.now());
      } else {
        // The seed's own lock: a `[freescout-autolink]` comment means a ticket exists somewhere already.
        if ((await github.listComments(issueNumber)).some((comment) => isLinkComment(comment.body))) {
          await abandonIssue(db, current, holder);
          return 'skipped:already_commented';
        }
        const created = await createTicket(deps, freescout, current, snapshot, delivery.label ?? '', holder);
        outcome = 'ticket_created';
        current = await recordTicket(db, created.claim, holder, created.conversationId, clock.now());
        deps.log.info({ issueNumber, conversationId: created.conversationId }, 'github-sync: ticket opened');
      }
    }
    const conversationId = current.conversation_id as number;
    const tagsAdded = (await freescout.addTags(conversationId, ticketTags(effectTags))).length > 0;
    // An operator's manual link posts its own comment; every other link is ours to announce.
    const commented =
      link?.direction === 'manual'
        ? false
        : await commentOnIssue(deps, github, current, conversationId, holder);
    return outcome ?? (tagsAdded ? 'tags_added' : commented ? 'comment_posted' : 'already_linked');
  } finally {
    await releaseIssue(db, claim, holder);
  }
}

async function createTicket(
  deps: ServiceDeps,
  freescout: FreeScoutClient,
  claim: IssueClaim,
  snapshot: IssueSnapshot,
  label: string,
  holder: string,
): Promise<{ claim: IssueClaim; conversationId: number }> {
  const { db, clock, config } = deps;
  const mailboxId = await syncMailboxId(deps, freescout);
  // The sync mailbox's own field: another mailbox's would store the URL where nobody sees it.
  const field = await issueUrlFieldOf(freescout, config.freescout.issueUrlField, mailboxId);
  if (!field.found) throw new SyncNotConfiguredError(field.problem);
  const fieldId = field.id;
  const draft = draftTicket({
    snapshot,
    issueNumber: claim.issue_number,
    repo: claim.repo,
    mailboxId,
    fieldId,
    label,
  });
  // From here a ticket may exist whatever FreeScout answers: a later attempt looks before creating.
  const started = await recordIssueProgress(db, claim, holder, { create_started_at: clock.now() });
  try {
    const { id } = await freescout.createConversation(draft);
    return { claim: started, conversationId: id };
  } catch (error) {
    if (!(error instanceof UpstreamError && error.details.outcomeUnknown)) {
      // FreeScout refused it before storing anything: the next attempt may create straight away.
      await recordIssueProgress(db, started, holder, { create_started_at: null });
    }
    throw error;
  }
}

/** `GITHUB_SYNC_MAILBOX_ID`, else `FREESCOUT_OPERATIONS_MAILBOX_ID`, else the mailbox named Operations. */
async function syncMailboxId(deps: ServiceDeps, freescout: FreeScoutClient): Promise<number> {
  const configured = deps.config.githubSync.mailboxId;
  if (configured !== undefined) return configured;
  const operations = (await freescout.listMailboxes()).find(
    (mailbox) => mailbox.name.trim().toLowerCase() === OPERATIONS_MAILBOX_NAME,
  );
  if (!operations) {
    throw new SyncNotConfiguredError(
      'set GITHUB_SYNC_MAILBOX_ID (or FREESCOUT_OPERATIONS_MAILBOX_ID): no mailbox is named Operations',
    );
  }
  return operations.id;
}

/**
 * After a create of unknown outcome, finds the ticket it made by the issue URL in its custom
 * field, listing the mailbox's conversations changed since (tags may not be set on it yet).
 */
async function recoverTicket(
  deps: ServiceDeps,
  freescout: FreeScoutClient,
  claim: IssueClaim,
): Promise<number | null> {
  if (claim.create_started_at === null) return null;
  const startedAt = new Date(claim.create_started_at).getTime();
  const settlesAt = new Date(startedAt + CREATE_SETTLE_MS);
  if (deps.clock.now() < settlesAt) throw new CreateUnsettledError(settlesAt);
  const conversations = freescout.iterateConversations({
    mailboxId: await syncMailboxId(deps, freescout),
    status: ALL_STATUSES,
    updatedSince: new Date(startedAt - RECOVERY_CLOCK_SKEW_MS),
    sortField: 'updatedAt',
    sortOrder: 'asc',
    pageSize: RECOVERY_PAGE_SIZE,
  });
  for await (const conversation of conversations) {
    if (carriesIssueUrl(conversation, claim.issue_url)) return conversation.id;
  }
  return null;
}

function carriesIssueUrl(conversation: FreeScoutConversation, issueUrl: string): boolean {
  return (conversation.customFields ?? []).some((field) => String(field.value ?? '').trim() === issueUrl);
}

async function commentOnIssue(
  deps: ServiceDeps,
  github: GitHubClient,
  claim: IssueClaim,
  conversationId: number,
  holder: string,
): Promise<boolean> {
  const { db, clock, config } = deps;
  if (claim.commented_at !== null) return false;
  const publicUrl = config.freescout.publicUrl;
  if (!publicUrl) throw new SyncNotConfiguredError('FREESCOUT_PUBLIC_URL is not configured');
  const text = linkCommentText(publicUrl, conversationId);
  // createComment is not idempotent: when an earlier attempt may have posted it, the issue says so.
  if (claim.comment_started_at !== null) {
    const earlier = (await github.listComments(claim.issue_number)).find(
      (comment) => comment.body.trim() === text,
    );
    if (earlier) {
      await recordIssueProgress(db, claim, holder, { comment_id: earlier.id, commented_at: clock.now() });
      return true;
    }
  }
  const started = await recordIssueProgress(db, claim, holder, { comment_started_at: clock.now() });
  const posted = await github.createComment(claim.issue_number, text);
  await recordIssueProgress(db, started, holder, { comment_id: posted.id, commented_at: clock.now() });
  return true;
}

const threadsSchema = z.looseObject({
  _embedded: z
    .looseObject({
      threads: z.array(
        z.looseObject({
          type: z.string().optional(),
          body: z.string().nullish(),
          createdAt: z.string().nullish(),
        }),
      ),
    })
    .nullish(),
});
/** How far before our "note started" mark FreeScout's clock may date the note. */
const NOTE_CLOCK_SKEW_MS = 5 * 60_000;

/**
 * One internal note per delivery on the ticket linked to the issue (either direction), written
 * as `FREESCOUT_API_USER_ID`; the ticket's status is never touched.
 */
async function noteOnLinkedTicket(
  deps: ServiceDeps,
  freescout: FreeScoutClient,
  delivery: ClaimedSyncDelivery,
  text: string,
): Promise<string> {
  const { db, clock, config } = deps;
  const link: RecordedLink | undefined = await findLinkByIssue(db, delivery.issue_number);
  if (!link) {
    // A label received just before may be opening the ticket right now: its note waits for it.
    if (await hasOpenLabelDelivery(db, delivery.issue_number, delivery.id)) {
      throw new IssueBusyError(`GitHub issue #${delivery.issue_number} may be getting its ticket`);
    }
    return 'skipped:not_linked';
  }
  const user = config.freescout.apiUserId;
  if (user === undefined) {
    throw new SyncNotConfiguredError('FREESCOUT_API_USER_ID is not set (FreeScout requires a user on notes)');
  }
  if (delivery.note_started_at !== null) {
    const since = new Date(delivery.note_started_at).getTime() - NOTE_CLOCK_SKEW_MS;
    const ticket = await freescout.getConversation(link.conversation_id);
    const threads = threadsSchema.safeParse(ticket);
    // The URL is left out of the match: FreeScout may store it rewritten as a link.
    const match = text.split(' http')[0] ?? text;
    const earlier = (threads.success ? (threads.data._embedded?.threads ?? []) : []).some(
      (thread) =>
        thread.type === 'note' &&
        (thread.body ?? '').includes(match) &&
        (thread.createdAt ? Date.parse(thread.createdAt) >= since : true),
    );
    if (earlier) return 'note_recovered';
  }
  await markNoteStarted({ db, clock }, delivery);
  await freescout.addNote(link.conversation_id, { text });
  return 'note_added';
}
