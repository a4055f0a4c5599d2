import { afterAll, beforeAll, expect, it } from 'vitest';
import { type OpenDatabase, openDatabase } from '../../src/db/database.ts';
import { migrateToLatest } from '../../src/db/migrate.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { conversationPayload, freescoutDelivery } from '../support/freescout-delivery.ts';
import { type FreezableProxy, startFreezableProxy } from './freezable-proxy.ts';
import { createThrowawayPostgres, type ThrowawayPostgres } from './throwaway-postgres.ts';

const SECRET = 'hung-db-secret';

let postgres: ThrowawayPostgres;
let proxy: FreezableProxy;
let database: OpenDatabase;
let app: TestApp;

beforeAll(async () => {
  postgres = await createThrowawayPostgres();
  const target = new URL(postgres.url);
  proxy = await startFreezableProxy(Number(target.port));
  target.host = proxy.address;
  database = await openDatabase({ kind: 'postgres', url: target.toString() }, { poolSize: 4 });
  await migrateToLatest(database.db);
  app = await startTestApp({
    db: database.db,
    listen: true,
    env: { FLAG_FREESCOUT_WEBHOOK_RECEIVE: '1', FREESCOUT_AUDIT_WEBHOOK_SECRET: SECRET },
  });
});
afterAll(async () => {
  proxy?.thaw();
  await app?.close();
  await database?.close();
  await proxy?.close();
  await postgres?.destroy();
});

async function timed<T>(work: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await work();
  return { value, ms: performance.now() - started };
}

async function deliver(ticketId: number): Promise<number> {
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

async function readyz(): Promise<number> {
  const response = await fetch(`${app.url}/readyz`);
  await response.arrayBuffer();
  return response.status;
}

it('answers 503 quickly while the database accepts connections but never answers, logs the outage once, and recovers', async () => {
  // Warm the pool, so both kinds of stall are met: a held connection whose query gets no
  // answer, and a new connection whose handshake gets none.
  expect(await Promise.all([1, 2, 3, 4].map(deliver))).toEqual([200, 200, 200, 200]);
  expect(await readyz()).toBe(200);

  proxy.freeze();

  const ready = await timed(readyz);
  expect(ready.value).toBe(503);
  expect(ready.ms).toBeLessThan(1_200);

  const burst = await timed(() =>
    Promise.all(Array.from({ length: 12 }, (_, index) => deliver(100 + index))),
  );
  expect(new Set(burst.value)).toEqual(new Set([503]));
  // 3 s statement timeout (+1 s client-side), 2 s to connect or wait for a pooled client.
  expect(burst.ms).toBeLessThan(12_000);

  const again = await timed(readyz);
  expect(again.value).toBe(503);
  expect(again.ms).toBeLessThan(1_200);

  const outageLines = app.logs.filter((line) => String(line.msg).startsWith('database unavailable'));
  expect(outageLines).toHaveLength(1);
  expect(app.logs.filter((line) => line.level === 50 && line.msg === 'request failed')).toEqual([]);
  // No line per refused request: the outage log counts them.
  expect(app.logs.filter((line) => line.status === 503 && line.url !== '/readyz')).toEqual([]);

  proxy.thaw();
  await expect.poll(() => deliver(500), { timeout: 15_000, interval: 250 }).toBe(200);
  expect(await readyz()).toBe(200);
});
