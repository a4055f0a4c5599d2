import { createHash, createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type FakeFreeScout, startFakeFreeScout } from './fake-freescout.ts';

/**
 * Pins every behaviour where a kind fake would differ from FreeScout's API & Webhooks module
 * (release 1.0.82, `Modules/ApiWebhooks/`). Each case names the file and line it follows, so
 * the fake cannot drift back into being kinder than FreeScout.
 *   API  = Http/Controllers/ApiController.php
 *   SP   = Providers/ApiWebhooksServiceProvider.php
 *   HOOK = Entities/Webhook.php
 */

const API_KEY = 'conformance-key';
const APP_KEY = 'base64:Y29uZm9ybWFuY2UtYXBwLWtleS0zMi1ieXRlcy1sb25nIQ==';
let fake: FakeFreeScout;

interface Received {
  headers: IncomingHttpHeaders;
  raw: string;
}
const received: Received[] = [];
let receiver: ReturnType<typeof createServer>;
let receiverUrl: string;

beforeAll(async () => {
  fake = await startFakeFreeScout({ apiKey: API_KEY, appKey: APP_KEY, userCreatedWebhookDelayMs: 150 });
  receiver = createServer((incoming, response) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', () => {
      received.push({ headers: incoming.headers, raw: Buffer.concat(chunks).toString('utf8') });
      response.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
});
afterAll(async () => {
  await fake.close();
  await new Promise((resolve) => receiver.close(resolve));
});
beforeEach(() => {
  fake.state.reset();
  received.length = 0;
});

async function call(method: string, path: string, body?: unknown) {
  const response = await request(`${fake.url}${path}`, {
    method: method as 'GET',
    headers: {
      'x-freescout-api-key': API_KEY,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.body.text();
  return {
    status: response.statusCode,
    headers: response.headers,
    // biome-ignore lint/suspicious/noExplicitAny: wire bodies are asserted field by field below
    body: text === '' ? undefined : (JSON.parse(text) as Record<string, any>),
  };
}

const newConversation = (threadType: 'customer' | 'message' = 'customer') => ({
  type: 'email',
  mailboxId: 1,
  subject: 'Checkout fails',
  customer: { email: 'ada@example.test' },
  threads: [
    threadType === 'customer'
      ? { type: 'customer', text: 'It fails' }
      : { type: 'message', text: 'We are on it', user: 1 },
  ],
  tags: ['bug'],
});

async function register(events: string[]) {
  const answer = await call('POST', '/api/webhooks', { url: receiverUrl, events });
  expect(answer.status).toBe(201);
  return Number(answer.headers['resource-id']);
}

describe('fake FreeScout conforms to the API & Webhooks module', () => {
  it('API L659-833: create answers 201 with Resource-ID and ignores `tags` (there is no such field)', async () => {
    const created = await call('POST', '/api/conversations', newConversation());
    expect(created.status).toBe(201);
    const id = Number(created.headers['resource-id']);
    expect(id).toBeGreaterThan(0);
    const read = await call('GET', `/api/conversations/${id}?embed=tags`);
    expect(read.body?._embedded.tags).toEqual([]);
  });

  it('API L475-512 + SP L403-431: without embed threads are included and tags are not; tags are never top-level', async () => {
    const { id } = fake.state.insertConversation({ tags: ['bug'] });
    const plain = await call('GET', `/api/conversations/${id}`);
    expect(plain.body?._embedded.threads).toHaveLength(1);
    expect(plain.body?._embedded.tags).toBeUndefined();
    expect(plain.body?.tags).toBeUndefined();
  });

  it('API L490-505: with embed, _embedded holds only what it names (threads stay an empty list)', async () => {
    const { id } = fake.state.insertConversation({ tags: ['bug'] });
    const tagsOnly = await call('GET', `/api/conversations/${id}?embed=tags`);
    expect(tagsOnly.body?._embedded).toEqual({
      threads: [],
      tags: [{ id: expect.any(Number), name: 'bug' }],
    });
    const both = await call('GET', `/api/conversations/${id}?embed=threads,tags`);
    expect(both.body?._embedded.threads).toHaveLength(1);
    expect(both.body?._embedded.tags.map((tag: { name: string }) => tag.name)).toEqual(['bug']);
    expect(both.body?.tags).toBeUndefined();
  });

  it('API L2309-2357: PUT tags replaces the whole set (unlisted tags are removed, new ones created)', async () => {
    const { id } = fake.state.insertConversation({ tags: ['bug', 'vip'] });
    expect((await call('PUT', `/api/conversations/${id}/tags`, { tags: ['auto:status'] })).status).toBe(204);
    const read = await call('GET', `/api/conversations/${id}?embed=tags`);
    expect(read.body?._embedded.tags.map((tag: { name: string }) => tag.name)).toEqual(['auto:status']);
  });

  it('Tags module Entities/Tag.php L135-160: tagging (UI or PUT) does not move the conversation’s updatedAt', async () => {
    const { id, updatedAt } = fake.state.insertConversation({ createdAt: '2026-01-01T00:00:00Z' });
    await call('PUT', `/api/conversations/${id}/tags`, { tags: ['bug'] });
    fake.state.addTags(id, ['vip']);
    const read = await call('GET', `/api/conversations/${id}?embed=tags`);
    expect(read.body?.updatedAt).toBe(updatedAt);
    expect(read.body?._embedded.tags).toHaveLength(2);
  });

  it('API L924-935 + L2734-2741: a note or message without an existing `user` is a 400 naming `user`', async () => {
    const { id } = fake.state.insertConversation();
    for (const body of [
      { type: 'note', text: 'no user' },
      { type: 'note', text: 'unknown user', user: 999 },
      { type: 'message', text: 'no user' },
    ]) {
      const answer = await call('POST', `/api/conversations/${id}/threads`, body);
      expect(answer).toMatchObject({
        status: 400,
        body: {
          message: 'Error occurred',
          _embedded: { errors: [{ path: 'user', message: '`user` parameter is required', source: 'JSON' }] },
        },
      });
    }
    const note = await call('POST', `/api/conversations/${id}/threads`, {
      type: 'note',
      text: 'ok',
      user: 1,
    });
    expect(note.status).toBe(201);
  });

  it('API L1783-1800: GET /api/users/{id} reads an agent; an unknown one is a 404', async () => {
    expect((await call('GET', '/api/users/1')).body).toMatchObject({ id: 1 });
    expect((await call('GET', '/api/users/999')).status).toBe(404);
  });

  it('API L133: a list without `status` shows active conversations only', async () => {
    fake.state.insertConversation({ status: 'active' });
    fake.state.insertConversation({ status: 'closed' });
    fake.state.insertConversation({ status: 'pending' });
    const defaults = await call('GET', '/api/conversations');
    expect(defaults.body?._embedded.conversations.map((c: { status: string }) => c.status)).toEqual([
      'active',
    ]);
    const all = await call('GET', '/api/conversations?status=active,pending,closed,spam');
    expect(all.body?._embedded.conversations).toHaveLength(3);
  });

  it('API L2370-2419 + HOOK L113-140: webhooks are created (201 + Resource-ID, unknown events dropped) and deleted (204)', async () => {
    const refused = await call('POST', '/api/webhooks', { url: receiverUrl, events: ['convo.tags'] });
    expect(refused.status).toBe(400);
    const id = await register(['convo.created', 'convo.tags']);
    expect(fake.state.webhooks()).toEqual([{ id, url: receiverUrl, events: ['convo.created'] }]);
    expect((await call('DELETE', `/api/webhooks/${id}`)).status).toBe(204);
    expect((await call('DELETE', `/api/webhooks/${id}`)).status).toBe(404);
  });

  it('SP L214 + HOOK L60-67,100-108: an API create fires convo.created signed base64(HMAC-SHA1, md5(APP_KEY."webhook_key")), without tags', async () => {
    await register(['convo.created']);
    const created = await call('POST', '/api/conversations', newConversation('customer'));
    const id = Number(created.headers['resource-id']);
    await call('PUT', `/api/conversations/${id}/tags`, { tags: ['bug'] });
    await fake.state.flushWebhooks();
    expect(received).toHaveLength(1);
    const [delivery] = received;
    const secret = createHash('md5').update(`${APP_KEY}webhook_key`).digest('hex');
    expect(delivery?.headers['x-freescout-event']).toBe('convo.created');
    expect(delivery?.headers['x-freescout-signature']).toBe(
      createHmac('sha1', secret)
        .update(delivery?.raw ?? '')
        .digest('base64'),
    );
    const body = JSON.parse(delivery?.raw ?? '{}');
    expect(body.id).toBe(id);
    expect(body.tags).toBeUndefined();
    expect(body._embedded.tags).toBeUndefined();
    expect(body._embedded.threads).toHaveLength(1);
  });

  it('SP L209: a create whose first thread is a user’s fires convo.created later (the undo window)', async () => {
    await register(['convo.created']);
    await call('POST', '/api/conversations', newConversation('message'));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(received).toHaveLength(0);
    await fake.state.flushWebhooks();
    expect(received).toHaveLength(1);
  });

  it('SP L288 + HOOK L23: a note added through the API fires convo.note.created; a tag change fires nothing', async () => {
    await register(['convo.note.created', 'convo.status', 'convo.assigned']);
    const { id } = fake.state.insertConversation();
    await call('PUT', `/api/conversations/${id}/tags`, { tags: ['bug'] });
    fake.state.addTags(id, ['vip']);
    await fake.state.flushWebhooks();
    expect(received).toHaveLength(0);
    await call('POST', `/api/conversations/${id}/threads`, { type: 'note', text: 'hello', user: 1 });
    await fake.state.flushWebhooks();
    expect(received.map((delivery) => delivery.headers['x-freescout-event'])).toEqual(['convo.note.created']);
  });
});

describe('fake FreeScout: per-mailbox custom fields, byUser, mailbox-blind webhooks', () => {
  // As in a real instance: `github_issue_url` in Support (1) and in Operations (2) are two fields.
  const fields = [
    { id: 11, mailboxId: 1, name: 'github_issue_url' },
    { id: 12, mailboxId: 2, name: 'github_issue_url' },
  ];
  let perMailbox: FakeFreeScout;
  beforeAll(async () => {
    perMailbox = await startFakeFreeScout({ apiKey: API_KEY, appKey: APP_KEY, customFields: fields });
  });
  afterAll(() => perMailbox.close());
  beforeEach(() => perMailbox.state.reset());

  async function callOn(method: string, path: string, body?: unknown) {
    const response = await request(`${perMailbox.url}${path}`, {
      method: method as 'GET',
      headers: {
        'x-freescout-api-key': API_KEY,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.body.text();
    // biome-ignore lint/suspicious/noExplicitAny: wire bodies are asserted field by field below
    return { status: response.statusCode, body: text === '' ? undefined : (JSON.parse(text) as any) };
  }

  it('API L1986-2020: a mailbox lists only its own custom fields', async () => {
    const support = await callOn('GET', '/api/mailboxes/1/custom_fields');
    expect(support.body._embedded.custom_fields).toEqual([
      { id: 11, name: 'github_issue_url', type: 'singleline', options: '', required: false, sortOrder: 1 },
    ]);
    const operations = await callOn('GET', '/api/mailboxes/2/custom_fields');
    expect(operations.body._embedded.custom_fields.map((field: { id: number }) => field.id)).toEqual([12]);
    expect((await callOn('GET', '/api/mailboxes/9/custom_fields')).status).toBe(404);
  });

  it('API L2436-2468 + CF getCustomFieldsWithValues: another mailbox’s field id answers 204, is stored, and is never shown', async () => {
    const { id } = perMailbox.state.insertConversation({ mailboxId: 1 });
    const url = 'https://github.com/o/r/issues/1';
    expect(
      (
        await callOn('PUT', `/api/conversations/${id}/custom_fields`, {
          customFields: [{ id: 12, value: url }],
        })
      ).status,
    ).toBe(204);
    expect(perMailbox.state.conversation(id)?.customFieldValues).toEqual({ 12: url });
    const read = await callOn('GET', `/api/conversations/${id}`);
    expect(read.body.customFields).toEqual([{ id: 11, name: 'github_issue_url', value: '', text: '' }]);

    await callOn('POST', '/api/webhooks', { url: receiverUrl, events: ['convo.note.created'] });
    await callOn('POST', `/api/conversations/${id}/threads`, { type: 'note', text: 'hi', user: 1 });
    await perMailbox.state.flushWebhooks();
    expect(JSON.parse(received.at(-1)?.raw ?? '{}').customFields).toEqual([
      { id: 11, name: 'github_issue_url', value: '', text: '' },
    ]);
  });

  it('API L540-556: changing status, assignee or mailbox needs byUser (400 without it)', async () => {
    const { id } = perMailbox.state.insertConversation({ mailboxId: 1 });
    for (const change of [{ status: 'closed' }, { assignTo: 1 }, { mailboxId: 2 }]) {
      const refused = await callOn('PUT', `/api/conversations/${id}`, change);
      expect(refused.status).toBe(400);
      expect(refused.body._embedded.errors[0]).toMatchObject({
        path: 'byUser',
        message: 'byUser parameter is required.',
      });
    }
    expect((await callOn('PUT', `/api/conversations/${id}`, { status: 'closed', byUser: 1 })).status).toBe(
      204,
    );
    expect((await callOn('PUT', `/api/conversations/${id}`, { subject: 'Renamed' })).status).toBe(204);
  });

  it('HOOK L110-140 + SP L196-204: POST /api/webhooks ignores mailboxes, so the webhook fires for every mailbox', async () => {
    await callOn('POST', '/api/webhooks', {
      url: receiverUrl,
      events: ['convo.note.created'],
      mailboxes: [1],
    });
    const { id } = perMailbox.state.insertConversation({ mailboxId: 2 });
    await callOn('POST', `/api/conversations/${id}/threads`, { type: 'note', text: 'hi', user: 1 });
    await perMailbox.state.flushWebhooks();
    expect(received.map((delivery) => JSON.parse(delivery.raw).mailboxId)).toEqual([2]);
  });
});
