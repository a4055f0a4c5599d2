import { type OpenDatabase, openDatabase } from '../../src/db/database.ts';
import { migrateToLatest } from '../../src/db/migrate.ts';
import type { TestApp } from '../support/app.ts';
import { conversationPayload, freescoutDelivery } from '../support/freescout-delivery.ts';
import { useFixture, useTestApp } from '../support/setup.ts';

const SECRET = 'audit-intake-secret';

/**
 * The FreeScout audit webhook listening on loopback, over a migrated PostgreSQL database at
 * `url()` (read when the file starts): the intake the database fault tests push deliveries at.
 */
export function useAuditIntake(
  url: () => string,
  options: { poolSize?: number } = {},
): { database: OpenDatabase; app: TestApp } {
  const database = useFixture(async () => {
    const opened = await openDatabase({ kind: 'postgres', url: url() }, options);
    await migrateToLatest(opened.db);
    return opened;
  });
  const app = useTestApp(() => ({
    db: database.db,
    listen: true,
    env: { FLAG_FREESCOUT_WEBHOOK_RECEIVE: '1', FREESCOUT_AUDIT_WEBHOOK_SECRET: SECRET },
  }));
  return { database, app };
}

/** Posts a signed status change closing `ticketId` over a real socket; resolves to the answer's status. */
export async function deliverClosedTicket(app: TestApp, ticketId: number): Promise<number> {
  const body = conversationPayload({ id: ticketId, status: 'closed', updatedAt: '2026-11-24T10:00:00Z' });
  const { payload, headers } = freescoutDelivery(body, { secret: SECRET, event: 'convo.status' });
  const response = await fetch(`${app.url}/api/internal/freescout-webhook/audit`, {
    method: 'POST',
    headers,
    body: payload,
  });
  await response.arrayBuffer();
  return response.status;
}
