import { afterAll, beforeAll, expect, it } from 'vitest';
import { type OpenDatabase, openDatabase } from '../../src/db/database.ts';
import { migrateToLatest } from '../../src/db/migrate.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { conversationPayload, freescoutDelivery } from '../support/freescout-delivery.ts';
import { createThrowawayPostgres, type ThrowawayPostgres } from './throwaway-postgres.ts';

const SECRET = 'outage-secret';
const DELIVERIES = 900;
const WORKERS = 8;

let postgres: ThrowawayPostgres;
let database: OpenDatabase;
let app: TestApp;

beforeAll(async () => {
  postgres = await createThrowawayPostgres();
  database = await openDatabase({ kind: 'postgres', url: postgres.url });
  await migrateToLatest(database.db);
  app = await startTestApp({
    db: database.db,
    listen: true,
    env: { FLAG_FREESCOUT_WEBHOOK_RECEIVE: '1', FREESCOUT_AUDIT_WEBHOOK_SECRET: SECRET },
  });
});
afterAll(async () => {
  await app?.close();
  await database?.close();
  await postgres?.destroy();
});

async function send(ticketId: number): Promise<number> {
  const body = conversationPayload({ id: ticketId, status: 'closed', updatedAt: '2026-11-24T10:00:00Z' });
  const { payload, headers } = freescoutDelivery(body, { secret: SECRET, event: 'convo.status' });
  try {
    const response = await fetch(`${app.url}/api/internal/freescout-webhook/audit`, {
      method: 'POST',
      headers,
      body: payload,
    });
    await response.arrayBuffer();
    return response.status;
  } catch {
    return 0;
  }
}

it('commits every delivery it answered 2xx, answers 503 to the rest, and recovers without a restart', async () => {
  const statuses = new Map<number, number>();
  let next = 1;
  let done = 0;
  let outage: Promise<void> | undefined;
  let recovery: Promise<void> | undefined;

  async function worker() {
    while (next <= DELIVERIES) {
      const ticketId = next++;
      const status = await send(ticketId);
      statuses.set(ticketId, status);
      done++;
      if (done === 250) outage = postgres.stop('immediate');
      if (done === 500)
        recovery = (async () => {
          await outage;
          await postgres.start();
        })();
      if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }
  await Promise.all(Array.from({ length: WORKERS }, worker));
  await recovery;

  const answered = [...statuses.entries()];
  const accepted = answered.filter(([, status]) => status === 200).map(([id]) => id);
  const refused = answered.filter(([, status]) => status !== 200);
  expect(refused.length).toBeGreaterThan(0);
  expect(new Set(refused.map(([, status]) => status))).toEqual(new Set([503]));

  const rows = await database.db.selectFrom('freescout_ticket_cache').select('ticket_id').execute();
  const stored = new Set(rows.map((row) => row.ticket_id));
  expect(accepted.filter((id) => !stored.has(id))).toEqual([]);

  const afterRecovery = await Promise.all(
    Array.from({ length: 20 }, (_, index) => send(DELIVERIES + 1 + index)),
  );
  expect(afterRecovery).toEqual(Array(20).fill(200));
  expect((await fetch(`${app.url}/readyz`)).status).toBe(200);
});
