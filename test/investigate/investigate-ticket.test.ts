import { describe, expect, it } from 'vitest';
import { startFakeFreeScout } from '../support/fake-freescout.ts';
import {
  API_KEY,
  clickInvestigate,
  creates,
  OPERATIONS_MAILBOX_ID,
  PUBLIC_URL,
  useInvestigateApp,
} from '../support/investigate.ts';
import { useFixture, useTestDatabase } from '../support/setup.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const database = useTestDatabase({ truncateBeforeEach: ['investigate_ticket', 'investigate_attempt'] });
const fake = useFixture(() => startFakeFreeScout({ apiKey: API_KEY }));
const app = useInvestigateApp(() => ({ db: database.db, fake }));

describe('POST /api/console/status/investigate', () => {
  it('opens an Operations ticket tagged auto:status and answers 201 with its public link', async () => {
    const answer = await clickInvestigate(app, {
      surface: 'payments',
      state: 'DEGRADED',
      tile_url: 'https://console.raxx.test/console/status#payments',
      detail: 'p95 latency 4.2 s',
      requested_by: 'kris@raxx.test',
    });

    expect(answer.status).toBe(201);
    expect(answer.body).toEqual({
      ticket_url: `${PUBLIC_URL}/conversation/${answer.body.conversation_id}`,
      conversation_id: expect.any(Number),
      workflow_id: expect.stringMatching(UUID),
      deduplicated: false,
    });
    const conversation = fake.state.conversation(answer.body.conversation_id);
    expect(conversation?.mailboxId).toBe(OPERATIONS_MAILBOX_ID);
    expect(conversation?.tags.map((tag) => tag.name)).toEqual(['auto:status']);
    expect(conversation?.subject).toContain(answer.body.workflow_id);
    const text = conversation?.threads.map((thread) => thread.body).join('\n') ?? '';
    expect(text).toContain(answer.body.workflow_id);
    expect(text).toContain('https://console.raxx.test/console/status#payments');
    expect(text).toContain('p95 latency 4.2 s');
    expect(text).toContain('kris@raxx.test');
  });

  it('records the ticket against the surface', async () => {
    const answer = await clickInvestigate(app, { surface: 'search', state: 'DOWN' });
    const row = await database.db
      .selectFrom('investigate_ticket')
      .selectAll()
      .where('surface', '=', 'search')
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({
      state: 'open',
      workflow_id: answer.body.workflow_id,
      conversation_id: answer.body.conversation_id,
      ticket_url: answer.body.ticket_url,
    });
  });

  it('escapes markup the console sends so it cannot inject HTML into the ticket', async () => {
    const answer = await clickInvestigate(app, {
      surface: 'mail',
      state: 'DEGRADED',
      detail: '<script>alert(1)</script>',
      tile_url: 'https://console.raxx.test/status?tile="><img src=x>',
    });
    expect(answer.status).toBe(201);
    const text = fake.state.conversation(answer.body.conversation_id)?.threads[0]?.body ?? '';
    expect(text).not.toContain('<script>');
    expect(text).not.toContain('"><img');
    expect(text).toContain('&lt;script&gt;');
  });

  it('keeps the ticket when tagging fails, and tags it on the next click', async () => {
    fake.failNext({ status: 503 }, { method: 'PUT', path: /\/tags$/, times: 3 });
    const first = await clickInvestigate(app, { surface: 'untagged', state: 'DOWN' });
    expect(first.status).toBe(201);
    const id = first.body.conversation_id;
    expect(fake.state.conversation(id)?.tags).toEqual([]);

    const second = await clickInvestigate(app, { surface: 'untagged', state: 'DOWN' });
    expect(second).toEqual({ status: 200, body: { ...first.body, deduplicated: true } });
    expect(fake.state.conversation(id)?.tags.map((tag) => tag.name)).toEqual(['auto:status']);
    expect(
      creates(fake).filter((request) => JSON.stringify(request.body).includes('untagged is')),
    ).toHaveLength(1);
  });

  it('sends one create per new ticket with the API key, without tags', async () => {
    await clickInvestigate(app, { surface: 'billing', state: 'DEGRADED' });
    const [create] = creates(fake).slice(-1);
    expect(create?.headers['x-freescout-api-key']).toBe(API_KEY);
    expect(create?.body).toMatchObject({ mailboxId: OPERATIONS_MAILBOX_ID });
  });

  it('tags the ticket auto:status after the create, merging with the tags it has (FreeScout drops tags on create)', async () => {
    const answer = await clickInvestigate(app, { surface: 'tagging', state: 'DOWN' });
    const id = answer.body.conversation_id;
    const tagWrites = fake.requests.filter(
      (request) => request.method === 'PUT' && request.path === `/api/conversations/${id}/tags`,
    );
    expect(tagWrites.map((request) => request.body)).toEqual([{ tags: ['auto:status'] }]);
    const read = fake.requests.find(
      (request) => request.method === 'GET' && request.path === `/api/conversations/${id}`,
    );
    expect(read?.query.embed).toContain('tags');
  });
});
