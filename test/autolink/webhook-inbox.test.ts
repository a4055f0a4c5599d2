import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { retryDelayMs } from '../../src/lib/durable-inbox.ts';
import { startTestApp } from '../support/app.ts';
import {
  drain,
  issuePosts,
  sign,
  startAutolinkInstance,
  useAutolink,
  WEBHOOK_SECRET,
  webhookBody,
} from '../support/autolink.ts';
import { rateLimitExhausted } from '../support/fake-github.ts';

const { database, fakes, instance } = useAutolink({ env: { AUTOLINK_MAX_ATTEMPTS: '3' } });

const storedDeliveries = () => database.db.selectFrom('autolink_delivery').selectAll().execute();

describe('POST /api/webhooks/freescout/{ops,support}', () => {
  it('answers 404 feature_disabled while the flag is off', async () => {
    const off = await startTestApp({
      db: database.db,
      env: fakes.env({ FLAG_FREESCOUT_GITHUB_AUTOLINK: 'no' }),
    });
    try {
      for (const url of ['/api/webhooks/freescout/ops', '/api/webhooks/freescout/support']) {
        const response = await off.app.inject({ method: 'POST', url, payload: { id: 1 } });
        expect(response.statusCode).toBe(404);
        expect(response.json()).toEqual({ error: 'feature_disabled', message: expect.any(String) });
      }
      const internal = await off.app.inject({ url: '/api/_internal/autolink/deliveries' });
      expect(internal.statusCode).toBe(404);
    } finally {
      await off.close();
    }
  });

  it('answers 503 not_configured when FREESCOUT_WEBHOOK_SECRET is unset', async () => {
    const unset = await startTestApp({
      db: database.db,
      env: fakes.env({ FREESCOUT_WEBHOOK_SECRET: undefined }),
    });
    try {
      const response = await unset.app.inject({
        method: 'POST',
        url: '/api/webhooks/freescout/ops',
        headers: { 'x-freescout-event': 'convo.created' },
        payload: { id: 1 },
      });
      expect(response.statusCode).toBe(503);
      expect(response.json()).toMatchObject({ error: 'not_configured' });
    } finally {
      await unset.close();
    }
  });

  it('answers 401 invalid_signature for a missing or wrong signature and stores nothing', async () => {
    const raw = JSON.stringify({ id: 5 });
    const missing = await instance.app.app.inject({
      method: 'POST',
      url: '/api/webhooks/freescout/ops',
      headers: { 'content-type': 'application/json', 'x-freescout-event': 'convo.created' },
      payload: raw,
    });
    expect(missing.statusCode).toBe(401);
    expect(missing.json()).toMatchObject({ error: 'invalid_signature' });
    const wrong = await instance.deliver('convo.created', raw, { signature: sign(`${raw} `) });
    expect(wrong).toMatchObject({ status: 401, body: { error: 'invalid_signature' } });
    expect(await storedDeliveries()).toEqual([]);
  });

  it('accepts FreeScout’s own base64 HMAC-SHA1 signature and the rotated-out secret', async () => {
    const rotating = await startAutolinkInstance(database.db, fakes, {
      FREESCOUT_WEBHOOK_SECRET: 'the-new-secret',
      FREESCOUT_WEBHOOK_SECRET_PREVIOUS: WEBHOOK_SECRET,
    });
    try {
      const raw = JSON.stringify({ id: 77, status: 'active' });
      const sha1 = createHmac('sha1', 'the-new-secret').update(raw).digest('base64');
      expect((await rotating.deliver('convo.created', raw, { signature: sha1 })).status).toBe(202);
      expect((await rotating.deliver('convo.status', raw, { signature: sign(raw) })).status).toBe(202);
    } finally {
      await rotating.close();
    }
  });

  it('answers 400 invalid_json for a signed body that is not JSON', async () => {
    const answer = await instance.deliver('convo.created', '{not json');
    expect(answer).toEqual({ status: 400, body: { error: 'invalid_json', message: expect.any(String) } });
  });

  it('answers 400 invalid_payload for JSON that is not a conversation', async () => {
    for (const body of [{ subject: 'no id' }, { id: 'seven' }, [1, 2]]) {
      const answer = await instance.deliver('convo.created', body);
      expect(answer).toEqual({
        status: 400,
        body: { error: 'invalid_payload', message: expect.any(String) },
      });
    }
    expect(await storedDeliveries()).toEqual([]);
  });

  it('answers 200 ignored for customer events, a missing event name and custom events about something else', async () => {
    for (const event of ['customer.created', 'customer.updated', '']) {
      const answer = await instance.deliver(event, { id: 3, firstName: 'Ada' });
      expect(answer).toEqual({ status: 200, body: { ok: true, ignored: true } });
    }
    const custom = await instance.deliver('workflow.customer-vip', { id: 3, firstName: 'Ada', emails: [] });
    expect(custom).toEqual({ status: 200, body: { ok: true, ignored: true } });
    expect(await storedDeliveries()).toEqual([]);
  });

  it('queues a criteria check for every other conversation event, aliases and Workflows events included', async () => {
    const ticket = fakes.freescout.state.insertConversation({ mailboxId: 1 });
    const body = webhookBody(ticket);
    for (const event of [
      'convo.assigned',
      'convo.note.created',
      'Convo.Agent.Reply.Created',
      'workflow.escalate',
    ]) {
      const answer = await instance.deliver(event, body);
      expect(answer).toEqual({ status: 202, body: { ok: true, delivery_id: expect.any(Number) } });
    }
    expect((await storedDeliveries()).map((row) => row.kind)).toEqual([
      'evaluate',
      'evaluate',
      'evaluate',
      'evaluate',
    ]);
  });

  it('stores a verified delivery and answers 202 with its id before any work is done', async () => {
    const ticket = fakes.freescout.state.insertConversation({ mailboxId: 1, tags: ['bug'] });
    const raw = JSON.stringify(webhookBody(ticket));
    const answer = await instance.deliver('convo.created', raw, { source: 'support' });
    expect(answer).toEqual({ status: 202, body: { ok: true, delivery_id: expect.any(Number) } });
    expect(await storedDeliveries()).toEqual([
      expect.objectContaining({
        id: answer.body.delivery_id,
        source: 'support',
        event: 'convo.created',
        kind: 'created',
        conversation_id: ticket.id,
        status: 'pending',
        dedup_key: createHash('sha256').update(`convo.created\n${raw}`).digest('hex'),
      }),
    ]);
    expect(fakes.github.requests).toHaveLength(0);
    const again = await instance.deliver('convo.created', raw);
    expect(again.body.delivery_id).toBe(answer.body.delivery_id);
  });
});

describe('retries, failures and replay', () => {
  it('waits at least as long as the Retry-After GitHub asks for', async () => {
    const ticket = fakes.freescout.state.insertConversation({ mailboxId: 1, tags: ['bug'] });
    fakes.github.failNext({ status: 503, retryAfter: 7200 }, { method: 'POST', path: /\/issues$/ });
    const before = fakes.clock.now().getTime();
    await instance.deliver('convo.created', webhookBody(ticket));
    await instance.runWorker();
    const [row] = await storedDeliveries();
    expect(row?.status).toBe('pending');
    expect(new Date(row?.next_attempt_at ?? 0).getTime() - before).toBeGreaterThanOrEqual(7200_000);
    await drain(instance, fakes.clock);
    expect(issuePosts(fakes.github)).toHaveLength(2);
  });

  it('waits for an exhausted GitHub rate limit to reset', async () => {
    const ticket = fakes.freescout.state.insertConversation({ mailboxId: 1, tags: ['bug'] });
    fakes.github.failNext(rateLimitExhausted(3600), { method: 'POST', path: /\/issues$/ });
    const before = fakes.clock.now().getTime();
    await instance.deliver('convo.created', webhookBody(ticket));
    await instance.runWorker();
    const [row] = await storedDeliveries();
    expect(row?.last_error).toContain('403');
    expect(new Date(row?.next_attempt_at ?? 0).getTime() - before).toBeGreaterThanOrEqual(3500_000);
  });

  it('backs off exponentially with jitter', () => {
    expect(retryDelayMs(1, undefined, () => 0)).toBe(2_500);
    expect(retryDelayMs(1, undefined, () => 1)).toBe(5_000);
    expect(retryDelayMs(4, undefined, () => 1)).toBe(40_000);
    expect(retryDelayMs(30, undefined, () => 1)).toBe(3_600_000);
    expect(retryDelayMs(1, 600, () => 0)).toBe(600_000);
  });

  it('marks a delivery failed after AUTOLINK_MAX_ATTEMPTS, lists it with its last error, and replays it', async () => {
    const ticket = fakes.freescout.state.insertConversation({ mailboxId: 1, tags: ['bug'] });
    fakes.github.failNext({ status: 422 }, { method: 'POST', path: /\/issues$/, times: 3 });
    const delivered = await instance.deliver('convo.created', webhookBody(ticket));
    await drain(instance, fakes.clock);

    const failed = await instance.app.app.inject({ url: '/api/_internal/autolink/deliveries?status=failed' });
    expect(failed.statusCode).toBe(200);
    expect(failed.json()).toEqual({
      deliveries: [
        expect.objectContaining({
          id: delivered.body.delivery_id,
          event: 'convo.created',
          conversation_id: ticket.id,
          status: 'failed',
          attempts: 3,
          last_error: expect.stringContaining('422'),
        }),
      ],
    });
    expect(issuePosts(fakes.github)).toHaveLength(3);
    expect(
      fakes.github.state.issues().filter((issue) => issue.body?.includes(`ticket:${ticket.id} `)),
    ).toEqual([]);

    const replay = await instance.app.app.inject({
      method: 'POST',
      url: `/api/_internal/autolink/deliveries/${delivered.body.delivery_id}/retry`,
    });
    expect(replay.statusCode).toBe(202);
    expect(replay.json()).toEqual({ ok: true, delivery_id: delivered.body.delivery_id, status: 'pending' });
    await drain(instance, fakes.clock);
    expect(
      fakes.github.state.issues().filter((issue) => issue.body?.includes(`ticket:${ticket.id} `)),
    ).toHaveLength(1);
    const after = await instance.app.app.inject({ url: '/api/_internal/autolink/deliveries?status=failed' });
    expect(after.json()).toEqual({ deliveries: [] });
  });

  it('answers 404 delivery_not_found when replaying an unknown delivery', async () => {
    const replay = await instance.app.app.inject({
      method: 'POST',
      url: '/api/_internal/autolink/deliveries/999/retry',
    });
    expect(replay.statusCode).toBe(404);
    expect(replay.json()).toMatchObject({ error: 'delivery_not_found' });
  });

  it('keeps the internal routes behind the internal guard', async () => {
    const outside = await instance.app.app.inject({
      url: '/api/_internal/autolink/deliveries?status=failed',
      remoteAddress: '203.0.113.9',
    });
    expect(outside.statusCode).toBe(401);
  });
});
