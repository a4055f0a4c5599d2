import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

/**
 * One set of cases for FreeScout's API & Webhooks module (1.0.82 on FreeScout 1.8.159, with the
 * Tags and CustomFields modules), run against two targets: the loopback fake (`npm test`) and a
 * real instance (`npm run test:freescout`). A case that passes on one and fails on the other is a
 * place where the fake is kinder than FreeScout; the real instance is right, the fake follows it.
 *
 * The cases use the API only (no fake-only state), never assume an empty helpdesk (the real one
 * keeps everything earlier cases and suites created), and look only at the conversations, tags
 * and webhook deliveries they made themselves. Their tags are none of autolink's trigger tags,
 * so the whole-flow suite sharing the instance has no backlog of them to link.
 */
export interface ConformanceTarget {
  url: string;
  apiKey: string;
  /** `md5(APP_KEY . "webhook_key")`: what every webhook of the instance is signed with. */
  webhookSecret: string;
  /** An agent (the admin), as `user` of notes and `byUser` of changes. */
  userId: number;
  mailboxes: { support: number; operations: number };
  /** The `github_issue_url` field of each mailbox (custom fields belong to one mailbox). */
  issueUrlFields: { support: number; operations: number };
  /**
   * How long a webhook FreeScout owes may take to arrive: the queue worker's sleep and, for a
   * conversation an agent created, the ~15 s undo window before `convo.created`.
   */
  webhookWithinMs: number;
  /** The least time between an agent's API create and its `convo.created`. */
  agentCreatedDelayMs: number;
  /** Resolves once every webhook FreeScout would send by now has been sent. */
  settleWebhooks(): Promise<void>;
  /** `php artisan queue:restart`, resolved once a new queue worker runs. */
  restartQueueWorker(): Promise<void>;
}

interface Received {
  /** The receiver's path the webhook was registered with. */
  path: string;
  headers: IncomingHttpHeaders;
  raw: string;
  /** The conversation id in the body, when it is one. */
  conversationId: number | undefined;
  at: number;
}

// biome-ignore lint/suspicious/noExplicitAny: wire bodies are asserted field by field
type Json = Record<string, any>;

export function describeFreeScoutConformance(title: string, getTarget: () => ConformanceTarget): void {
  const received: Received[] = [];
  let receiver: Server;
  let receiverBase: string;
  let receiverUrl: string;
  const registered: number[] = [];
  let target: ConformanceTarget;

  beforeAll(async () => {
    target = getTarget();
    receiver = createServer((incoming, response) => {
      const chunks: Buffer[] = [];
      incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
      incoming.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        let conversationId: number | undefined;
        try {
          const id = (JSON.parse(raw) as { id?: unknown }).id;
          conversationId = typeof id === 'number' ? id : undefined;
        } catch {
          conversationId = undefined;
        }
        received.push({
          path: incoming.url ?? '',
          headers: incoming.headers,
          raw,
          conversationId,
          at: Date.now(),
        });
        response.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    receiverBase = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
    receiverUrl = `${receiverBase}/hook`;
  });
  afterEach(async () => {
    // A webhook left behind would go on posting to a receiver that is gone.
    while (registered.length > 0) await call('DELETE', `/api/webhooks/${registered.pop()}`);
  });
  afterAll(async () => {
    await new Promise((resolve) => receiver.close(resolve));
  });

  async function call(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = { 'x-freescout-api-key': target.apiKey },
  ) {
    const response = await request(`${target.url}${path}`, {
      method: method as 'GET',
      headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.body.text();
    return {
      status: response.statusCode,
      headers: response.headers,
      body: text === '' ? undefined : (JSON.parse(text) as Json),
    };
  }

  let serial = 0;
  /** A conversation made through the API; its subject is unique, so lists can find it. */
  async function create(
    options: { thread?: 'customer' | 'message'; mailbox?: number; status?: string; extra?: Json } = {},
  ) {
    serial += 1;
    const subject = `Conformance ${Date.now()}-${serial}`;
    const thread =
      options.thread === 'message'
        ? { type: 'message', text: 'We are on it', user: target.userId }
        : { type: 'customer', text: 'It fails' };
    const created = await call('POST', '/api/conversations', {
      type: 'email',
      mailboxId: options.mailbox ?? target.mailboxes.support,
      subject,
      customer: { email: 'ada@example.test' },
      threads: [thread],
      ...(options.status === undefined ? {} : { status: options.status }),
      ...options.extra,
    });
    expect(created.status).toBe(201);
    return { id: Number(created.headers['resource-id']), subject, created };
  }

  const tagNames = async (id: number) =>
    ((await call('GET', `/api/conversations/${id}?embed=tags`)).body?._embedded.tags ?? []).map(
      (tag: { name: string }) => tag.name,
    );

  async function register(events: string[], extra: Json = {}, path = '/hook') {
    const answer = await call('POST', '/api/webhooks', { url: `${receiverBase}${path}`, events, ...extra });
    expect(answer.status).toBe(201);
    const id = Number(answer.headers['resource-id']);
    registered.push(id);
    return { id, answer };
  }

  const deliveriesFor = (conversationId: number, path?: string) =>
    received.filter(
      (delivery) =>
        delivery.conversationId === conversationId && (path === undefined || delivery.path === path),
    );
  const eventsFor = (conversationId: number) =>
    deliveriesFor(conversationId).map((delivery) => delivery.headers['x-freescout-event']);
  const waitForEvents = (conversationId: number, count: number) =>
    vi.waitFor(() => expect(deliveriesFor(conversationId).length).toBeGreaterThanOrEqual(count), {
      timeout: target.webhookWithinMs,
      interval: 50,
    });

  describe(title, () => {
    it('authenticates by the X-FreeScout-API-Key header or ?api_key=; Bearer or a wrong key is a 401 "Not Authorized"', async () => {
      expect((await call('GET', '/api/mailboxes')).status).toBe(200);
      expect((await call('GET', `/api/mailboxes?api_key=${target.apiKey}`, undefined, {})).status).toBe(200);
      const refusedHeaders: Array<Record<string, string>> = [
        { authorization: `Bearer ${target.apiKey}` },
        { 'x-freescout-api-key': 'not-the-key' },
        {},
      ];
      for (const headers of refusedHeaders) {
        expect(await call('GET', '/api/mailboxes', undefined, headers)).toMatchObject({
          status: 401,
          body: { message: 'Not Authorized' },
        });
      }
    });

    it('create answers 201 with Resource-ID and the full conversation (threads, own mailbox’s custom fields); `tags` are dropped', async () => {
      const { id, subject, created } = await create({ extra: { tags: ['urgent'] } });
      expect(id).toBeGreaterThan(0);
      expect(created.body).toMatchObject({
        id,
        subject,
        status: 'active',
        mailboxId: target.mailboxes.support,
        threadsCount: 1,
        customer: { email: 'ada@example.test' },
        _embedded: { threads: [{ type: 'customer', body: 'It fails' }] },
        customFields: [{ id: target.issueUrlFields.support, name: 'github_issue_url', value: '' }],
      });
      expect(created.body?.tags).toBeUndefined();
      expect(await tagNames(id)).toEqual([]);
    });

    it('a create whose thread is an agent’s message is pending unless a status is given; a customer’s is active', async () => {
      expect((await create({ thread: 'message' })).created.body?.status).toBe('pending');
      expect((await create({ thread: 'message', status: 'active' })).created.body?.status).toBe('active');
      expect((await create({ thread: 'customer' })).created.body?.status).toBe('active');
    });

    it('without embed threads are included and tags are not; tags are never top-level', async () => {
      const { id } = await create();
      await call('PUT', `/api/conversations/${id}/tags`, { tags: ['urgent'] });
      const plain = await call('GET', `/api/conversations/${id}`);
      expect(plain.body?._embedded.threads).toHaveLength(1);
      expect(plain.body?._embedded.tags).toBeUndefined();
      expect(plain.body?.tags).toBeUndefined();
    });

    it('with embed, _embedded holds only what it names (threads stay an empty list)', async () => {
      const { id } = await create();
      await call('PUT', `/api/conversations/${id}/tags`, { tags: ['urgent'] });
      const tagsOnly = await call('GET', `/api/conversations/${id}?embed=tags`);
      expect(tagsOnly.body?._embedded).toEqual({
        threads: [],
        tags: [{ id: expect.any(Number), name: 'urgent' }],
      });
      const both = await call('GET', `/api/conversations/${id}?embed=threads,tags`);
      expect(both.body?._embedded.threads).toHaveLength(1);
      expect(both.body?._embedded.tags.map((tag: { name: string }) => tag.name)).toEqual(['urgent']);
      expect(both.body?.tags).toBeUndefined();
    });

    it('PUT tags replaces the whole set, trimmed and lower-cased; tagging does not move updatedAt', async () => {
      const { id, created } = await create();
      expect((await call('PUT', `/api/conversations/${id}/tags`, { tags: ['Urgent', ' VIP '] })).status).toBe(
        204,
      );
      expect((await tagNames(id)).sort()).toEqual(['urgent', 'vip']);
      expect((await call('PUT', `/api/conversations/${id}/tags`, { tags: ['Needs:Triage'] })).status).toBe(
        204,
      );
      const read = await call('GET', `/api/conversations/${id}?embed=tags`);
      expect(read.body?._embedded.tags.map((tag: { name: string }) => tag.name)).toEqual(['needs:triage']);
      expect(read.body?.updatedAt).toBe(created.body?.updatedAt);
    });

    it('a note answers 201 with Resource-ID and the thread; a note or message without an existing `user` is a 400 naming `user`', async () => {
      const { id } = await create();
      for (const body of [
        { type: 'note', text: 'no user' },
        { type: 'note', text: 'unknown user', user: 999_999 },
        { type: 'message', text: 'no user' },
      ]) {
        expect(await call('POST', `/api/conversations/${id}/threads`, body)).toMatchObject({
          status: 400,
          body: {
            message: 'Error occurred',
            _embedded: {
              errors: [{ path: 'user', message: '`user` parameter is required', source: 'JSON' }],
            },
          },
        });
      }
      const note = await call('POST', `/api/conversations/${id}/threads`, {
        type: 'note',
        text: 'ok',
        user: target.userId,
      });
      expect(note.status).toBe(201);
      expect(note.body).toMatchObject({
        id: Number(note.headers['resource-id']),
        type: 'note',
        body: 'ok',
        createdBy: { id: target.userId, type: 'user' },
      });
    });

    it('threads are listed newest first', async () => {
      const { id } = await create();
      await call('POST', `/api/conversations/${id}/threads`, {
        type: 'note',
        text: 'later',
        user: target.userId,
      });
      const read = await call('GET', `/api/conversations/${id}`);
      expect(read.body?._embedded.threads.map((thread: { body: string }) => thread.body)).toEqual([
        'later',
        'It fails',
      ]);
    });

    it('GET /api/users/{id} reads an agent; an unknown one or conversation is a 404 "Not Found"', async () => {
      expect((await call('GET', `/api/users/${target.userId}`)).body).toMatchObject({ id: target.userId });
      for (const path of ['/api/users/999999', '/api/conversations/999999999']) {
        expect(await call('GET', path)).toEqual(
          expect.objectContaining({ status: 404, body: { message: 'Not Found', _embedded: { errors: [] } } }),
        );
      }
    });

    it('a list without `status` applies no status filter (closed conversations included)', async () => {
      const active = await create();
      const closed = await create({ status: 'closed' });
      const ids = async (query: string) =>
        ((await call('GET', `/api/conversations?${query}`)).body?._embedded.conversations ?? []).map(
          (conversation: { id: number }) => conversation.id,
        );
      const unfiltered = await ids(`mailboxId=${target.mailboxes.support}&pageSize=100`);
      expect(unfiltered).toEqual(expect.arrayContaining([active.id, closed.id]));
      const activeOnly = await ids(`mailboxId=${target.mailboxes.support}&status=active&pageSize=100`);
      expect(activeOnly).toContain(active.id);
      expect(activeOnly).not.toContain(closed.id);
    });

    it('changing status, assignee or mailbox needs `byUser` (400 naming it); other fields do not', async () => {
      const { id } = await create();
      for (const change of [
        { status: 'closed' },
        { assignTo: target.userId },
        { mailboxId: target.mailboxes.operations },
      ]) {
        expect(await call('PUT', `/api/conversations/${id}`, change)).toMatchObject({
          status: 400,
          body: {
            message: 'Error occurred',
            _embedded: {
              errors: [{ path: 'byUser', message: 'byUser parameter is required.', source: 'JSON' }],
            },
          },
        });
      }
      expect((await call('PUT', `/api/conversations/${id}`, { subject: 'Renamed' })).status).toBe(204);
      const closing = await call('PUT', `/api/conversations/${id}`, {
        status: 'closed',
        byUser: target.userId,
      });
      expect(closing.status).toBe(204);
      const read = await call('GET', `/api/conversations/${id}`);
      expect(read.body).toMatchObject({ subject: 'Renamed', status: 'closed', closedAt: expect.any(String) });
    });

    it('errors say only "Error occurred" at the top; the reason is in _embedded.errors[0].message', async () => {
      const missing = await call('POST', '/api/conversations', {
        type: 'email',
        mailboxId: target.mailboxes.support,
      });
      expect(missing).toMatchObject({
        status: 400,
        body: {
          message: 'Error occurred',
          _embedded: {
            errors: [{ path: 'subject', message: '`subject` parameter is required', source: 'JSON' }],
          },
        },
      });
      const unknownMailbox = await call('POST', '/api/conversations', {
        type: 'email',
        mailboxId: 999_999,
        subject: 'x',
        customer: { email: 'ada@example.test' },
        threads: [{ type: 'customer', text: 'x' }],
      });
      expect(unknownMailbox).toMatchObject({
        status: 400,
        body: {
          message: 'Error occurred',
          _embedded: { errors: [{ path: 'mailboxId', message: 'Mailbox not found' }] },
        },
      });
    });

    it('custom fields belong to one mailbox: each lists its own, and another mailbox’s field id is stored (204) yet never shown', async () => {
      const support = await call('GET', `/api/mailboxes/${target.mailboxes.support}/custom_fields`);
      expect(support.body?._embedded.custom_fields).toEqual([
        expect.objectContaining({ id: target.issueUrlFields.support, name: 'github_issue_url' }),
      ]);
      const operations = await call('GET', `/api/mailboxes/${target.mailboxes.operations}/custom_fields`);
      expect(operations.body?._embedded.custom_fields).toEqual([
        expect.objectContaining({ id: target.issueUrlFields.operations, name: 'github_issue_url' }),
      ]);
      expect((await call('GET', '/api/mailboxes/999999/custom_fields')).status).toBe(404);

      const { id } = await create({ mailbox: target.mailboxes.support });
      const wrong = await call('PUT', `/api/conversations/${id}/custom_fields`, {
        customFields: [{ id: target.issueUrlFields.operations, value: 'https://example.test/wrong' }],
      });
      expect(wrong.status).toBe(204);
      expect((await call('GET', `/api/conversations/${id}`)).body?.customFields).toEqual([
        expect.objectContaining({ id: target.issueUrlFields.support, value: '' }),
      ]);
      const right = await call('PUT', `/api/conversations/${id}/custom_fields`, {
        customFields: [{ id: target.issueUrlFields.support, value: 'https://example.test/right' }],
      });
      expect(right.status).toBe(204);
      expect((await call('GET', `/api/conversations/${id}`)).body?.customFields).toEqual([
        expect.objectContaining({
          id: target.issueUrlFields.support,
          name: 'github_issue_url',
          value: 'https://example.test/right',
        }),
      ]);
    });

    it('webhooks: 201 + Resource-ID; unknown events dropped (400 when none is left); `mailboxes` ignored; delete 204, then 404', async () => {
      const refused = await call('POST', '/api/webhooks', { url: receiverUrl, events: ['convo.tags'] });
      expect(refused).toMatchObject({ status: 400, body: { message: 'Error occurred' } });
      const { id, answer } = await register(['convo.created', 'convo.tags'], {
        mailboxes: [target.mailboxes.operations],
      });
      expect(answer.body).toMatchObject({ id, url: receiverUrl, events: ['convo.created'] });
      // Limited to Operations in the request, it still fires for Support.
      const { id: conversationId } = await create({ mailbox: target.mailboxes.support });
      await waitForEvents(conversationId, 1);
      expect(eventsFor(conversationId)).toEqual(['convo.created']);
      registered.splice(registered.indexOf(id), 1);
      expect((await call('DELETE', `/api/webhooks/${id}`)).status).toBe(204);
      expect((await call('DELETE', `/api/webhooks/${id}`)).status).toBe(404);
    });

    it('a customer’s create fires convo.created signed base64(HMAC-SHA1) with the instance’s secret, with threads and its own custom fields, without tags', async () => {
      await register(['convo.created']);
      const { id } = await create({ mailbox: target.mailboxes.operations });
      await call('PUT', `/api/conversations/${id}/tags`, { tags: ['urgent'] });
      await waitForEvents(id, 1);
      const [delivery] = deliveriesFor(id);
      expect(delivery?.headers['x-freescout-event']).toBe('convo.created');
      expect(delivery?.headers['content-type']).toContain('application/json');
      expect(delivery?.headers['x-freescout-signature']).toBe(
        createHmac('sha1', target.webhookSecret)
          .update(delivery?.raw ?? '')
          .digest('base64'),
      );
      const body = JSON.parse(delivery?.raw ?? '{}');
      expect(body).toMatchObject({ id, mailboxId: target.mailboxes.operations, status: 'active' });
      expect(body.tags).toBeUndefined();
      expect(body._embedded.tags).toBeUndefined();
      expect(body._embedded.threads).toHaveLength(1);
      expect(body.customFields).toEqual([
        expect.objectContaining({ id: target.issueUrlFields.operations, name: 'github_issue_url' }),
      ]);
    });

    it('an agent’s create fires convo.created after the undo window, from the queue worker, to the webhooks it loaded before (a later one once it restarts)', async () => {
      await register(['convo.created'], {}, '/early');
      await target.restartQueueWorker();
      const started = Date.now();
      const first = await create({ thread: 'message' });
      await waitForEvents(first.id, 1);
      expect(deliveriesFor(first.id)[0]?.at ?? 0).toBeGreaterThanOrEqual(
        started + target.agentCreatedDelayMs,
      );
      expect(eventsFor(first.id)).toEqual(['convo.created']);

      // The worker keeps the list it loaded: a webhook registered now misses the worker's events…
      await register(['convo.created'], {}, '/late');
      const second = await create({ thread: 'message' });
      await waitForEvents(second.id, 1);
      await target.settleWebhooks();
      expect(deliveriesFor(second.id).map((delivery) => delivery.path)).toEqual(['/early']);
      // …while the web process's events (a customer's create) reach it at once.
      const customers = await create({ thread: 'customer' });
      await waitForEvents(customers.id, 2);
      expect(
        deliveriesFor(customers.id)
          .map((delivery) => delivery.path)
          .sort(),
      ).toEqual(['/early', '/late']);

      await target.restartQueueWorker();
      const third = await create({ thread: 'message' });
      await waitForEvents(third.id, 2);
      expect(
        deliveriesFor(third.id)
          .map((delivery) => delivery.path)
          .sort(),
      ).toEqual(['/early', '/late']);
    });

    it('a status change fires convo.status with the new status; a note fires convo.note.created; a tag change fires nothing', async () => {
      const { id } = await create();
      await register(['convo.note.created', 'convo.status', 'convo.assigned']);
      await call('PUT', `/api/conversations/${id}/tags`, { tags: ['urgent'] });
      await call('PUT', `/api/conversations/${id}`, { status: 'pending', byUser: target.userId });
      await waitForEvents(id, 1);
      await call('POST', `/api/conversations/${id}/threads`, {
        type: 'note',
        text: 'hello',
        user: target.userId,
      });
      await waitForEvents(id, 2);
      await target.settleWebhooks();
      expect(eventsFor(id)).toEqual(['convo.status', 'convo.note.created']);
      expect(JSON.parse(deliveriesFor(id)[0]?.raw ?? '{}').status).toBe('pending');
    });
  });
}
