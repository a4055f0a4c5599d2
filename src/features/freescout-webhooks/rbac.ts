import type { Selectable } from 'kysely';
import type { RbacAccessGrantTable } from '../../db/schema.ts';
import type { ServiceDeps } from '../../lib/deps.ts';
import { httpError } from '../../lib/errors.ts';
import { isOpen, refreshTicketCache, ticketStateAtRead } from './cache.ts';
import type { TicketSnapshot } from './delivery.ts';

export type AccessGrant = Selectable<RbacAccessGrantTable>;
type RbacDeps = Pick<ServiceDeps, 'db' | 'clock' | 'config'>;

const REVOKING_STATUSES: Record<string, string> = {
  closed: 'ticket_closed',
  spam: 'ticket_spam',
  deleted: 'ticket_deleted',
};

/**
 * Grants temporary access under a ticket. The cache row is locked while the grant is written,
 * so a concurrent close either sees this grant (and revokes it) or is seen by it (409).
 */
export async function createAccessGrant(
  { db, clock }: RbacDeps,
  input: { operator_id: string; ticket_id: number; scope: string; expires_at?: Date | undefined },
): Promise<AccessGrant> {
  const now = clock.now();
  if (input.expires_at && input.expires_at <= now) {
    throw httpError(400, 'invalid_payload', 'expires_at must be in the future');
  }
  return db.transaction().execute(async (trx) => {
    const state = await ticketStateAtRead(trx, input.ticket_id, now, { lock: true });
    if (!isOpen(state)) {
      throw httpError(
        409,
        'ticket_not_open',
        `ticket ${input.ticket_id} is not open (state at read: ${state})`,
      );
    }
    return trx
      .insertInto('rbac_access_grant')
      .values({
        operator_id: input.operator_id,
        ticket_id: input.ticket_id,
        scope: input.scope,
        granted_at: now,
        expires_at: input.expires_at ?? null,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
  });
}

export async function listAccessGrants(
  { db, clock }: RbacDeps,
  filter: { operator_id?: string | undefined; active?: boolean | undefined },
): Promise<AccessGrant[]> {
  const now = clock.now();
  let query = db
    .selectFrom('rbac_access_grant')
    .selectAll()
    .orderBy('granted_at', 'desc')
    .orderBy('id', 'desc')
    .limit(1000);
  if (filter.operator_id !== undefined) query = query.where('operator_id', '=', filter.operator_id);
  if (filter.active === true) {
    query = query
      .where('revoked_at', 'is', null)
      .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]));
  }
  if (filter.active === false) {
    query = query.where((eb) => eb.or([eb('revoked_at', 'is not', null), eb('expires_at', '<=', now)]));
  }
  return query.execute();
}

export function isGrantActive(grant: AccessGrant, now: Date): boolean {
  return grant.revoked_at === null && (grant.expires_at === null || new Date(grant.expires_at) > now);
}

/**
 * Applies an rbac delivery: refreshes the cache and, when the ticket is closed, spam or
 * deleted, revokes every grant still active on it, in one transaction. A repeat finds nothing
 * left to revoke. A stale close (the cache already holds a newer open state) revokes nothing.
 */
export async function applyRbacDelivery(
  { db, clock, config }: RbacDeps,
  snapshot: TicketSnapshot,
): Promise<{ revoked: number }> {
  const options = { now: clock.now(), ttlSeconds: config.freescoutWebhooks.cacheTtlSeconds };
  return db.transaction().execute(async (trx) => {
    await refreshTicketCache(trx, snapshot, { ...options, source: 'webhook' });
    const reason = REVOKING_STATUSES[snapshot.status];
    if (!reason) return { revoked: 0 };
    const current = await trx
      .selectFrom('freescout_ticket_cache')
      .select(['status', 'updated_at'])
      .where('ticket_id', '=', snapshot.ticketId)
      .forUpdate()
      .executeTakeFirst();
    const stale =
      current &&
      isOpen(current.status) &&
      snapshot.updatedAt !== undefined &&
      new Date(current.updated_at) > snapshot.updatedAt;
    if (stale) return { revoked: 0 };
    const revoked = await trx
      .updateTable('rbac_access_grant')
      .set({ revoked_at: options.now, revoke_reason: reason })
      .where('ticket_id', '=', snapshot.ticketId)
      .where('revoked_at', 'is', null)
      .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', options.now)]))
      .returning('id')
      .execute();
    return { revoked: revoked.length };
  });
}
