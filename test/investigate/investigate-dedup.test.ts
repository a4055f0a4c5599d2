import { beforeEach, describe, expect, it } from 'vitest';
import { manualClock } from '../support/app.ts';
import { startFakeFreeScout } from '../support/fake-freescout.ts';
import {
  API_KEY,
  clickInvestigate,
  creates,
  startInvestigateApp,
  useInvestigateApp,
} from '../support/investigate.ts';
import { useFixture, useTestDatabase } from '../support/setup.ts';

const MINUTE = 60_000;

const clock = manualClock();
const database = useTestDatabase({ truncateBeforeEach: ['investigate_ticket', 'investigate_attempt'] });
const fake = useFixture(() => startFakeFreeScout({ apiKey: API_KEY, clock }));
const app = useInvestigateApp(() => ({
  db: database.db,
  fake,
  clock,
  env: { INVESTIGATE_DEDUP_MINUTES: '60' },
}));
beforeEach(() => fake.reset());

describe('investigate dedup window', () => {
  it('answers a repeat click within the window with 200 and the same ticket, without calling FreeScout', async () => {
    const first = await clickInvestigate(app, { surface: 'payments', state: 'DEGRADED' });
    clock.advance(59 * MINUTE);
    const requestsBefore = fake.requests.length;
    const again = await clickInvestigate(app, { surface: 'payments', state: 'DOWN' });

    expect(first.status).toBe(201);
    expect(again).toEqual({ status: 200, body: { ...first.body, deduplicated: true } });
    expect(fake.requests).toHaveLength(requestsBefore);
  });

  it('opens a new ticket once the window has passed', async () => {
    const first = await clickInvestigate(app, { surface: 'payments', state: 'DEGRADED' });
    clock.advance(60 * MINUTE);
    const later = await clickInvestigate(app, { surface: 'payments', state: 'DEGRADED' });

    expect(later.status).toBe(201);
    expect(later.body.deduplicated).toBe(false);
    expect(later.body.conversation_id).not.toBe(first.body.conversation_id);
    expect(later.body.workflow_id).not.toBe(first.body.workflow_id);
    expect(creates(fake)).toHaveLength(2);
  });

  it('keeps one window per surface', async () => {
    const payments = await clickInvestigate(app, { surface: 'payments', state: 'DEGRADED' });
    const search = await clickInvestigate(app, { surface: 'search', state: 'DEGRADED' });

    expect([payments.status, search.status]).toEqual([201, 201]);
    expect(search.body.conversation_id).not.toBe(payments.body.conversation_id);
    expect(creates(fake)).toHaveLength(2);
  });

  it('honours INVESTIGATE_DEDUP_MINUTES', async () => {
    const shortWindow = await startInvestigateApp({
      db: database.db,
      fake,
      clock,
      env: { INVESTIGATE_DEDUP_MINUTES: '5' },
    });
    try {
      await clickInvestigate(shortWindow, { surface: 'mail', state: 'DEGRADED' });
      clock.advance(4 * MINUTE);
      expect((await clickInvestigate(shortWindow, { surface: 'mail', state: 'DEGRADED' })).status).toBe(200);
      clock.advance(MINUTE);
      expect((await clickInvestigate(shortWindow, { surface: 'mail', state: 'DEGRADED' })).status).toBe(201);
    } finally {
      await shortWindow.close();
    }
  });
});
