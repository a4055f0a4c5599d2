import { expect, it } from 'vitest';
import { useFixture } from '../support/setup.ts';
import { deliverClosedTicket, useAuditIntake } from './audit-intake.ts';
import { createThrowawayPostgres } from './throwaway-postgres.ts';

const DELIVERIES = 900;
const WORKERS = 8;

const postgres = useFixture(createThrowawayPostgres);
const { database, app } = useAuditIntake(() => postgres.url);

/** The answer's status, or 0 when the connection failed. */
async function send(ticketId: number): Promise<number> {
  try {
    return await deliverClosedTicket(app, ticketId);
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
