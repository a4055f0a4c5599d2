import { beforeEach, describe, expect, it, vi } from 'vitest';
import { startFakeFreeScout } from '../support/fake-freescout.ts';
import {
  API_KEY,
  CREATE_PATH,
  clickInvestigate,
  creates,
  useInvestigateApp,
} from '../support/investigate.ts';
import { useFixture, useTestDatabase } from '../support/setup.ts';

const database = useTestDatabase({ truncateBeforeEach: ['investigate_ticket', 'investigate_attempt'] });
const secondDatabase = useFixture(() => database.openAnother());
const fake = useFixture(() => startFakeFreeScout({ apiKey: API_KEY }));
const first = useInvestigateApp(() => ({ db: database.db, fake }));
const second = useInvestigateApp(() => ({ db: secondDatabase.db, fake }));
beforeEach(() => fake.reset());

describe('investigate under concurrent clicks', () => {
  it('makes exactly one FreeScout create for 20 simultaneous clicks spread over two instances', async () => {
    // A slow create keeps the first click in flight while the others arrive.
    fake.failNext({ delayMs: 400 }, { method: 'POST', path: CREATE_PATH });
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, index) =>
        clickInvestigate(index % 2 === 0 ? first : second, { surface: 'payments', state: 'DEGRADED' }),
      ),
    );

    expect(creates(fake)).toHaveLength(1);
    expect(new Set(answers.map((answer) => answer.body.conversation_id)).size).toBe(1);
    expect(new Set(answers.map((answer) => answer.body.workflow_id)).size).toBe(1);
    expect(answers.filter((answer) => answer.status === 201)).toHaveLength(1);
    expect(answers.filter((answer) => answer.status === 200 && answer.body.deduplicated)).toHaveLength(19);
    expect(fake.state.conversations().filter((c) => c.subject.includes('payments'))).toHaveLength(1);
  });

  it('makes a click arriving while the create is in flight wait for it and return the same ticket', async () => {
    fake.failNext({ delayMs: 600 }, { method: 'POST', path: CREATE_PATH });
    const creating = clickInvestigate(first, { surface: 'search', state: 'DOWN' });
    await vi.waitFor(() => expect(creates(fake)).toHaveLength(1), { interval: 10 });

    const waiting = await clickInvestigate(second, { surface: 'search', state: 'DOWN' });
    const created = await creating;

    expect(created.status).toBe(201);
    expect(waiting).toEqual({ status: 200, body: { ...created.body, deduplicated: true } });
    expect(creates(fake)).toHaveLength(1);
  });

  it('holds no database session while FreeScout is creating, so other requests go on', async () => {
    // FreeScout never answers: the create stays in flight until the client's timeout.
    fake.failNext({ hang: true }, { method: 'POST', path: CREATE_PATH });
    const creating = clickInvestigate(first, { surface: 'billing', state: 'DOWN' });
    await vi.waitFor(() => expect(creates(fake)).toHaveLength(1), { interval: 10 });

    const ready = await second.app.inject({ url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    const row = await database.db
      .selectFrom('investigate_ticket')
      .select('state')
      .where('surface', '=', 'billing')
      .executeTakeFirst();
    expect(row?.state).toBe('pending');
    expect((await creating).status).toBe(502);
  });

  it('answers 502 to the clicks that waited on a create that timed out, and lets a click retry once it settled', async () => {
    fake.failNext({ hang: true }, { method: 'POST', path: CREATE_PATH });
    const answers = await Promise.all(
      Array.from({ length: 6 }, (_, index) =>
        clickInvestigate(index % 2 === 0 ? first : second, { surface: 'mail', state: 'DOWN' }),
      ),
    );

    expect(creates(fake)).toHaveLength(1);
    expect(answers.every((answer) => answer.status === 502)).toBe(true);
    expect(answers[0]?.body).toEqual({ error: 'freescout_unavailable', message: expect.any(String) });

    // Until the hung create has settled (timeout plus margin), nothing found proves nothing.
    const early = await clickInvestigate(second, { surface: 'mail', state: 'DOWN' });
    expect(early.body.error).toBe('ticket_outcome_unknown');
    expect(creates(fake)).toHaveLength(1);

    await new Promise((resolve) => setTimeout(resolve, 2_100));
    const retry = await clickInvestigate(first, { surface: 'mail', state: 'DOWN' });
    expect(retry.status).toBe(201);
    expect(creates(fake)).toHaveLength(2);
    expect(fake.state.conversations().filter((c) => c.subject.includes('mail is DOWN'))).toHaveLength(1);
  });
});
