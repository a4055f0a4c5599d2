import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { manualClock } from '../support/app.ts';
import { startFakeFreeScout } from '../support/fake-freescout.ts';
import {
  API_KEY,
  CREATE_PATH,
  clickInvestigate,
  creates,
  OPERATIONS_MAILBOX_ID,
  useInvestigateApp,
} from '../support/investigate.ts';
import { useFixture, useTestDatabase } from '../support/setup.ts';

const clock = manualClock();
const TIMEOUT_MS = 1_000;
/** An unknown create settles after the client's timeout plus as much again. */
const SETTLE_MS = 2 * TIMEOUT_MS;

const database = useTestDatabase({ truncateBeforeEach: ['investigate_ticket', 'investigate_attempt'] });
const fake = useFixture(() => startFakeFreeScout({ apiKey: API_KEY, clock }));
const app = useInvestigateApp(() => ({ db: database.db, fake, clock, timeoutMs: TIMEOUT_MS }));
beforeEach(() => fake.reset());
afterEach(() => clock.advance(2 * 60 * 60_000));

const ticketsFor = (surface: string) =>
  fake.state.conversations().filter((conversation) => conversation.subject.includes(`: ${surface} is`));
const searches = () =>
  fake.requests.filter((request) => request.method === 'GET' && request.path === '/api/conversations');
const freescoutUnavailable = {
  status: 502,
  body: { error: 'freescout_unavailable', message: expect.any(String) },
};

describe('investigate when FreeScout fails', () => {
  it('answers 502 when FreeScout refuses the create, remembers nothing, and the next click creates', async () => {
    fake.failNext({ status: 422 }, { method: 'POST', path: CREATE_PATH });
    expect(await clickInvestigate(app, { surface: 'refused', state: 'DOWN' })).toEqual(freescoutUnavailable);
    expect(await database.db.selectFrom('investigate_ticket').selectAll().execute()).toEqual([]);

    const retry = await clickInvestigate(app, { surface: 'refused', state: 'DOWN' });
    expect(retry.status).toBe(201);
    expect(retry.body.deduplicated).toBe(false);
    // A refused create cannot have made a ticket, so nothing is looked for first.
    expect(searches()).toHaveLength(0);
    expect(ticketsFor('refused')).toHaveLength(1);
  });

  it('answers 502 when FreeScout times out', async () => {
    fake.failNext({ hang: true }, { method: 'POST', path: CREATE_PATH });
    expect(await clickInvestigate(app, { surface: 'slow', state: 'DOWN' })).toEqual(freescoutUnavailable);
    expect(await database.db.selectFrom('investigate_ticket').selectAll().execute()).toEqual([]);
  });

  it('finds the ticket of a create whose answer was lost instead of opening a second one', async () => {
    fake.failNext({ applyThenReset: true }, { method: 'POST', path: CREATE_PATH });
    expect(await clickInvestigate(app, { surface: 'lost', state: 'DEGRADED' })).toEqual(freescoutUnavailable);
    const [lost] = ticketsFor('lost');

    const retry = await clickInvestigate(app, { surface: 'lost', state: 'DEGRADED' });
    expect(retry.status).toBe(201);
    expect(retry.body.conversation_id).toBe(lost?.id);
    expect(lost?.subject).toContain(retry.body.workflow_id);
    expect(creates(fake)).toHaveLength(1);
    // No tag filter (the tag is set after the create) and every status (a list defaults to active).
    expect(searches()[0]?.query).toMatchObject({
      mailboxId: String(OPERATIONS_MAILBOX_ID),
      status: 'active,pending,closed,spam',
    });
    expect(searches()[0]?.query.tag).toBeUndefined();
    expect(fake.state.conversation(lost?.id ?? 0)?.tags.map((tag) => tag.name)).toEqual(['auto:status']);

    const again = await clickInvestigate(app, { surface: 'lost', state: 'DEGRADED' });
    expect(again).toEqual({ status: 200, body: { ...retry.body, deduplicated: true } });
    expect(ticketsFor('lost')).toHaveLength(1);
  });

  it('creates anew when a 5xx create left no ticket behind, once the create has settled', async () => {
    fake.failNext({ status: 500 }, { method: 'POST', path: CREATE_PATH });
    expect(await clickInvestigate(app, { surface: 'flaky', state: 'DOWN' })).toEqual(freescoutUnavailable);

    // Nothing found before the create could have finished proves nothing: no second create yet.
    const early = await clickInvestigate(app, { surface: 'flaky', state: 'DOWN' });
    expect(early).toEqual({
      status: 503,
      body: { error: 'ticket_outcome_unknown', message: expect.any(String) },
    });
    expect(creates(fake)).toHaveLength(1);

    clock.advance(SETTLE_MS);
    const retry = await clickInvestigate(app, { surface: 'flaky', state: 'DOWN' });
    expect(retry.status).toBe(201);
    expect(searches()).toHaveLength(2);
    expect(creates(fake)).toHaveLength(2);
    expect(ticketsFor('flaky')).toHaveLength(1);
    expect(fake.state.conversation(retry.body.conversation_id)?.subject).toContain(retry.body.workflow_id);
  });

  it('answers 502 without creating when the earlier attempt cannot be looked for', async () => {
    fake.failNext({ status: 500 }, { method: 'POST', path: CREATE_PATH });
    await clickInvestigate(app, { surface: 'blind', state: 'DOWN' });
    clock.advance(SETTLE_MS);
    fake.failNext({ status: 503 }, { method: 'GET', path: /^\/api\/conversations$/, times: 3 });

    expect(await clickInvestigate(app, { surface: 'blind', state: 'DOWN' })).toEqual(freescoutUnavailable);
    expect(creates(fake)).toHaveLength(1);

    expect((await clickInvestigate(app, { surface: 'blind', state: 'DOWN' })).status).toBe(201);
    expect(ticketsFor('blind')).toHaveLength(1);
  });

  it('takes over the expired claim of an instance that died mid-create and finds its ticket', async () => {
    const workflowId = randomUUID();
    const startedAt = clock.now();
    const orphan = fake.state.insertConversation({
      mailboxId: OPERATIONS_MAILBOX_ID,
      subject: `Investigate: crashed is DOWN [workflow ${workflowId}]`,
      tags: ['auto:status'],
    });
    await database.db
      .insertInto('investigate_ticket')
      .values({
        surface: 'crashed',
        state: 'pending',
        workflow_id: workflowId,
        claimed_at: startedAt,
        lease_expires_at: new Date(startedAt.getTime() + 60_000),
      })
      .execute();
    await database.db
      .insertInto('investigate_attempt')
      .values({
        workflow_id: workflowId,
        surface: 'crashed',
        console_state: 'DOWN',
        started_at: startedAt,
        outcome: 'in_flight',
      })
      .execute();
    clock.advance(61_000);

    const answer = await clickInvestigate(app, { surface: 'crashed', state: 'DOWN' });
    expect(answer).toMatchObject({
      status: 201,
      body: { conversation_id: orphan.id, workflow_id: workflowId, deduplicated: false },
    });
    expect(creates(fake)).toHaveLength(0);
  });
});
