import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/database.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { conversationPayload, freescoutDelivery } from '../support/freescout-delivery.ts';
import { useTestApp, useTestDatabase } from '../support/setup.ts';

const SECRET = 'audit-secret-0c1d';
const PREVIOUS = 'audit-secret-old-77aa';
const URL = '/api/internal/freescout-webhook/audit';

const database = useTestDatabase({ truncateBeforeEach: ['freescout_ticket_cache'] });
const app = useTestApp(() => ({
  db: database.db,
  env: {
    FLAG_FREESCOUT_WEBHOOK_RECEIVE: '1',
    FREESCOUT_AUDIT_WEBHOOK_SECRET: SECRET,
    FREESCOUT_AUDIT_WEBHOOK_SECRET_PREVIOUS: PREVIOUS,
    FREESCOUT_CACHE_TTL_SECONDS: '3600',
  },
}));

type DeliveryOptions = Parameters<typeof freescoutDelivery>[1];
const STATUS_CHANGE: DeliveryOptions = { secret: SECRET, event: 'convo.status' };

/** Posts a signed delivery to `target`'s audit webhook. */
function deliverTo(target: TestApp, body: unknown, options: DeliveryOptions = STATUS_CHANGE) {
  const { payload, headers } = freescoutDelivery(body, options);
  return target.app.inject({ method: 'POST', url: URL, payload, headers });
}

const deliver = (body: unknown, options?: DeliveryOptions) => deliverTo(app, body, options);

const cacheRows = () =>
  database.db.selectFrom('freescout_ticket_cache').selectAll().orderBy('ticket_id').execute();

describe('a verified delivery', () => {
  it('writes status, updated_at and ttl_expires from a base64 HMAC-SHA1 signed conversation', async () => {
    const before = Date.now();
    const response = await deliver(
      conversationPayload({ status: 'closed', updatedAt: '2026-11-24T10:05:00Z' }),
    );
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ ok: true, ticket_id: 1042, status: 'closed', updated: true });
    const [row] = await cacheRows();
    expect(row).toMatchObject({ ticket_id: 1042, status: 'closed', source: 'webhook' });
    expect(new Date(row?.updated_at ?? 0).toISOString()).toBe('2026-11-24T10:05:00.000Z');
    const ttl = new Date(row?.ttl_expires ?? 0).getTime();
    expect(ttl).toBeGreaterThanOrEqual(before + 3600_000);
    expect(ttl).toBeLessThanOrEqual(Date.now() + 3600_000);
  });

  it.each(['sha256-hex', 'sha256-base64'] as const)(
    'accepts an HMAC-SHA256 (%s) signature',
    async (scheme) => {
      const response = await deliver(conversationPayload({ status: 'pending' }), {
        secret: SECRET,
        event: 'convo.status',
        scheme,
      });
      expect(response.statusCode).toBe(200);
      expect((await cacheRows())[0]?.status).toBe('pending');
    },
  );

  it('accepts the previous secret during a rotation', async () => {
    const response = await deliver(conversationPayload(), { secret: PREVIOUS, event: 'convo.created' });
    expect(response.statusCode).toBe(200);
    expect(await cacheRows()).toHaveLength(1);
  });

  it.each([
    'convo.created',
    'convo.assigned',
    'convo.moved',
    'convo.customer.reply.created',
    'convo.agent.reply.created',
    'convo.note.created',
    'convo.restored',
    'conversation.created',
    'conversation.status_changed',
  ])('refreshes the row on %s', async (event) => {
    const response = await deliver(conversationPayload({ status: 'pending' }), { secret: SECRET, event });
    expect(response.statusCode).toBe(200);
    expect((await cacheRows())[0]?.status).toBe('pending');
  });

  it('reads a numeric FreeScout status code, as the autolink webhooks do', async () => {
    const response = await deliver(
      { ...conversationPayload(), status: 3 },
      { secret: SECRET, event: 'convo.status' },
    );
    expect(response.statusCode).toBe(200);
    expect((await cacheRows())[0]?.status).toBe('closed');
  });

  it.each(['convo.deleted', 'convo.deleted_forever'])(
    'marks the ticket deleted on %s, with the whole conversation or only its id',
    async (event) => {
      await deliver(conversationPayload({ id: 1, updatedAt: '2026-11-24T10:00:00Z' }));
      await deliver(conversationPayload({ id: 2, updatedAt: '2026-11-24T10:00:00Z' }));
      expect((await deliver(conversationPayload({ id: 1 }), { secret: SECRET, event })).statusCode).toBe(200);
      expect((await deliver({ id: 2 }, { secret: SECRET, event })).statusCode).toBe(200);
      expect((await cacheRows()).map((row) => row.status)).toEqual(['deleted', 'deleted']);
    },
  );

  it.each(['customer.created', 'customer.updated', 'mailbox.updated', 'something.else'])(
    'acknowledges %s as ignored without writing',
    async (event) => {
      const response = await deliver({ id: 12, email: 'dana@example.com' }, { secret: SECRET, event });
      expect(response.statusCode).toBe(200);
      expect(response.json()).toEqual({ ok: true, ignored: true });
      expect(await cacheRows()).toHaveLength(0);
    },
  );
});

describe('undocumented convo.* events', () => {
  it('acknowledges one whose body is not a conversation, without writing', async () => {
    const response = await deliver(
      { user: { id: 1 }, conversation_id: 5 },
      { secret: SECRET, event: 'convo.user.viewed.start' },
    );
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ ok: true, ignored: true });
    expect(await cacheRows()).toHaveLength(0);
  });

  it('refreshes the row when one carries a conversation', async () => {
    const response = await deliver(conversationPayload({ status: 'closed' }), {
      secret: SECRET,
      event: 'convo.custom.module',
    });
    expect(response.json()).toMatchObject({ ok: true, updated: true });
  });
});

describe('ordering and repeats', () => {
  it('keeps the newer status when an older retry arrives late', async () => {
    await deliver(conversationPayload({ status: 'closed', updatedAt: '2026-11-24T11:00:00Z' }));
    const late = await deliver(conversationPayload({ status: 'active', updatedAt: '2026-11-24T10:00:00Z' }));
    expect(late.statusCode).toBe(200);
    expect(late.json()).toMatchObject({ updated: false });
    const [row] = await cacheRows();
    expect(row?.status).toBe('closed');
    expect(new Date(row?.updated_at ?? 0).toISOString()).toBe('2026-11-24T11:00:00.000Z');
  });

  it('treats a repeated delivery as a no-op', async () => {
    const body = conversationPayload({ status: 'closed' });
    await deliver(body);
    const [first] = await cacheRows();
    const repeat = await deliver(body);
    expect(repeat.statusCode).toBe(200);
    expect(repeat.json()).toMatchObject({ updated: false });
    expect(await cacheRows()).toEqual([first]);
  });
});

describe('concurrent deliveries', () => {
  it('leaves every ticket at its newest status when many deliveries race, duplicates included', async () => {
    const deliveries = [];
    for (let ticket = 1; ticket <= 10; ticket++) {
      for (let minute = 0; minute < 6; minute++) {
        const status = minute === 5 ? 'closed' : 'active';
        const updatedAt = `2026-11-24T10:0${minute}:00Z`;
        deliveries.push(conversationPayload({ id: ticket, status, updatedAt }));
      }
    }
    const shuffled = [...deliveries, ...deliveries].sort(() => Math.random() - 0.5);
    const responses = await Promise.all(shuffled.map((body) => deliver(body)));
    expect(responses.map((response) => response.statusCode).filter((status) => status !== 200)).toEqual([]);
    const rows = await cacheRows();
    expect(rows).toHaveLength(10);
    for (const row of rows) {
      expect(row.status).toBe('closed');
      expect(new Date(row.updated_at).toISOString()).toBe('2026-11-24T10:05:00.000Z');
    }
    expect(responses.filter((response) => response.json().updated).length).toBeLessThanOrEqual(60);
  });
});

describe('refusals change nothing', () => {
  it('answers 401 invalid_signature to a wrong, missing or truncated signature', async () => {
    const body = conversationPayload();
    const good = freescoutDelivery(body, { secret: SECRET, event: 'convo.status' }).headers[
      'x-freescout-signature'
    ];
    for (const signature of [
      '',
      'AAAA',
      good.slice(0, -4),
      freescoutDelivery(body, { secret: 'wrong' }).headers['x-freescout-signature'],
    ]) {
      const response = await deliver(body, { secret: SECRET, event: 'convo.status', signature });
      expect(response.statusCode).toBe(401);
      expect(response.json()).toEqual({ error: 'invalid_signature', message: expect.any(String) });
    }
    const { payload } = freescoutDelivery(body, { secret: SECRET });
    const unsigned = await app.app.inject({
      method: 'POST',
      url: URL,
      payload,
      headers: { 'content-type': 'application/json', 'x-freescout-event': 'convo.status' },
    });
    expect(unsigned.statusCode).toBe(401);
    expect(await cacheRows()).toHaveLength(0);
  });

  it('rejects a body re-serialised after signing', async () => {
    const raw = '{"id": 1042, "status": "closed", "updatedAt": "2026-11-24T10:00:00Z"}';
    const { headers } = freescoutDelivery(raw, { secret: SECRET, event: 'convo.status' });
    const response = await app.app.inject({
      method: 'POST',
      url: URL,
      headers,
      payload: JSON.stringify(JSON.parse(raw)),
    });
    expect(response.statusCode).toBe(401);
  });

  it('answers 400 invalid_json to a signed body that is not JSON', async () => {
    const response = await deliver('{"id": 1042, "status":', { secret: SECRET, event: 'convo.status' });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ error: 'invalid_json' });
  });

  it.each([
    ['no id', { status: 'active' }],
    ['id as a string', conversationPayload({ id: '1042' })],
    ['an unknown status', conversationPayload({ status: 'archived' })],
    ['a bad timestamp', conversationPayload({ updatedAt: 'yesterday' })],
    ['an array', [conversationPayload()]],
  ])('answers 400 invalid_payload to a conversation with %s', async (_case, body) => {
    const response = await deliver(body);
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ error: 'invalid_payload' });
    expect(await cacheRows()).toHaveLength(0);
  });
});

describe('configuration and availability', () => {
  it('answers 404 feature_disabled while the flag is off', async () => {
    const off = await startTestApp({ db: database.db, env: { FREESCOUT_AUDIT_WEBHOOK_SECRET: SECRET } });
    const response = await deliverTo(off, conversationPayload());
    await off.close();
    expect(response.statusCode).toBe(404);
    expect(response.json()).toMatchObject({ error: 'feature_disabled' });
  });

  it('answers 503 not_configured when the flag is on but no secret is set', async () => {
    const unconfigured = await startTestApp({
      db: database.db,
      env: { FLAG_FREESCOUT_WEBHOOK_RECEIVE: 'true' },
    });
    const response = await deliverTo(unconfigured, conversationPayload());
    await unconfigured.close();
    expect(response.statusCode).toBe(503);
    expect(response.json()).toMatchObject({ error: 'not_configured' });
  });

  it('answers 503 when the database is unavailable, so FreeScout retries', async () => {
    const unreachable = await openDatabase({ kind: 'postgres', url: 'postgres://postgres@127.0.0.1:1/none' });
    const down = await startTestApp({
      db: unreachable.db,
      env: { FLAG_FREESCOUT_WEBHOOK_RECEIVE: '1', FREESCOUT_AUDIT_WEBHOOK_SECRET: SECRET },
    });
    const response = await deliverTo(down, conversationPayload());
    await down.close();
    await unreachable.close();
    expect(response.statusCode).toBe(503);
    expect(response.json()).toMatchObject({ error: 'database_unavailable' });
  });
});
