import { describe, expect, it } from 'vitest';
import type { OpsSummary } from '../../src/features/ops/summary.ts';
import { manualClock } from '../support/app.ts';
import { startFakeFreeScout } from '../support/fake-freescout.ts';
import {
  API_KEY,
  CONSOLE_TOKEN,
  clickInvestigate,
  PUBLIC_URL,
  useInvestigateApp,
} from '../support/investigate.ts';
import { useFixture, useTestDatabase } from '../support/setup.ts';

const MINUTE = 60_000;

const clock = manualClock();
const database = useTestDatabase();
const fake = useFixture(() => startFakeFreeScout({ apiKey: API_KEY, clock }));
const app = useInvestigateApp(() => ({
  db: database.db,
  fake,
  clock,
  env: { INVESTIGATE_DEDUP_MINUTES: '60' },
}));

async function tickets(): Promise<OpsSummary['investigate']['tickets']> {
  const response = await app.app.inject({
    method: 'GET',
    url: '/api/_internal/ops/summary',
    headers: { authorization: `Bearer ${CONSOLE_TOKEN}` },
  });
  return response.json().investigate.tickets;
}

describe('Investigate tickets on the operator page', () => {
  it('counts the clicks each ticket absorbed, newest ticket first', async () => {
    const first = await clickInvestigate(app, { surface: 'payments', state: 'DEGRADED' });
    await clickInvestigate(app, { surface: 'payments', state: 'DEGRADED' });
    await clickInvestigate(app, { surface: 'payments', state: 'DOWN' });
    clock.advance(61 * MINUTE);
    const second = await clickInvestigate(app, { surface: 'payments', state: 'DOWN' });
    expect([first.status, second.status]).toEqual([201, 201]);

    expect(await tickets()).toEqual([
      expect.objectContaining({
        surface: 'payments',
        conversation_id: second.body.conversation_id,
        ticket_url: `${PUBLIC_URL}/conversation/${second.body.conversation_id}`,
        clicks_absorbed: 0,
      }),
      expect.objectContaining({
        surface: 'payments',
        console_state: 'DEGRADED',
        conversation_id: first.body.conversation_id,
        clicks_absorbed: 2,
      }),
    ]);
  });
});
