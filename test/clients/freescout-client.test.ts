import { describe, expect, it } from 'vitest';
import {
  conversationTagNames,
  createFreeScoutClient,
  type NewConversation,
} from '../../src/clients/freescout.ts';
import { type FakeFreeScout, type FakeMailbox, startFakeFreeScout } from '../support/fake-freescout.ts';
import { useCloseAfterTest } from '../support/setup.ts';
import { upstreamErrorFrom } from '../support/upstream-error.ts';

const API_KEY = 'test-freescout-key';

const investigateTicket: NewConversation = {
  type: 'email',
  mailboxId: 2,
  subject: 'Investigate: payments degraded',
  customer: { email: 'console@example.test' },
  threads: [{ type: 'customer', text: 'Workflow 1234' }],
};

const closeAfterTest = useCloseAfterTest();

async function setup(
  options: { timeoutMs?: number; mailboxes?: FakeMailbox[]; apiKey?: string; userId?: number } = {},
) {
  const fake = closeAfterTest(
    await startFakeFreeScout({
      apiKey: API_KEY,
      customFields: [{ id: 7, mailboxId: 1, name: 'github_issue_url' }],
      ...(options.mailboxes ? { mailboxes: options.mailboxes } : {}),
    }),
  );
  const client = closeAfterTest(
    createFreeScoutClient({
      baseUrl: fake.url,
      apiKey: options.apiKey ?? API_KEY,
      timeoutMs: options.timeoutMs ?? 2_000,
      userId: options.userId ?? 1,
    }),
  );
  return { fake, client };
}

const requestsTo = (fake: FakeFreeScout, method: string, path: string) =>
  fake.requests.filter((request) => request.method === method && request.path === path);

describe('FreeScout client', () => {
  it('sends the API key and asks for JSON', async () => {
    const { fake, client } = await setup();
    await client.listMailboxes();
    const [request] = fake.requests;
    expect(request?.headers['x-freescout-api-key']).toBe(API_KEY);
    expect(request?.headers.accept).toBe('application/json');
  });

  it('reads the new conversation id from the Resource-ID header of a 201', async () => {
    const { fake, client } = await setup();
    const { id } = await client.createConversation(investigateTicket);
    expect(fake.state.conversation(id)?.subject).toBe('Investigate: payments degraded');
    expect(requestsTo(fake, 'POST', '/api/conversations')[0]?.body).toMatchObject({ mailboxId: 2 });
  });

  it('follows HAL pages until totalPages to list every mailbox', async () => {
    const mailboxes = Array.from({ length: 120 }, (_, index) => ({
      id: index + 1,
      name: `Mailbox ${index + 1}`,
      email: `mailbox${index + 1}@example.test`,
    }));
    const { fake, client } = await setup({ mailboxes });
    expect(await client.listMailboxes()).toEqual(mailboxes);
    expect(fake.requests.map((request) => request.query.page)).toEqual(['1', '2', '3']);
  });

  it('iterates conversations across pages with the filters on every page', async () => {
    const { fake, client } = await setup();
    for (let index = 0; index < 5; index++) fake.state.insertConversation({ mailboxId: 1 });
    fake.state.insertConversation({ mailboxId: 2 });
    const ids: number[] = [];
    for await (const conversation of client.iterateConversations({
      mailboxId: 1,
      sortField: 'updatedAt',
      sortOrder: 'asc',
      pageSize: 2,
      updatedSince: new Date('2020-01-01T00:00:00Z'),
    })) {
      ids.push(conversation.id);
    }
    expect(ids).toEqual([1, 2, 3, 4, 5]);
    expect(fake.requests).toHaveLength(3);
    expect(fake.requests[2]?.query).toMatchObject({
      mailboxId: '1',
      page: '3',
      pageSize: '2',
      updatedSince: '2020-01-01T00:00:00.000Z',
    });
  });

  it("lists a mailbox's custom fields", async () => {
    const fake = closeAfterTest(
      await startFakeFreeScout({
        apiKey: API_KEY,
        customFields: [
          { id: 7, mailboxId: 2, name: 'github_issue_url' },
          { id: 8, mailboxId: 1, name: 'github_issue_url' },
        ],
      }),
    );
    const client = closeAfterTest(createFreeScoutClient({ baseUrl: fake.url, apiKey: API_KEY }));
    expect(await client.listMailboxCustomFields(2)).toEqual([{ id: 7, name: 'github_issue_url' }]);
    expect(fake.requests[0]?.path).toBe('/api/mailboxes/2/custom_fields');
    await expect(client.listMailboxCustomFields(99)).rejects.toMatchObject({ details: { status: 404 } });
  });

  it('reads a list without paging keys as one whole page', async () => {
    const { fake, client } = await setup();
    fake.failNext({ status: 200, body: { _embedded: { mailboxes: [{ id: 3, name: 'Operations' }] } } });
    expect(await client.listMailboxes()).toEqual([{ id: 3, name: 'Operations' }]);
    fake.failNext({
      status: 200,
      body: { _embedded: { conversations: [{ id: 9, status: 'active' }] }, page: { totalPages: 1 } },
    });
    const ids: number[] = [];
    for await (const conversation of client.iterateConversations({ tag: 'auto:status' }))
      ids.push(conversation.id);
    expect(ids).toEqual([9]);
    expect(fake.requests).toHaveLength(2);
  });

  it('fetches a conversation with its threads and tags embedded (the only way FreeScout sends tags)', async () => {
    const { fake, client } = await setup();
    const seeded = fake.state.insertConversation({ tags: ['bug'] });
    const conversation = await client.getConversation(seeded.id);
    expect(conversation).toMatchObject({
      id: seeded.id,
      status: 'active',
      _embedded: { threads: [{ type: 'customer' }] },
    });
    expect(conversationTagNames(conversation)).toEqual(['bug']);
    expect(fake.requests[0]?.query.embed).toBe('threads,tags');
  });

  it('adds tags by reading, merging and writing the whole set', async () => {
    const { fake, client } = await setup();
    const seeded = fake.state.insertConversation({ tags: ['vip'] });
    expect(await client.addTags(seeded.id, ['auto:status'])).toEqual(['auto:status']);
    expect(fake.state.conversation(seeded.id)?.tags.map((tag) => tag.name)).toEqual(['vip', 'auto:status']);
    const writes = fake.requests.filter((request) => request.method === 'PUT');
    expect(writes.map((request) => request.body)).toEqual([{ tags: ['vip', 'auto:status'] }]);
    // Already there: nothing is written.
    await client.addTags(seeded.id, ['AUTO:STATUS']);
    expect(fake.requests.filter((request) => request.method === 'PUT')).toHaveLength(1);
  });

  it('writes notes as the configured user', async () => {
    const { fake, client } = await setup({ userId: 1 });
    const seeded = fake.state.insertConversation();
    await client.addNote(seeded.id, { text: 'hello' });
    expect(fake.requests.at(-1)?.body).toEqual({ type: 'note', text: 'hello', user: 1 });
  });

  it('registers and deletes a webhook, remembering nothing itself', async () => {
    const { fake, client } = await setup();
    const { id } = await client.createWebhook({ url: 'https://raptor.test/hook', events: ['convo.created'] });
    expect(fake.state.webhooks()).toEqual([
      { id, url: 'https://raptor.test/hook', events: ['convo.created'] },
    ]);
    expect(await client.deleteWebhook(id)).toBe(true);
    expect(await client.deleteWebhook(id)).toBe(false);
  });

  it('retries a GET that answered 500 and returns the later success', async () => {
    const { fake, client } = await setup();
    fake.state.insertConversation();
    fake.failNext({ status: 500 }, { method: 'GET', times: 2 });
    await expect(client.getConversation(1)).resolves.toMatchObject({ id: 1 });
    expect(fake.requests).toHaveLength(3);
  });

  it('gives up after two retries and reports the last status', async () => {
    const { fake, client } = await setup();
    fake.failNext({ status: 503 }, { times: 5 });
    const error = await upstreamErrorFrom(client.listMailboxes());
    expect(error.status).toBe(503);
    expect(fake.requests).toHaveLength(3);
  });

  it('waits for Retry-After before retrying a rate-limited GET', async () => {
    const { fake, client } = await setup();
    fake.failNext({ status: 429, retryAfter: 1 });
    const started = Date.now();
    await client.listMailboxes();
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(fake.requests).toHaveLength(2);
  });

  it('retries a PUT whose connection was reset', async () => {
    const { fake, client } = await setup();
    fake.state.insertConversation();
    fake.failNext({ reset: true }, { method: 'PUT' });
    await client.updateCustomFields(1, [{ id: 7, value: 'https://github.test/o/r/issues/1' }]);
    expect(fake.state.conversation(1)?.customFields).toEqual([
      expect.objectContaining({ id: 7, value: 'https://github.test/o/r/issues/1' }),
    ]);
    expect(fake.requests).toHaveLength(2);
  });

  it('never retries a POST that answered 500, and says its outcome is unknown', async () => {
    const { fake, client } = await setup();
    fake.failNext({ status: 500 }, { method: 'POST' });
    const error = await upstreamErrorFrom(client.createConversation(investigateTicket));
    expect(error.details).toMatchObject({ status: 500, outcomeUnknown: true });
    expect(fake.requests).toHaveLength(1);
  });

  it('never retries a note whose connection was reset after FreeScout stored it', async () => {
    const { fake, client } = await setup();
    fake.state.insertConversation();
    fake.failNext({ applyThenReset: true }, { method: 'POST' });
    const error = await upstreamErrorFrom(client.addNote(1, { text: 'GitHub issue #1 filed' }));
    expect(error.details.outcomeUnknown).toBe(true);
    expect(fake.requests).toHaveLength(1);
    expect(fake.state.conversation(1)?.threads.filter((thread) => thread.type === 'note')).toHaveLength(1);
  });

  it('times out a POST that gets no answer and says its outcome is unknown', async () => {
    const { fake, client } = await setup({ timeoutMs: 200 });
    fake.failNext({ hang: true });
    const error = await upstreamErrorFrom(client.createConversation(investigateTicket));
    expect(error.message).toMatch(/timed out after 200 ms/);
    expect(error.details.outcomeUnknown).toBe(true);
    expect(fake.requests).toHaveLength(1);
  });

  it('knows a POST refused at connect cannot have reached FreeScout', async () => {
    const { fake } = await setup();
    await fake.close();
    const client = closeAfterTest(createFreeScoutClient({ baseUrl: fake.url, apiKey: API_KEY }));
    const error = await upstreamErrorFrom(client.createConversation(investigateTicket));
    expect(error.details.outcomeUnknown).toBe(false);
  });

  it("carries FreeScout's validation error body and does not retry it", async () => {
    const { fake, client } = await setup();
    const error = await upstreamErrorFrom(client.createConversation({ ...investigateTicket, subject: '' }));
    expect(error.details).toMatchObject({
      status: 400,
      outcomeUnknown: false,
      body: { _embedded: { errors: [{ path: 'subject', source: 'JSON' }] } },
    });
    expect(error.message).toContain('answered 400');
    expect(fake.requests).toHaveLength(1);
  });

  it('keeps only the start of an error page that is not JSON', async () => {
    const { fake, client } = await setup();
    fake.failNext({ status: 404, body: 'x'.repeat(10_000) });
    const error = await upstreamErrorFrom(client.getConversation(1));
    expect(error.details.body).toBe('x'.repeat(2_000));
  });

  it('reports a wrong API key as a 401 without retrying', async () => {
    const { fake, client } = await setup({ apiKey: 'wrong-key' });
    const error = await upstreamErrorFrom(client.listMailboxes());
    expect(error.details).toMatchObject({ status: 401, body: { message: 'Not Authorized' } });
    expect(error.message).not.toContain('wrong-key');
    expect(fake.requests).toHaveLength(1);
  });
});
