import { ALL_CONVERSATION_STATUSES } from '../../clients/freescout.ts';
import { type BackgroundJob, runEvery } from '../../lib/background.ts';
import type { ServiceDeps } from '../../lib/deps.ts';
import { acquireLease } from '../../lib/lease.ts';
import { findTicketLink } from '../../lib/ticket-link.ts';
import { enqueueEvaluation } from './inbox.ts';

/**
 * FreeScout sends no event when an agent adds a tag, and a ticket may get no other event for
 * days. The sweep lists, per autolink mailbox and trigger tag, the conversations updated since
 * its last run and queues a criteria check for each one not linked yet. One instance sweeps at
 * a time (a lease row), and the cursor is kept in the database, as the cache poller does.
 *
 * FreeScout's Tags module attaches a tag without touching the conversation's `updated_at`
 * (`Modules/Tags/Entities/Tag.php` attachByName), so a ticket tagged and otherwise untouched is
 * not "updated since the last sweep". Each sweep therefore reads at least the last
 * `RECENT_WINDOW_MS` of tagged tickets; a check is queued once per (ticket, updatedAt), so
 * re-reading them costs a list call, not repeated work.
 */
export const SWEEP_LEASE_NAME = 'autolink-sweep';
const CURSOR_NAME = 'tagged-conversations';
/** FreeScout stamps to the second and instances' clocks differ: re-read a margin behind the cursor. */
const CURSOR_OVERLAP_MS = 60_000;
/** Every sweep reads at least this far back (tags do not move updatedAt; see above). */
const RECENT_WINDOW_MS = 24 * 60 * 60_000;
const PAGE_SIZE = 100;

export interface SweepResult {
  /** False when another instance holds the sweep lease. */
  swept: boolean;
  queued: number;
}

export async function sweepTaggedTickets(deps: ServiceDeps, holder?: string): Promise<SweepResult> {
  const { db, clock, config } = deps;
  const { freescout } = deps.clients;
  const { mailboxIds, triggerTags, sweepSeconds } = config.autolink;
  if (!freescout || mailboxIds.length === 0 || triggerTags.length === 0) return { swept: false, queued: 0 };
  const startedAt = clock.now();
  const held = await acquireLease(
    db,
    SWEEP_LEASE_NAME,
    Math.max(sweepSeconds, 60) * 1500,
    startedAt,
    ...(holder ? [holder] : []),
  );
  if (!held) return { swept: false, queued: 0 };

  const cursor = await db
    .selectFrom('autolink_sweep_cursor')
    .select('updated_since')
    .where('name', '=', CURSOR_NAME)
    .executeTakeFirst();
  // After downtime longer than the window, from the cursor: nothing updated meanwhile is skipped.
  const recent = startedAt.getTime() - RECENT_WINDOW_MS;
  const since = new Date(
    cursor ? Math.min(new Date(cursor.updated_since).getTime() - CURSOR_OVERLAP_MS, recent) : recent,
  );

  let queued = 0;
  const seen = new Set<number>();
  for (const mailboxId of mailboxIds) {
    for (const tag of triggerTags) {
      for await (const conversation of freescout.iterateConversations({
        mailboxId,
        tag,
        // A list without `status` shows active tickets only.
        status: ALL_CONVERSATION_STATUSES,
        updatedSince: since,
        sortField: 'updatedAt',
        sortOrder: 'asc',
        pageSize: PAGE_SIZE,
      })) {
        if (seen.has(conversation.id)) continue;
        seen.add(conversation.id);
        const link = await findTicketLink(db, conversation.id);
        if (link?.note_added_at) continue;
        const { stored } = await enqueueEvaluation(
          db,
          {
            conversationId: conversation.id,
            origin: 'sweep',
            reason: conversation.updatedAt ?? startedAt.toISOString(),
          },
          clock.now(),
        );
        if (stored) queued++;
      }
    }
  }
  // The next sweep starts where this one started: changes made while it ran are read again.
  await db
    .insertInto('autolink_sweep_cursor')
    .values({ name: CURSOR_NAME, updated_since: startedAt })
    .onConflict((conflict) => conflict.column('name').doUpdateSet({ updated_since: startedAt }))
    .execute();
  if (queued > 0) deps.log.info({ queued }, 'autolink: sweep queued tagged tickets for a criteria check');
  return { swept: true, queued };
}

/** Every FREESCOUT_AUTOLINK_SWEEP_SECONDS (its job is off when that is 0). */
export function startAutolinkSweep(deps: ServiceDeps): BackgroundJob {
  return runEvery(
    'autolink-sweep',
    deps.config.autolink.sweepSeconds * 1000,
    () => sweepTaggedTickets(deps),
    deps.log,
  );
}
