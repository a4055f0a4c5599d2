import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  customFieldValue,
  type FreeScoutClient,
  type FreeScoutConversation,
} from '../../clients/freescout.ts';
import type { GitHubClient, GitHubIssueDetails } from '../../clients/github.ts';
import type { LinkDirection } from '../../db/schema.ts';
import type { ServiceDeps } from '../../lib/deps.ts';
import { httpError, UpstreamError } from '../../lib/errors.ts';
import { recordIssueDetails } from '../../lib/issue-details.ts';
import { type IssueUrlField, issueUrlFieldOf } from '../../lib/issue-url-field.ts';
import { freescoutApiRequirements, githubRequirements, notConfigured } from '../../lib/readiness.ts';
import { findTicketLink, leaseTicketLink, releaseTicketLink } from '../../lib/ticket-link.ts';
import {
  claimRefresh,
  type DetailRow,
  dropEmptyClaim,
  findLinkedTickets,
  findTicketOfIssue,
  type LinkRow,
  NO_COPY_STATE,
  readDetails,
  recordStep,
} from './queries.ts';

export const LINK_LABEL = 'freescout-linked';
const COMMENT_PREFIX = '[freescout-autolink]';
/** A reader waits this long for fresh copies, then answers with the last ones (GitHub may be slow or down). */
const REFRESH_WAIT_MS = 2_000;
/** A refresh claim outlives a reader that died this long; also the pause after a failed refresh. */
const REFRESH_CLAIM_MS = 30_000;
/** At most this many issue reads at once, whatever the number of rows asked for. */
const REFRESH_CONCURRENCY = 8;
const LEASE_MS = 30_000;
/** A concurrent request on the same ticket (a double click, a retry) is waited for this long. */
const LEASE_WAIT_MS = 5_000;

export interface IssueView {
  title: string;
  state: string;
  labels: string[];
  updated_at: string;
}

export interface LinkView {
  ticket_id: number;
  issue_url: string;
  issue_number: number;
  repo: string;
  direction: LinkDirection;
  linked_at: string | null;
  issue: IssueView | null;
}

/** The issue a `PUT` names: `https://github.com/o/r/issues/N`, `o/r#N` or `#N` (in `GITHUB_REPO`). */
export function parseIssueReference(
  reference: string,
  defaultRepo: string,
): { repo: string; number: number } | null {
  const text = reference.trim();
  const url = /^https?:\/\/[^/\s]+\/([\w.-]+\/[\w.-]+)\/issues\/(\d+)\/?(?:[?#]\S*)?$/i.exec(text);
  const short = /^([\w.-]+\/[\w.-]+)?#(\d+)$/.exec(text);
  const match = url ?? short;
  if (!match) return null;
  const number = Number(match[2]);
  if (!Number.isSafeInteger(number) || number < 1 || number > 2_147_483_647) return null;
  return { repo: match[1] ?? defaultRepo, number };
}

/**
 * A URL names an issue only on the configured GitHub's own origin (scheme, host and port):
 * `https://evil.example/<owner>/<repo>/issues/1` or `http://github.com/...` is not issue #1 of
 * `GITHUB_REPO`, and is refused before GitHub is asked anything. Short forms have no origin.
 */
function refuseForeignIssueUrl(reference: string, webOrigin: string, repo: string): void {
  const text = reference.trim();
  if (!/^[a-z][a-z0-9+.-]*:/i.test(text)) return;
  let origin: string;
  try {
    origin = new URL(text).origin;
  } catch {
    return;
  }
  if (origin !== webOrigin) {
    throw httpError(
      422,
      'issue_not_found',
      `only issues of ${repo} on ${webOrigin} can be linked (the URL is on ${origin.slice(0, 200)})`,
    );
  }
}

function repoOfUrl(issueUrl: string): string | null {
  return /\/([\w.-]+\/[\w.-]+)\/issues\/\d+/.exec(issueUrl)?.[1] ?? null;
}

const sameRepo = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

// ---------------------------------------------------------------------------------------------
// Reading links, with the issue's details refreshed when stale

/** Refreshes in flight on this instance, by issue: many readers, one GitHub call. */
const inFlight = new Map<number, Promise<void>>();

export async function readLinks(deps: ServiceDeps, ticketIds: number[]): Promise<LinkView[]> {
  const rows = await findLinkedTickets(deps.db, ticketIds);
  const numbers = [...new Set(rows.map((row) => row.issue_number as number))];
  let details = await readDetails(deps.db, numbers);
  const staleBefore = new Date(deps.clock.now().getTime() - deps.config.links.detailsMaxAgeMs);
  const stale = numbers.filter((number) => {
    const copy = details.get(number);
    return !copy || new Date(copy.fetched_at) < staleBefore;
  });
  if (stale.length > 0 && deps.clients.github) {
    const refreshing = refreshAll(deps, deps.clients.github, stale, staleBefore);
    const waited = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), REFRESH_WAIT_MS);
      void refreshing.then(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
    if (!waited)
      deps.log.warn({ issues: stale.length }, 'links: GitHub slow; answering with the last copies');
    details = await readDetails(deps.db, numbers);
  }
  const byTicket = new Map(rows.map((row) => [row.conversation_id, row]));
  return ticketIds.flatMap((id) => {
    const row = byTicket.get(id);
    return row ? [linkView(deps, row, details.get(row.issue_number as number))] : [];
  });
}

export async function readLink(deps: ServiceDeps, ticketId: number): Promise<LinkView> {
  const [link] = await readLinks(deps, [ticketId]);
  if (!link) throw httpError(404, 'not_linked', `ticket ${ticketId} is not linked to a GitHub issue`);
  return link;
}

function linkView(deps: ServiceDeps, row: LinkRow, copy: DetailRow | undefined): LinkView {
  const issueUrl = row.issue_url as string;
  return {
    ticket_id: row.conversation_id,
    issue_url: issueUrl,
    issue_number: row.issue_number as number,
    repo: repoOfUrl(issueUrl) ?? deps.config.github.repo ?? '',
    direction: row.direction,
    linked_at: row.linked_at ? new Date(row.linked_at).toISOString() : null,
    issue:
      copy && copy.state !== NO_COPY_STATE
        ? {
            title: copy.title,
            state: copy.state,
            labels: parseLabels(copy.labels),
            updated_at: new Date(copy.issue_updated_at ?? copy.fetched_at).toISOString(),
          }
        : null,
  };
}

function parseLabels(text: string): string[] {
  try {
    const labels: unknown = JSON.parse(text);
    return Array.isArray(labels) ? labels.filter((label): label is string => typeof label === 'string') : [];
  } catch {
    return [];
  }
}

/** A bounded pool: 100 stale rows never become 100 simultaneous GitHub calls. */
async function refreshAll(deps: ServiceDeps, github: GitHubClient, numbers: number[], staleBefore: Date) {
  const queue = [...numbers];
  const workers = Array.from({ length: Math.min(REFRESH_CONCURRENCY, queue.length) }, async () => {
    for (let number = queue.shift(); number !== undefined; number = queue.shift()) {
      await refreshOnce(deps, github, number, staleBefore);
    }
  });
  await Promise.all(workers);
}

function refreshOnce(deps: ServiceDeps, github: GitHubClient, issueNumber: number, staleBefore: Date) {
  let pending = inFlight.get(issueNumber);
  if (!pending) {
    pending = refreshIssue(deps, github, issueNumber, staleBefore).finally(() =>
      inFlight.delete(issueNumber),
    );
    inFlight.set(issueNumber, pending);
  }
  return pending;
}

/** One GitHub read per stale issue across instances (the claim); a failure keeps the last copy. */
async function refreshIssue(deps: ServiceDeps, github: GitHubClient, issueNumber: number, staleBefore: Date) {
  const now = deps.clock.now();
  const until = new Date(now.getTime() + REFRESH_CLAIM_MS);
  try {
    if (!(await claimRefresh(deps.db, issueNumber, { now, staleBefore, until }))) return;
    const issue = await github.getIssue(issueNumber);
    // Deleted, or transferred to another repository (GitHub's 301 was followed there).
    if (!issue || !sameRepo(repoOfUrl(issue.htmlUrl) ?? '', github.repo)) {
      deps.log.warn(
        { issue: issueNumber },
        'links: GitHub no longer has this linked issue here; keeping the last copy',
      );
      return;
    }
    await recordIssueDetails(deps.db, detailsOf(issue), deps.clock.now());
  } catch (error) {
    // The claim stays until `until`: a GitHub that is down is asked again after that, not by every reader.
    deps.log.warn(
      { err: error, issue: issueNumber },
      'links: issue details not refreshed; serving the last copy',
    );
  }
}

function detailsOf(issue: GitHubIssueDetails) {
  return {
    issueNumber: issue.number,
    title: issue.title,
    state: issue.state,
    labels: issue.labels,
    updatedAt: issue.updatedAt,
  };
}

// ---------------------------------------------------------------------------------------------
// Linking an existing issue, unlinking

interface Clients {
  github: GitHubClient;
  freescout: FreeScoutClient;
}

function requireClients(deps: ServiceDeps): Clients & { publicUrl: string } {
  const { config } = deps;
  const missing = [
    ...githubRequirements(config),
    ...freescoutApiRequirements(config),
    // Every link ends with an internal note, which FreeScout refuses without a user.
    { name: 'FREESCOUT_API_USER_ID', present: config.freescout.apiUserId !== undefined },
  ]
    .filter((requirement) => !requirement.present)
    .map(({ name }) => name);
  if (missing.length > 0) throw notConfigured(missing);
  const { github, freescout } = deps.clients;
  const { publicUrl } = config.freescout;
  // The clients are built from the settings checked above, and the public URL defaults to the API's.
  if (!github || !freescout || !publicUrl)
    throw new Error('API clients missing for a complete configuration');
  return { github, freescout, publicUrl };
}

/** An upstream failure answers 502 with what is left to do; the same request again resumes. */
async function upstream<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof UpstreamError) {
      throw httpError(
        502,
        `${error.service}_unavailable`,
        `${error.message}; the same request again resumes the link`,
      );
    }
    throw error;
  }
}

export function linkNoteText(issueNumber: number, issueUrl: string): string {
  return `GitHub issue #${issueNumber} linked: ${issueUrl}`;
}

export function unlinkNoteText(issueNumber: number, issueUrl: string): string {
  return `GitHub issue #${issueNumber} unlinked: ${issueUrl}`;
}

/**
 * `PUT`: links the ticket to an existing issue of `GITHUB_REPO` — the custom field, an internal
 * note, the `freescout-linked` label and the `[freescout-autolink]` comment — each step recorded
 * so a repeated or retried request repeats none of them.
 */
export async function linkExistingIssue(
  deps: ServiceDeps,
  ticketId: number,
  reference: string,
): Promise<LinkView> {
  const { db } = deps;
  const clients = requireClients(deps);
  const repo = clients.github.repo;
  const target = parseIssueReference(reference, repo);
  if (!target) {
    throw httpError(
      400,
      'invalid_payload',
      `issue_url must be ${clients.github.webOrigin}/<owner>/<repo>/issues/<n>, <owner>/<repo>#<n> or #<n>`,
    );
  }
  refuseForeignIssueUrl(reference, clients.github.webOrigin, repo);
  if (!sameRepo(target.repo, repo)) {
    throw httpError(422, 'issue_not_found', `only issues of ${repo} can be linked (got ${target.repo})`);
  }
  await refuseOtherLinks(deps, ticketId, target.number);

  const issue = await upstream(() => clients.github.getIssue(target.number));
  // A transferred issue is followed to its new repository, which is not ours.
  if (!issue || issue.isPullRequest || !sameRepo(repoOfUrl(issue.htmlUrl) ?? '', repo)) {
    throw httpError(422, 'issue_not_found', `${repo}#${target.number} is not an issue of ${repo}`);
  }
  const ticket = await readTicket(clients.freescout, ticketId);
  const field = await issueUrlFieldOfTicket(deps, clients.freescout, ticket);
  if (!field.found) throw httpError(503, 'not_configured', field.problem);
  const fieldId = field.id;
  const fieldValue = customFieldValue(ticket, fieldId);
  if (
    fieldValue &&
    fieldValue !== issue.htmlUrl &&
    parseIssueReference(fieldValue, repo)?.number !== issue.number
  ) {
    throw httpError(409, 'already_linked', `ticket ${ticketId} is linked to ${fieldValue}`);
  }

  const holder = randomUUID();
  let row = await leaseWithWait(deps, ticketId, holder);
  try {
    // Checked again under the lease: a concurrent request may have linked it meanwhile.
    if (row.issue_number !== null && row.issue_number !== issue.number) {
      throw httpError(409, 'already_linked', `ticket ${ticketId} is linked to ${row.issue_url}`);
    }
    if (row.issue_number === null && row.unlinked_at === null && row.create_started_at !== null) {
      throw httpError(
        409,
        'link_in_progress',
        `ticket ${ticketId} is getting an issue of its own (GitHub autolink)`,
      );
    }
    if (row.issue_number === null) {
      row = await recordStep(db, ticketId, holder, {
        direction: 'manual',
        issue_number: issue.number,
        issue_url: issue.htmlUrl,
        linked_at: deps.clock.now(),
        unlinked_at: null,
        unlink_field_cleared_at: null,
        unlink_note_started_at: null,
        field_written_at: null,
        note_started_at: null,
        note_added_at: null,
        issue_labeled_at: null,
        comment_started_at: null,
        commented_at: null,
      });
    }
    // A link either direction made is complete as recorded: only an operator's needs these steps.
    const manual = row.direction === 'manual';
    if (manual) await completeManualLink(deps, clients, row, fieldId, holder);
    const labels = manual ? [...new Set([...issue.labels, LINK_LABEL])] : issue.labels;
    await recordIssueDetails(db, { ...detailsOf(issue), labels }, deps.clock.now());
  } catch (error) {
    await dropEmptyClaim(db, ticketId, holder);
    throw error;
  } finally {
    await releaseTicketLink(db, ticketId, holder);
  }
  return readLink(deps, ticketId);
}

async function refuseOtherLinks(deps: ServiceDeps, ticketId: number, issueNumber: number): Promise<void> {
  const own = await findTicketLink(deps.db, ticketId);
  if (own?.issue_number != null && own.issue_number !== issueNumber) {
    throw httpError(409, 'already_linked', `ticket ${ticketId} is linked to ${own.issue_url}`);
  }
  const other = await findTicketOfIssue(deps.db, issueNumber);
  if (other && other.conversation_id !== ticketId) {
    throw httpError(
      409,
      'already_linked',
      `issue #${issueNumber} is linked to ticket ${other.conversation_id}`,
    );
  }
}

async function readTicket(freescout: FreeScoutClient, ticketId: number): Promise<FreeScoutConversation> {
  try {
    return await freescout.getConversation(ticketId);
  } catch (error) {
    if (error instanceof UpstreamError && error.details.status === 404) {
      throw httpError(404, 'ticket_not_found', `FreeScout has no ticket ${ticketId}`);
    }
    return upstream(() => Promise.reject(error));
  }
}

/** The `github_issue_url` field of the ticket's own mailbox: another mailbox's would hide the link. */
async function issueUrlFieldOfTicket(
  deps: ServiceDeps,
  freescout: FreeScoutClient,
  ticket: FreeScoutConversation,
): Promise<IssueUrlField> {
  const mailboxId = ticket.mailboxId;
  if (mailboxId === undefined) return { found: false, problem: `ticket ${ticket.id} has no mailboxId` };
  return upstream(() => issueUrlFieldOf(freescout, deps.config.freescout.issueUrlField, mailboxId, ticket));
}

async function leaseWithWait(deps: ServiceDeps, ticketId: number, holder: string): Promise<LinkRow> {
  const deadline = Date.now() + LEASE_WAIT_MS;
  for (;;) {
    const now = deps.clock.now();
    const row = await leaseTicketLink(
      deps.db,
      { conversationId: ticketId, claimId: randomUUID(), direction: 'manual' },
      { holder, now, expiresAt: new Date(now.getTime() + LEASE_MS) },
    );
    if (row) return row;
    if (Date.now() > deadline) {
      throw httpError(409, 'link_in_progress', `ticket ${ticketId} is being linked right now; try again`);
    }
    await sleep(100);
  }
}

async function completeManualLink(
  deps: ServiceDeps,
  clients: Clients & { publicUrl: string },
  start: LinkRow,
  fieldId: number,
  holder: string,
): Promise<void> {
  const { db, clock } = deps;
  const { github, freescout } = clients;
  const ticketId = start.conversation_id;
  const issueNumber = start.issue_number as number;
  const issueUrl = start.issue_url as string;
  let row = start;
  if (row.field_written_at === null) {
    await upstream(() => freescout.updateCustomFields(ticketId, [{ id: fieldId, value: issueUrl }]));
    row = await recordStep(db, ticketId, holder, { field_written_at: clock.now() });
  }
  if (row.note_added_at === null) {
    const text = linkNoteText(issueNumber, issueUrl);
    await addNoteOnce(freescout, ticketId, text, row.note_started_at !== null, () =>
      recordStep(db, ticketId, holder, { note_started_at: clock.now() }),
    );
    row = await recordStep(db, ticketId, holder, { note_added_at: clock.now() });
  }
  if (row.issue_labeled_at === null) {
    await upstream(() => github.addLabels(issueNumber, [LINK_LABEL]));
    row = await recordStep(db, ticketId, holder, { issue_labeled_at: clock.now() });
  }
  if (row.commented_at === null) {
    const text = `${COMMENT_PREFIX} FreeScout ticket: ${clients.publicUrl}/conversation/${ticketId}`;
    // createComment is not idempotent: the issue's comments say whether an earlier attempt (or a
    // link made before an unlink) posted it already.
    const earlier = (await upstream(() => github.listComments(issueNumber))).find(
      (comment) => comment.body.trim() === text,
    );
    if (!earlier) {
      await recordStep(db, ticketId, holder, { comment_started_at: clock.now() });
      await upstream(() => github.createComment(issueNumber, text));
    }
    await recordStep(db, ticketId, holder, { commented_at: clock.now() });
  }
}

/** addNote is not idempotent: after an attempt of unknown outcome, the ticket's threads say whether it landed. */
async function addNoteOnce(
  freescout: FreeScoutClient,
  ticketId: number,
  text: string,
  attemptedBefore: boolean,
  markStarted: () => Promise<unknown>,
): Promise<void> {
  if (attemptedBefore) {
    const ticket = await upstream(() => freescout.getConversation(ticketId));
    // The URL is left out of the match: FreeScout may store it rewritten as a link.
    const prefix = text.split(' http')[0] ?? text;
    if (threadBodies(ticket).some((body) => body.includes(prefix))) return;
  }
  await markStarted();
  await upstream(() => freescout.addNote(ticketId, { text }));
}

function threadBodies(ticket: FreeScoutConversation): string[] {
  const embedded = (ticket as { _embedded?: { threads?: Array<{ type?: string; body?: string | null }> } })
    ._embedded;
  return (embedded?.threads ?? [])
    .filter((thread) => thread.type === 'note')
    .map((thread) => thread.body ?? '');
}

/** `DELETE`: the field cleared and a note; the row stays, without its issue, so Direction A leaves the ticket alone. */
export async function unlinkIssue(
  deps: ServiceDeps,
  ticketId: number,
): Promise<{ ticket_id: number; unlinked: true; issue_url: string }> {
  const { db, clock } = deps;
  const existing = await findTicketLink(db, ticketId);
  if (existing?.issue_number == null || existing.issue_url === null) {
    throw httpError(404, 'not_linked', `ticket ${ticketId} is not linked to a GitHub issue`);
  }
  const { freescout } = requireClients(deps);
  const holder = randomUUID();
  let row = await leaseWithWait(deps, ticketId, holder);
  try {
    const issueNumber = row.issue_number;
    const issueUrl = row.issue_url;
    if (issueNumber === null || issueUrl === null) {
      throw httpError(404, 'not_linked', `ticket ${ticketId} is not linked to a GitHub issue`);
    }
    if (row.unlink_field_cleared_at === null) {
      const ticket = await readTicket(freescout, ticketId);
      const field = await issueUrlFieldOfTicket(deps, freescout, ticket);
      if (field.found) {
        await upstream(() => freescout.updateCustomFields(ticketId, [{ id: field.id, value: '' }]));
      }
      row = await recordStep(db, ticketId, holder, { unlink_field_cleared_at: clock.now() });
    }
    await addNoteOnce(
      freescout,
      ticketId,
      unlinkNoteText(issueNumber, issueUrl),
      row.unlink_note_started_at !== null,
      () => recordStep(db, ticketId, holder, { unlink_note_started_at: clock.now() }),
    );
    await recordStep(db, ticketId, holder, {
      direction: 'manual',
      issue_number: null,
      issue_url: null,
      linked_at: null,
      unlinked_at: clock.now(),
    });
    deps.log.info({ ticketId, issue: issueNumber }, 'links: ticket unlinked from its issue');
    return { ticket_id: ticketId, unlinked: true, issue_url: issueUrl };
  } finally {
    await releaseTicketLink(db, ticketId, holder);
  }
}
