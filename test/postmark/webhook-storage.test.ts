import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/database.ts';
import { startTestApp } from '../support/app.ts';
import {
  bouncePayload,
  deliveryPayload,
  postmarkEnv,
  postPostmark,
  spamComplaintPayload,
} from '../support/postmark.ts';
import { useTestApp, useTestDatabase } from '../support/setup.ts';

const database = useTestDatabase({ truncateBeforeEach: ['postmark_event', 'postmark_event_rollup'] });
const app = useTestApp(() => ({ db: database.db, env: postmarkEnv }));

function storedEvents() {
  return database.db.selectFrom('postmark_event').selectAll().orderBy('id').execute();
}

async function rollupTotal() {
  const row = await database.db
    .selectFrom('postmark_event_rollup')
    .select((eb) => eb.fn.sum<number>('count').as('total'))
    .executeTakeFirst();
  return Number(row?.total ?? 0);
}

describe('storing Postmark events', () => {
  it('stores a Delivery with its columns mapped from the payload', async () => {
    const payload = deliveryPayload();
    const response = await postPostmark(app, payload);
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ ok: true });
    const [row] = await storedEvents();
    expect(row).toMatchObject({
      event_type: 'Delivery',
      message_id: payload.MessageID,
      recipient: payload.Recipient,
      tag: 'support-outbound',
      bounce_type: null,
      bounce_description: null,
      postmark_id: null,
    });
    expect(new Date(row?.occurred_at ?? 0).toISOString()).toBe('2026-11-24T11:58:54.907Z');
    expect(row?.payload).toEqual(payload);
  });

  it('stores a Bounce with its type, description and Email as recipient, without the raw dump', async () => {
    const payload = bouncePayload();
    expect((await postPostmark(app, payload)).json()).toEqual({ ok: true });
    const [row] = await storedEvents();
    expect(row).toMatchObject({
      event_type: 'Bounce',
      message_id: payload.MessageID,
      recipient: payload.Email,
      tag: 'support-outbound',
      bounce_type: 'HardBounce',
      bounce_description: payload.Description,
      postmark_id: payload.ID,
    });
    expect(new Date(row?.occurred_at ?? 0).toISOString()).toBe('2026-11-24T11:58:10.273Z');
    const { Content: _dump, ...kept } = payload;
    expect(row?.payload).toEqual(kept);
  });

  it('stores a SpamComplaint', async () => {
    const payload = spamComplaintPayload({ Tag: '' });
    expect((await postPostmark(app, payload)).statusCode).toBe(200);
    const [row] = await storedEvents();
    expect(row).toMatchObject({
      event_type: 'SpamComplaint',
      bounce_type: 'SpamComplaint',
      recipient: payload.Email,
      tag: null,
      postmark_id: payload.ID,
    });
  });

  it('stores each event once however often Postmark retries it, and counts it once', async () => {
    const delivery = deliveryPayload();
    const bounce = bouncePayload();
    const complaint = spamComplaintPayload();
    for (let attempt = 0; attempt < 3; attempt += 1) {
      for (const payload of [delivery, bounce, complaint]) {
        const response = await postPostmark(app, payload);
        expect(response.statusCode).toBe(200);
        expect(response.json()).toEqual({ ok: true });
      }
    }
    expect((await storedEvents()).map((row) => row.event_type)).toEqual([
      'Delivery',
      'Bounce',
      'SpamComplaint',
    ]);
    expect(await rollupTotal()).toBe(3);
  });

  it('stores concurrent duplicates once', async () => {
    const delivery = deliveryPayload();
    const bounce = bouncePayload();
    const replies = await Promise.all(
      Array.from({ length: 10 }, (_, index) => postPostmark(app, index % 2 === 0 ? delivery : bounce)),
    );
    expect(replies.map((reply) => reply.statusCode)).toEqual(Array(10).fill(200));
    expect(await storedEvents()).toHaveLength(2);
    expect(await rollupTotal()).toBe(2);
  });

  it('keeps deliveries of one message to different recipients, or at different times, apart', async () => {
    const first = deliveryPayload();
    await postPostmark(app, first);
    await postPostmark(app, { ...first, Recipient: 'someone.else@example.com' });
    await postPostmark(app, { ...first, DeliveredAt: '2026-11-24T11:59:10.0000000Z' });
    expect(await storedEvents()).toHaveLength(3);
  });

  it("keeps Postmark's 64-bit bounce IDs exact, so neighbouring IDs stay two events", async () => {
    for (const id of ['4323372036854775807', '4323372036854775806']) {
      const raw = JSON.stringify(bouncePayload({ ID: 0, Description: '' })).replace('"ID":0', `"ID":${id}`);
      const response = await app.app.inject({
        method: 'POST',
        url: '/webhooks/postmark/delivery',
        headers: {
          'content-type': 'application/json',
          'x-postmark-webhook-token': postmarkEnv.POSTMARK_DELIVERY_WEBHOOK_SECRET,
        },
        payload: raw,
      });
      expect(response.statusCode).toBe(200);
    }
    const rows = await storedEvents();
    expect(rows.map((row) => row.event_key)).toEqual([
      'Bounce:4323372036854775807',
      'Bounce:4323372036854775806',
    ]);
    expect(rows.map((row) => row.bounce_description)).toEqual(['', '']);
  });

  it('acknowledges other record types without storing them', async () => {
    for (const RecordType of ['Open', 'Click', 'SubscriptionChange', 'SomethingNew']) {
      const response = await postPostmark(app, {
        RecordType,
        MessageID: 'abc',
        Recipient: 'a@example.com',
      });
      expect(response.statusCode).toBe(200);
      expect(response.json()).toEqual({ ok: true, ignored: true });
    }
    expect(await storedEvents()).toEqual([]);
  });
});

describe('refusing bodies it cannot store', () => {
  it('answers 400 invalid_json to a body that is not JSON, or empty', async () => {
    for (const body of ['{"RecordType": "Delivery"', '']) {
      const response = await postPostmark(app, body);
      expect(response.statusCode).toBe(400);
      expect(response.json()).toEqual({ error: 'invalid_json', message: expect.any(String) });
    }
  });

  it('answers 400 invalid_payload without a RecordType', async () => {
    for (const body of [{}, { RecordType: '' }, { RecordType: 7 }, [], 'Delivery', null]) {
      const response = await postPostmark(app, JSON.stringify(body));
      expect(response.statusCode).toBe(400);
      expect(response.json()).toEqual({ error: 'invalid_payload', message: expect.any(String) });
    }
  });

  it('answers 400 invalid_payload when a Delivery lacks its identity, or a Bounce its ID', async () => {
    const { MessageID: _id, ...noMessageId } = deliveryPayload();
    const { ID: _bounceId, ...noBounceId } = bouncePayload();
    for (const body of [noMessageId, noBounceId, deliveryPayload({ Recipient: 5 })]) {
      const response = await postPostmark(app, body);
      expect(response.statusCode).toBe(400);
      expect(response.json()).toMatchObject({ error: 'invalid_payload' });
    }
    expect(await storedEvents()).toEqual([]);
  });
});

describe('when the database is down', () => {
  it('answers 503 so Postmark retries', async () => {
    const unreachable = await openDatabase({ kind: 'postgres', url: 'postgres://postgres@127.0.0.1:9/none' });
    const downApp = await startTestApp({ db: unreachable.db, env: postmarkEnv });
    try {
      const response = await postPostmark(downApp, deliveryPayload());
      expect(response.statusCode).toBe(503);
      expect(response.json()).toMatchObject({ error: 'database_unavailable' });
    } finally {
      await downApp.close();
      await unreachable.close();
    }
  });
});
