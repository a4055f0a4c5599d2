import type { DeliveryFilter } from '../features/ops/deliveries.ts';
import type { TicketCacheFilter } from '../features/ops/ticket-cache.ts';
import { type CliOutput, formatTable } from './output.ts';
import type { RunbookAccess } from './runbook-access.ts';

/** `12 s`, `5 min`, `3 h`, `2 d`: how long ago, at a glance. */
export function formatAge(seconds: number): string {
  if (seconds < 120) return `${seconds} s`;
  if (seconds < 2 * 3600) return `${Math.floor(seconds / 60)} min`;
  if (seconds < 2 * 86400) return `${Math.floor(seconds / 3600)} h`;
  return `${Math.floor(seconds / 86400)} d`;
}

const second = (iso: string) => iso.replace(/\.\d{3}Z$/, 'Z');

/**
 * `freescout cache`: "did my status change arrive?" One ticket's cache row (`--ticket`), or the
 * newest rows by FreeScout's `updatedAt`, with how long ago FreeScout changed the ticket and how
 * long ago the service wrote the row. A ticket with no row exits 1.
 */
export async function ticketCacheCommand(
  access: Pick<RunbookAccess, 'ticketCache'>,
  filter: TicketCacheFilter,
  output: CliOutput,
): Promise<number> {
  const { tickets } = await access.ticketCache(filter);
  if (tickets.length === 0) {
    if (filter.ticketId !== undefined) {
      output.err(`no cache row for ticket ${filter.ticketId}: no webhook or poll has written it`);
      return 1;
    }
    output.out('the ticket cache is empty');
    return 0;
  }
  const rows = tickets.map((ticket) => [
    String(ticket.ticket_id),
    ticket.status,
    ticket.source,
    second(ticket.updated_at),
    `${formatAge(ticket.updated_age_seconds)} ago`,
    `${formatAge(ticket.refreshed_age_seconds)} ago`,
    ticket.expired ? `expired ${second(ticket.ttl_expires)}` : second(ticket.ttl_expires),
  ]);
  for (const line of formatTable([
    ['TICKET', 'STATUS', 'SOURCE', 'UPDATED IN FREESCOUT', 'CHANGED', 'WRITTEN', 'EXPIRES'],
    ...rows,
  ]))
    output.out(line);
  return 0;
}

/** `deliveries`: the delivery log's newest rows (every inbound webhook), filtered by route and status. */
export async function deliveriesCommand(
  access: Pick<RunbookAccess, 'deliveries'>,
  filter: DeliveryFilter,
  output: CliOutput,
): Promise<number> {
  const deliveries = await access.deliveries(filter);
  if (deliveries.length === 0) {
    const criteria = [filter.route && `route ${filter.route}`, filter.status && `status ${filter.status}`]
      .filter(Boolean)
      .join(', ');
    output.out(criteria ? `no logged delivery matches ${criteria}` : 'the delivery log is empty');
    return 0;
  }
  const rows = deliveries.map((delivery) => [
    second(delivery.received_at),
    delivery.route,
    delivery.event ?? '-',
    String(delivery.status),
    delivery.outcome,
    String(delivery.duration_ms),
    delivery.delivery_id ?? '-',
    delivery.detail ?? '',
  ]);
  for (const line of formatTable([
    ['RECEIVED', 'ROUTE', 'EVENT', 'STATUS', 'OUTCOME', 'MS', 'DELIVERY ID', 'DETAIL'],
    ...rows,
  ]))
    output.out(line);
  return 0;
}
