import { afterAll, expect, it } from 'vitest';
import { useFixture } from '../support/setup.ts';
import { deliverClosedTicket, useAuditIntake } from './audit-intake.ts';
import { startFreezableProxy } from './freezable-proxy.ts';
import { createThrowawayPostgres } from './throwaway-postgres.ts';

const postgres = useFixture(createThrowawayPostgres);
const proxy = useFixture(() => startFreezableProxy(Number(new URL(postgres.url).port)));
const { app } = useAuditIntake(
  () => {
    const target = new URL(postgres.url);
    target.host = proxy.address;
    return target.toString();
  },
  { poolSize: 4 },
);
// Registered after the app, so it runs before the app closes: a frozen proxy would hold that up.
afterAll(() => proxy.thaw());

async function timed<T>(work: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await work();
  return { value, ms: performance.now() - started };
}

const deliver = (ticketId: number) => deliverClosedTicket(app, ticketId);

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
