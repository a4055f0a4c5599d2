import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { FreeScoutClient } from '../../clients/freescout.ts';
import type { Db } from '../../db/database.ts';
import type { Clock } from '../../lib/clock.ts';
import { httpError, UpstreamError } from '../../lib/errors.ts';
import {
  abandonAttempts,
  attemptOutcome,
  claimSurface,
  countAbsorbedClick,
  readClaim,
  recordAttemptStarted,
  recordTicketOpened,
  releaseClaim,
  type SurfaceClaim,
  unresolvedAttempts,
} from './claims.ts';
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

export interface InvestigateSettings {
  operationsMailboxId: number;
  dedupMinutes: number;
  /** Base of ticket links, without a trailing slash. */
  publicUrl: string;
}

export interface InvestigateDeps {
  db: Db;
  freescout: FreeScoutClient;
  clock: Clock;
  // A request's child logger, so lines carry its request id.
  log: Pick<Logger, 'info' | 'warn'>;
  settings: InvestigateSettings;
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
  deps: InvestigateDeps,
  request: InvestigateRequest,
): Promise<InvestigateResult> {
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
      return deduplicated(claim);
    }

    if (awaitedWorkflowId !== undefined && claim?.workflowId !== awaitedWorkflowId) {
      // The create this click waited for gave up its claim: it failed, and so does this click.
      const outcome = await attemptOutcome(db, awaitedWorkflowId);
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
  deps: InvestigateDeps,
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
    } else {
      await abandonAttempts(db, earlier.searched, clock.now());
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
 * Looks in the Operations mailbox for the ticket of any earlier attempt on this surface whose
 * outcome is unknown (a timeout after sending, a 5xx, a crash), by the workflow UUID in its
 * subject, so that attempt's ticket is used instead of a second one.
 */
async function findEarlierTicket(
  deps: InvestigateDeps,
  surface: string,
  workflowId: string,
  now: Date,
): Promise<{
  found?: { workflowId: string; conversationId: number; openedAt: Date };
  searched: string[];
}> {
  const { db, freescout, settings } = deps;
  const windowStart = new Date(now.getTime() - settings.dedupMinutes * 60_000);
  const attempts = await unresolvedAttempts(db, surface, windowStart, workflowId);
  const [earliest] = attempts;
  if (!earliest) return { searched: [] };
  for await (const conversation of freescout.iterateConversations({
    mailboxId: settings.operationsMailboxId,
    tag: INVESTIGATE_TAG,
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
  return { searched: attempts.map((attempt) => attempt.workflowId) };
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
