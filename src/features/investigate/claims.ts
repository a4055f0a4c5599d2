import { sql } from 'kysely';
import type { Db } from '../../db/database.ts';
import type { InvestigateAttemptOutcome } from '../../db/schema.ts';
import type { ServiceDeps } from '../../lib/deps.ts';

/** A surface's row in `investigate_ticket`, read back. */
export interface SurfaceClaim {
  surface: string;
  state: 'pending' | 'open';
  workflowId: string;
  leaseExpiresAt: Date;
  conversationId: number | null;
  ticketUrl: string | null;
  openedAt: Date | null;
  /** When `auto:status` was set on the ticket; null until it is. */
  taggedAt: Date | null;
}

export interface UnresolvedAttempt {
  workflowId: string;
  startedAt: Date;
}

export async function readClaim(db: Db, surface: string): Promise<SurfaceClaim | undefined> {
  const row = await db
    .selectFrom('investigate_ticket')
    .selectAll()
    .where('surface', '=', surface)
    .executeTakeFirst();
  if (!row) return undefined;
  return {
    surface: row.surface,
    state: row.state,
    workflowId: row.workflow_id,
    leaseExpiresAt: new Date(row.lease_expires_at),
    conversationId: row.conversation_id,
    ticketUrl: row.ticket_url,
    openedAt: row.opened_at === null ? null : new Date(row.opened_at),
    taggedAt: row.tagged_at === null ? null : new Date(row.tagged_at),
  };
}

/**
 * Makes `workflowId` the one request allowed to create the surface's ticket, unless a ticket
 * is open within the window or another request holds an unexpired lease. One statement: the
 * conflicting row is locked and re-checked, so of any number of concurrent claims, on any
 * number of instances, exactly one wins. Nothing stays locked after it returns.
 */
export async function claimSurface(
  db: Db,
  claim: { surface: string; workflowId: string; now: Date; leaseExpiresAt: Date; windowStart: Date },
): Promise<boolean> {
  const { surface, workflowId, now, leaseExpiresAt, windowStart } = claim;
  const result = await sql<{ workflow_id: string }>`
    insert into investigate_ticket (surface, state, workflow_id, claimed_at, lease_expires_at)
    values (${surface}, 'pending', ${workflowId}, ${now}, ${leaseExpiresAt})
    on conflict (surface) do update set
      state = 'pending',
      workflow_id = excluded.workflow_id,
      claimed_at = excluded.claimed_at,
      lease_expires_at = excluded.lease_expires_at,
      conversation_id = null,
      ticket_url = null,
      opened_at = null,
      tagged_at = null
    where (investigate_ticket.state = 'open' and investigate_ticket.opened_at <= ${windowStart})
       or (investigate_ticket.state = 'pending' and investigate_ticket.lease_expires_at <= ${now})
    returning workflow_id`.execute(db);
  return result.rows[0]?.workflow_id === workflowId;
}

export async function recordAttemptStarted(
  db: Db,
  attempt: {
    workflowId: string;
    surface: string;
    consoleState: string;
    requestedBy?: string;
    startedAt: Date;
  },
): Promise<void> {
  await db
    .insertInto('investigate_attempt')
    .values({
      workflow_id: attempt.workflowId,
      surface: attempt.surface,
      console_state: attempt.consoleState,
      requested_by: attempt.requestedBy ?? null,
      started_at: attempt.startedAt,
      outcome: 'in_flight',
    })
    .execute();
}

export async function attemptOutcome(
  db: Db,
  workflowId: string,
): Promise<InvestigateAttemptOutcome | undefined> {
  const row = await db
    .selectFrom('investigate_attempt')
    .select('outcome')
    .where('workflow_id', '=', workflowId)
    .executeTakeFirst();
  return row?.outcome;
}

/**
 * Earlier attempts on the surface that may have created a ticket nobody recorded: outcome
 * unknown, or still in flight although their claim was taken over (the process died).
 */
export async function unresolvedAttempts(
  db: Db,
  surface: string,
  since: Date,
  exceptWorkflowId: string,
): Promise<UnresolvedAttempt[]> {
  const rows = await db
    .selectFrom('investigate_attempt')
    .select(['workflow_id', 'started_at'])
    .where('surface', '=', surface)
    .where('outcome', 'in', ['unknown', 'in_flight'])
    .where('started_at', '>', since)
    .where('workflow_id', '!=', exceptWorkflowId)
    .orderBy('started_at')
    .execute();
  return rows.map((row) => ({ workflowId: row.workflow_id, startedAt: new Date(row.started_at) }));
}

/** A click answered with the surface's open ticket: counted on the attempt that created it. */
export async function countAbsorbedClick(db: Db, workflowId: string): Promise<void> {
  await db
    .updateTable('investigate_attempt')
    .set((eb) => ({ clicks_absorbed: eb('clicks_absorbed', '+', 1) }))
    .where('workflow_id', '=', workflowId)
    .execute();
}

/** The earlier attempts were looked for in FreeScout and are not there: stop looking for them. */
export async function abandonAttempts(
  { db, clock }: Pick<ServiceDeps, 'db' | 'clock'>,
  workflowIds: string[],
): Promise<void> {
  if (workflowIds.length === 0) return;
  await db
    .updateTable('investigate_attempt')
    .set({ outcome: 'abandoned', finished_at: clock.now() })
    .where('workflow_id', 'in', workflowIds)
    .execute();
}

/**
 * Opens the surface's dedup window on the ticket, in one transaction with the attempt that
 * made it. `claimWorkflowId` is the request holding the claim; `ticket.workflowId` may be an
 * earlier attempt's, when its lost ticket was found again. False when the claim was lost.
 */
export async function recordTicketOpened(
  db: Db,
  input: {
    surface: string;
    claimWorkflowId: string;
    ticket: { workflowId: string; conversationId: number; ticketUrl: string; openedAt: Date };
    now: Date;
  },
): Promise<boolean> {
  const { surface, claimWorkflowId, ticket, now } = input;
  return db.transaction().execute(async (trx) => {
    await trx
      .updateTable('investigate_attempt')
      .set({ outcome: 'created', conversation_id: ticket.conversationId, finished_at: now })
      .where('workflow_id', '=', ticket.workflowId)
      .execute();
    if (claimWorkflowId !== ticket.workflowId) {
      await trx
        .updateTable('investigate_attempt')
        .set({ outcome: 'abandoned', finished_at: now })
        .where('workflow_id', '=', claimWorkflowId)
        .execute();
    }
    const claimed = await trx
      .updateTable('investigate_ticket')
      .set({
        state: 'open',
        workflow_id: ticket.workflowId,
        conversation_id: ticket.conversationId,
        ticket_url: ticket.ticketUrl,
        opened_at: ticket.openedAt,
      })
      .where('surface', '=', surface)
      .where('workflow_id', '=', claimWorkflowId)
      .executeTakeFirst();
    return Number(claimed.numUpdatedRows) === 1;
  });
}

/** The surface's open ticket carries `auto:status` now. */
export async function recordTagged(
  db: Db,
  input: { surface: string; workflowId: string; now: Date },
): Promise<void> {
  await db
    .updateTable('investigate_ticket')
    .set({ tagged_at: input.now })
    .where('surface', '=', input.surface)
    .where('workflow_id', '=', input.workflowId)
    .where('state', '=', 'open')
    .execute();
}

/** Gives the claim up after a failed attempt, so the next click tries again. */
export async function releaseClaim(
  db: Db,
  input: {
    surface: string;
    workflowId: string;
    outcome: 'failed' | 'unknown' | 'abandoned';
    error: string;
    now: Date;
  },
): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await trx
      .updateTable('investigate_attempt')
      .set({ outcome: input.outcome, error: input.error.slice(0, 2000), finished_at: input.now })
      .where('workflow_id', '=', input.workflowId)
      .execute();
    await trx
      .deleteFrom('investigate_ticket')
      .where('surface', '=', input.surface)
      .where('workflow_id', '=', input.workflowId)
      .execute();
  });
}
