import type { ServiceDeps } from '../../lib/deps.ts';
import { isOpen, type TicketStateAtRead, ticketStateAtRead } from './cache.ts';

export interface OperatorInteraction {
  operator_id: string;
  ticket_id: number;
  action: string;
  resource?: string | undefined;
}

export interface RecordedInteraction {
  id: number;
  ticket_state_at_read: TicketStateAtRead;
  path: 'A' | 'B';
}

/**
 * Records an operator_interaction audit event. Path A: the ticket is open. Path B (anything
 * else, a cache miss included): the security notification is written in the same
 * transaction, so it exists exactly when the audit event does and is sent from the outbox.
 */
export async function recordOperatorInteraction(
  deps: Pick<ServiceDeps, 'db' | 'clock'> & { ticketUrl?: (ticketId: number) => string },
  interaction: OperatorInteraction,
): Promise<RecordedInteraction> {
  const { db } = deps;
  const now = deps.clock.now();
  return db.transaction().execute(async (trx) => {
    const state = await ticketStateAtRead(trx, interaction.ticket_id, now);
    const path = isOpen(state) ? 'A' : 'B';
    const { id } = await trx
      .insertInto('operator_interaction_audit')
      .values({
        operator_id: interaction.operator_id,
        ticket_id: interaction.ticket_id,
        action: interaction.action,
        resource: interaction.resource ?? null,
        ticket_state_at_read: state,
        path,
        created_at: now,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    if (path === 'B') {
      await trx
        .insertInto('security_notification')
        .values({
          audit_event_id: id,
          text: securityNotificationText({ ...interaction, id, state }, deps.ticketUrl),
          created_at: now,
          next_attempt_at: now,
        })
        .execute();
    }
    return { id, ticket_state_at_read: state, path };
  });
}

function securityNotificationText(
  event: OperatorInteraction & { id: number; state: TicketStateAtRead },
  ticketUrl?: (ticketId: number) => string,
): string {
  const ticket = ticketUrl ? `<${ticketUrl(event.ticket_id)}|#${event.ticket_id}>` : `#${event.ticket_id}`;
  const resource = event.resource ? ` on ${event.resource}` : '';
  const reason =
    event.state === 'none'
      ? 'its state is unknown (not in the ticket cache)'
      : `the ticket is ${event.state}`;
  return [
    ':rotating_light: *Security incident: operator action without an open ticket*',
    `Operator \`${event.operator_id}\` did \`${event.action}\`${resource} under FreeScout ticket ${ticket}, but ${reason}.`,
    `Audit event ${event.id} (path B).`,
  ].join('\n');
}
