import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { ALL_CONVERSATION_STATUSES, type FreeScoutClient } from '../../clients/freescout.ts';
import type { FeatureDeps, ServiceDeps } from '../../lib/deps.ts';
import { httpError, UpstreamError } from '../../lib/errors.ts';
import { intakeMissing, notConfigured } from '../../lib/readiness.ts';
import { createSettlesAt } from '../../lib/unknown-outcome.ts';
import {
  abandonAttempts,
  attemptOutcome,
  claimSurface,
  countAbsorbedClick,
  readClaim,
  recordAttemptStarted,
  recordTagged,
  recordTicketOpened,
  releaseClaim,
  type SurfaceClaim,
  unresolvedAttempts,
} from './claims.ts';
import { investigateSpec } from './readiness.ts';
import {
  carriesWorkflowMarker,
  INVESTIGATE_TAG,
  type InvestigateRequest,
  investigateTicket,
  normalizedTileUrl,
} from './ticket.ts';

/**
 * How long one request may hold a surface's claim. It covers the lookup of earlier attempts
 * and one create, each bounded by the FreeScout client's timeouts; a holder that dies lets
 * it expire and the next click takes over.
 */
const CLAIM_LEASE_MS = 60_000;
/** How often a click that found the create in flight looks again (one short query each time). */
const WAIT_POLL_MS = 100;
/** FreeScout's clock may differ from ours: look a little earlier than the attempt began. */
const CLOCK_SKEW_MS = 10 * 60_000;

/**
 * `log` is the request's child logger, so lines carry its request id. `hooks.onTicketCreated`
 * is the composition root's own hook for exactly this (autolink evaluates the ticket at once),
 * passed under its one name rather than renamed for this service.
 */
type InvestigateDeps = ServiceDeps & Pick<FeatureDeps, 'hooks'>;

interface InvestigateSettings {
  operationsMailboxId: number;
  dedupMinutes: number;
  /** Base of ticket links, without a trailing slash. */
  publicUrl: string;
}

/** `InvestigateDeps` with the FreeScout client and settings a click needs, checked once per click. */
interface ConfiguredDeps extends InvestigateDeps {
  freescout: FreeScoutClient;
  settings: InvestigateSettings;
}

/**
 * An earlier attempt on this surface timed out (FreeScout may still be creating its ticket)
 * and a search does not find it yet: no new ticket until `settlesAt`, when a search that
 * finds nothing proves there is none.
 */
export class TicketOutcomeUnknownError extends Error {
  override name = 'TicketOutcomeUnknownError';
  constructor(readonly settlesAt: Date) {
    super(
      `an earlier attempt to open this surface's ticket has an unknown outcome; FreeScout may still create it (settled by ${settlesAt.toISOString()})`,
    );
  }
}

export interface InvestigateResult {
  ticketUrl: string;
  conversationId: number;
  workflowId: string;
  deduplicated: boolean;
}

export type { InvestigateRequest };

/**
 * Opens one Operations ticket per surface per dedup window. Every click first looks at the
 * surface's claim row: an open ticket within the window is returned as is; a create in flight
 * elsewhere is waited for by polling, holding no connection or lock in between (PGlite has a
 * single session, a pool has few); otherwise the click claims the surface and creates the
 * ticket without any transaction open across the FreeScout call.
 */
export async function investigateSurface(
  investigateDeps: InvestigateDeps,
  request: InvestigateRequest,
): Promise<InvestigateResult> {
  const deps = configured(investigateDeps);
  const { db, clock, settings } = deps;
  const ticketRequest = request.tileUrl
    ? { ...request, tileUrl: normalizedTileUrl(request.tileUrl) }
    : request;
  const windowMs = settings.dedupMinutes * 60_000;
  let awaitedWorkflowId: string | undefined;

  for (;;) {
    const now = clock.now();
    const claim = await readClaim(db, request.surface);
    if (claim && isOpenWithin(claim, now, windowMs)) {
      await countAbsorbedClick(db, claim.workflowId);
      if (claim.taggedAt === null && claim.conversationId !== null) {
        await tagTicket(deps, claim.surface, claim.workflowId, claim.conversationId);
      }
      return deduplicated(claim);
    }

    if (awaitedWorkflowId !== undefined && claim?.workflowId !== awaitedWorkflowId) {
      // The create this click waited for gave up its claim: it failed, and so does this click.
      const outcome = await attemptOutcome(db, awaitedWorkflowId);
      // `abandoned`: it stood back for an earlier unsettled create; this click looks for itself.
      if (outcome === 'failed' || outcome === 'unknown') {
        throw freescoutUnavailable('the ticket being created for this surface could not be created');
      }
      awaitedWorkflowId = undefined;
    }

    if (claim?.state === 'pending' && claim.leaseExpiresAt > now) {
      awaitedWorkflowId = claim.workflowId;
      await sleep(WAIT_POLL_MS);
      continue;
    }

    const workflowId = randomUUID();
    const won = await claimSurface(db, {
      surface: request.surface,
      workflowId,
      now,
      leaseExpiresAt: new Date(now.getTime() + CLAIM_LEASE_MS),
      windowStart: new Date(now.getTime() - windowMs),
    });
    if (won) return openTicket(deps, ticketRequest, workflowId, now);
  }
}

async function openTicket(
  deps: ConfiguredDeps,
  request: InvestigateRequest,
  workflowId: string,
  claimedAt: Date,
): Promise<InvestigateResult> {
  const { db, freescout, clock, log, settings } = deps;
  const { surface } = request;
  await recordAttemptStarted(db, {
    workflowId,
    surface,
    consoleState: request.state,
    ...(request.requestedBy ? { requestedBy: request.requestedBy } : {}),
    startedAt: claimedAt,
  });

  let ticket: { workflowId: string; conversationId: number; openedAt: Date };
  try {
    const earlier = await findEarlierTicket(deps, surface, workflowId, claimedAt);
    if (earlier.found) {
      ticket = earlier.found;
      log.warn(
        { surface, workflowId: ticket.workflowId, conversationId: ticket.conversationId },
        'investigate: found the ticket of an earlier attempt whose outcome was unknown',
      );
    } else if (earlier.unsettledUntil) {
      await releaseClaim(db, {
        surface,
        workflowId,
        outcome: 'abandoned',
        error: 'an earlier attempt on this surface has not settled yet',
        now: clock.now(),
      });
      log.warn(
        { surface, workflowId, settlesAt: earlier.unsettledUntil },
        'investigate: an earlier create may still land in FreeScout; no second ticket',
      );
      throw new TicketOutcomeUnknownError(earlier.unsettledUntil);
    } else {
      await abandonAttempts(deps, earlier.searched);
      const created = await freescout.createConversation(
        investigateTicket(request, workflowId, settings.operationsMailboxId),
      );
      ticket = { workflowId, conversationId: created.id, openedAt: claimedAt };
    }
  } catch (error) {
    if (!(error instanceof UpstreamError)) throw error;
    const outcome = error.details.outcomeUnknown ? 'unknown' : 'failed';
    await releaseClaim(db, { surface, workflowId, outcome, error: error.message, now: clock.now() });
    log.warn(
      { surface, workflowId, outcome, err: error },
      'investigate: FreeScout did not create the ticket',
    );
    throw freescoutUnavailable(`FreeScout did not create the ticket: ${error.message}`);
  }

  const ticketUrl = `${settings.publicUrl}/conversation/${ticket.conversationId}`;
  const kept = await recordTicketOpened(db, {
    surface,
    claimWorkflowId: workflowId,
    ticket: { ...ticket, ticketUrl },
    now: clock.now(),
  });
  if (!kept) {
    log.warn({ surface, workflowId }, 'investigate: the claim lease ran out before the ticket was recorded');
  }
  // Recorded first: whatever happens to the tag, the ticket exists and a click must not open another.
  await tagTicket(deps, surface, ticket.workflowId, ticket.conversationId);
  log.info(
    { surface, workflowId: ticket.workflowId, conversationId: ticket.conversationId },
    'investigate: ticket opened',
  );
  return {
    ticketUrl,
    conversationId: ticket.conversationId,
    workflowId: ticket.workflowId,
    deduplicated: false,
  };
}

/**
 * FreeScout drops tags sent with a create, so `auto:status` is added afterwards (read, merge,
 * write: the PUT replaces the whole set). A failure leaves `tagged_at` empty and the next
 * click on the surface tries again; the ticket itself is already recorded.
 */
async function tagTicket(
  deps: ConfiguredDeps,
  surface: string,
  workflowId: string,
  conversationId: number,
): Promise<void> {
  const { db, freescout, clock, log } = deps;
  try {
    await freescout.addTags(conversationId, [INVESTIGATE_TAG]);
  } catch (error) {
    log.error(
      { surface, conversationId, err: error },
      'investigate: could not tag the ticket auto:status; the next click on this surface retries',
    );
    return;
  }
  await recordTagged(db, { surface, workflowId, now: clock.now() });
  // Told once the ticket carries `auto:status`: autolink's rules look for that tag.
  const onTicketCreated = deps.hooks?.onTicketCreated;
  if (!onTicketCreated) return;
  try {
    await onTicketCreated(conversationId);
  } catch (error) {
    // FreeScout's own convo.created webhook and the autolink sweep still bring the ticket in.
    log.warn({ surface, conversationId, err: error }, 'investigate: could not queue the ticket for autolink');
  }
}

/**
 * Looks in the Operations mailbox for the ticket of any earlier attempt on this surface whose
 * outcome is unknown (a timeout after sending, a 5xx, a crash), by the workflow UUID in its
 * subject, so that attempt's ticket is used instead of a second one. Nothing found is proof
 * of nothing until every such attempt has settled (its start plus the client's timeout plus
 * a margin): until then `unsettledUntil` says when it will be.
 */
async function findEarlierTicket(
  deps: ConfiguredDeps,
  surface: string,
  workflowId: string,
  now: Date,
): Promise<{
  found?: { workflowId: string; conversationId: number; openedAt: Date };
  unsettledUntil?: Date;
  searched: string[];
}> {
  const { db, freescout, settings, clock } = deps;
  const windowStart = new Date(now.getTime() - settings.dedupMinutes * 60_000);
  const attempts = await unresolvedAttempts(db, surface, windowStart, workflowId);
  const [earliest] = attempts;
  if (!earliest) return { searched: [] };
  const searchedAt = clock.now();
  // No tag filter: the tag is set after the create, so a ticket whose create timed out has none.
  for await (const conversation of freescout.iterateConversations({
    mailboxId: settings.operationsMailboxId,
    status: ALL_CONVERSATION_STATUSES,
    updatedSince: new Date(earliest.startedAt.getTime() - CLOCK_SKEW_MS),
    sortField: 'updatedAt',
    sortOrder: 'asc',
    pageSize: 50,
  })) {
    const attempt = attempts.find((candidate) => carriesWorkflowMarker(conversation, candidate.workflowId));
    if (attempt) {
      return {
        found: {
          workflowId: attempt.workflowId,
          conversationId: conversation.id,
          openedAt: attempt.startedAt,
        },
        searched: [],
      };
    }
  }
  const settlesAt = new Date(
    Math.max(...attempts.map((attempt) => createSettlesAt(attempt.startedAt, freescout.timeoutMs).getTime())),
  );
  if (searchedAt < settlesAt) return { unsettledUntil: settlesAt, searched: [] };
  return { searched: attempts.map((attempt) => attempt.workflowId) };
}

/**
 * The route refuses with 503 `not_configured` before a request reaches here without these
 * (`readiness.ts`); the same answer should another caller forget.
 */
function configured(deps: InvestigateDeps): ConfiguredDeps {
  const missing = intakeMissing(investigateSpec(deps.config));
  if (missing.length > 0) throw notConfigured(missing);
  const { freescout } = deps.clients;
  const { operationsMailboxId, dedupMinutes } = deps.config.investigate;
  const { publicUrl } = deps.config.freescout;
  // The client is built from the settings checked above, and the public URL defaults to the API's.
  if (!freescout || operationsMailboxId === undefined || !publicUrl) {
    throw new Error('FreeScout client missing for a complete Investigate configuration');
  }
  return { ...deps, freescout, settings: { operationsMailboxId, dedupMinutes, publicUrl } };
}

function isOpenWithin(claim: SurfaceClaim, now: Date, windowMs: number): boolean {
  return (
    claim.state === 'open' && claim.openedAt !== null && now.getTime() - claim.openedAt.getTime() < windowMs
  );
}

function deduplicated(claim: SurfaceClaim): InvestigateResult {
  if (claim.conversationId === null || claim.ticketUrl === null) {
    throw new Error(`investigate_ticket row for ${claim.surface} is open without a ticket`);
  }
  return {
    ticketUrl: claim.ticketUrl,
    conversationId: claim.conversationId,
    workflowId: claim.workflowId,
    deduplicated: true,
  };
}

function freescoutUnavailable(message: string) {
  return httpError(502, 'freescout_unavailable', message);
}
