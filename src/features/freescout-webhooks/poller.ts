import {
  ALL_CONVERSATION_STATUSES,
  type FreeScoutClient,
  type FreeScoutConversation,
} from '../../clients/freescout.ts';
import type { CachedTicketStatus } from '../../db/schema.ts';
import type { ServiceDeps } from '../../lib/deps.ts';
import { UpstreamError } from '../../lib/errors.ts';
import { acquireLease } from '../../lib/lease.ts';
import { refreshTicketCache } from './cache.ts';
import type { TicketSnapshot } from './delivery.ts';

export const POLL_LEASE_NAME = 'freescout-cache-poll';
const CURSOR_NAME = 'conversations';
/** FreeScout stamps to the second: re-read a margin behind the cursor so same-second changes are not missed. */
const CURSOR_OVERLAP_MS = 60_000;
const PAGE_SIZE = 100;
const REVALIDATE_BATCH = 100;

interface PollOptions {
  /** Identifies the instance for the lease; defaults to this process. */
  holder?: string;
}

export interface PollResult {
  /** False when another instance holds the poll lease. */
  polled: boolean;
  refreshed: number;
  revalidated: number;
}

/**
 * One poll cycle, on at most one instance: pages through conversations changed since the
 * stored cursor (minus an overlap), then re-validates open tickets whose rows near
 * `ttl_expires`, so a ticket that simply did not change stays cached.
 */
export async function pollFreescoutChanges(
  deps: ServiceDeps,
  { holder }: PollOptions = {},
): Promise<PollResult> {
  const { db, clock } = deps;
  const { freescout } = deps.clients;
  // The poll job's readiness requires the FreeScout API settings, so the client exists when it runs.
  if (!freescout)
    throw new Error('the cache poller needs the FreeScout client (FREESCOUT_API_URL / FREESCOUT_API_KEY)');
  const { cacheTtlSeconds, pollIntervalSeconds } = deps.config.freescoutWebhooks;
  // Renewed every interval; a holder that dies is replaced within about one and a half.
  const leaseMs = pollIntervalSeconds * 1500;
  const held = await acquireLease(db, POLL_LEASE_NAME, leaseMs, clock.now(), ...(holder ? [holder] : []));
  if (!held) return { polled: false, refreshed: 0, revalidated: 0 };

  const cursor = await db
    .selectFrom('freescout_poll_cursor')
    .select('updated_since')
    .where('name', '=', CURSOR_NAME)
    .executeTakeFirst();
  const since = cursor
    ? new Date(new Date(cursor.updated_since).getTime() - CURSOR_OVERLAP_MS)
    : new Date(clock.now().getTime() - cacheTtlSeconds * 1000);

  let refreshed = 0;
  let newest = cursor ? new Date(cursor.updated_since) : since;
  const pages = freescout.iterateConversations({
    // Without it FreeScout lists active conversations only: closes and spam would never heal.
    status: ALL_CONVERSATION_STATUSES,
    updatedSince: since,
    sortField: 'updatedAt',
    sortOrder: 'asc',
    pageSize: PAGE_SIZE,
  });
  for await (const conversation of pages) {
    const snapshot = conversationSnapshot(conversation);
    if (!snapshot) {
      deps.log.warn(
        { ticket_id: conversation.id, status: conversation.status },
        'unknown FreeScout status skipped',
      );
      continue;
    }
    if (await write(deps, snapshot)) refreshed++;
    if (snapshot.updatedAt && snapshot.updatedAt > newest) newest = snapshot.updatedAt;
  }
  const polledAt = clock.now();
  await db
    .insertInto('freescout_poll_cursor')
    .values({ name: CURSOR_NAME, updated_since: newest, last_polled_at: polledAt })
    .onConflict((conflict) =>
      conflict.column('name').doUpdateSet({ updated_since: newest, last_polled_at: polledAt }),
    )
    .execute();

  const revalidated = await revalidateExpiringTickets(deps, freescout);
  return { polled: true, refreshed, revalidated };
}

async function revalidateExpiringTickets(deps: ServiceDeps, freescout: FreeScoutClient): Promise<number> {
  const now = deps.clock.now();
  const horizon = new Date(now.getTime() + deps.config.freescoutWebhooks.pollIntervalSeconds * 3 * 1000);
  const expiring = await deps.db
    .selectFrom('freescout_ticket_cache')
    .select('ticket_id')
    .where('status', 'in', ['active', 'pending'])
    .where('ttl_expires', '<', horizon)
    .orderBy('ttl_expires')
    .limit(REVALIDATE_BATCH)
    .execute();
  let revalidated = 0;
  for (const { ticket_id } of expiring) {
    try {
      const snapshot = conversationSnapshot(await freescout.getConversation(ticket_id));
      if (snapshot) await write(deps, snapshot);
    } catch (error) {
      if (!(error instanceof UpstreamError && error.status === 404)) throw error;
      await write(deps, { ticketId: ticket_id, status: 'deleted', updatedAt: undefined });
    }
    revalidated++;
  }
  return revalidated;
}

function write(deps: ServiceDeps, snapshot: TicketSnapshot) {
  return refreshTicketCache(deps.db, snapshot, {
    now: deps.clock.now(),
    ttlSeconds: deps.config.freescoutWebhooks.cacheTtlSeconds,
    source: 'poll',
    confirm: true,
  });
}

const KNOWN_STATUSES = new Set<string>(['active', 'pending', 'closed', 'spam']);

function conversationSnapshot(conversation: FreeScoutConversation): TicketSnapshot | undefined {
  if (conversation.state !== 'deleted' && !KNOWN_STATUSES.has(conversation.status)) return undefined;
  const status = (conversation.state === 'deleted' ? 'deleted' : conversation.status) as CachedTicketStatus;
  return {
    ticketId: conversation.id,
    status,
    updatedAt: conversation.updatedAt ? new Date(conversation.updatedAt) : undefined,
  };
}
