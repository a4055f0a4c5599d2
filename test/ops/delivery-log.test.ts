import { describe, expect, it, vi } from 'vitest';
import { pruneDeliveryLog } from '../../src/features/ops/deliveries.ts';
import { startTestApp } from '../support/app.ts';
import { truncate } from '../support/db.ts';
import { conversationPayload, freescoutDelivery } from '../support/freescout-delivery.ts';
import { bouncePayload, deliveryPayload, postmarkEnv, postPostmark } from '../support/postmark.ts';
import { useTestApp, useTestDatabase } from '../support/setup.ts';

const TOKEN = 'ops-internal-token-91bc';
const AUDIT_SECRET = 'audit-secret-delivery-log';
const AUTOLINK_SECRET = 'autolink-secret-delivery-log';
const AUDIT = '/api/internal/freescout-webhook/audit';
const auth = { authorization: `Bearer ${TOKEN}` };

const database = useTestDatabase({ truncateBeforeEach: ['delivery_log', 'freescout_ticket_cache'] });
const app = useTestApp(() => ({
  db: database.db,
  env: {
    INTERNAL_API_TOKEN: TOKEN,
    FLAG_FREESCOUT_WEBHOOK_RECEIVE: '1',
    FREESCOUT_AUDIT_WEBHOOK_SECRET: AUDIT_SECRET,
    FLAG_FREESCOUT_GITHUB_AUTOLINK: '1',
    FREESCOUT_WEBHOOK_SECRET: AUTOLINK_SECRET,
    FREESCOUT_API_USER_ID: '1',
    FREESCOUT_AUTOLINK_MAILBOX_IDS: '1',
    ...postmarkEnv,
  },
}));

function audit(body: unknown, options: Parameters<typeof freescoutDelivery>[1]) {
  const { payload, headers } = freescoutDelivery(body, options);
  return app.app.inject({ method: 'POST', url: AUDIT, payload, headers });
}

/** The log is written in batches after the answer: wait until `count` rows are in. */
async function loggedRows(count: number) {
  for (let waited = 0; waited < 5_000; waited += 25) {
    const rows = await database.db.selectFrom('delivery_log').selectAll().orderBy('id').execute();
    if (rows.length >= count) return rows;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`fewer than ${count} delivery_log rows after 5 s`);
}

/** A processed audit delivery as the log stores it, received at `received_at`. */
const logRow = (received_at: Date) => ({
  received_at,
  route: AUDIT,
  event: 'convo.status',
  delivery_id: null,
  status: 200,
  duration_ms: 1,
  outcome: 'processed' as const,
  detail: null,
});

async function listDeliveries(query: string) {
  const response = await app.app.inject({
    method: 'GET',
    url: `/api/_internal/deliveries${query}`,
    headers: auth,
  });
  return response;
}

describe('the delivery log', () => {
  it('records each audit webhook with its event, answer, duration and outcome', async () => {
    expect(
      (
        await audit(conversationPayload({ status: 'closed' }), {
          secret: AUDIT_SECRET,
          event: 'convo.status',
        })
      ).statusCode,
    ).toBe(200);
    expect((await audit({ id: 1 }, { secret: AUDIT_SECRET, event: 'customer.created' })).statusCode).toBe(
      200,
    );
    expect(
      (await audit(conversationPayload(), { secret: 'wrong-secret', event: 'convo.status' })).statusCode,
    ).toBe(401);
    expect((await audit({ id: 'x' }, { secret: AUDIT_SECRET, event: 'convo.status' })).statusCode).toBe(400);

    const rows = await loggedRows(4);
    expect(rows.map((row) => [row.route, row.event, row.status, row.outcome])).toEqual([
      [AUDIT, 'convo.status', 200, 'processed'],
      [AUDIT, 'customer.created', 200, 'ignored'],
      [AUDIT, 'convo.status', 401, 'rejected'],
      [AUDIT, 'convo.status', 400, 'rejected'],
    ]);
    expect(rows[0]?.detail).toContain('ticket_id=1042');
    expect(rows[1]?.detail).toBe('event not handled by this route');
    expect(rows[2]?.detail).toMatch(/^invalid_signature: /);
    expect(rows[3]?.detail).toMatch(/^invalid_payload: /);
    for (const row of rows) expect(Number(row.duration_ms)).toBeGreaterThanOrEqual(0);
  });

  it('records Postmark deliveries with the RecordType as event and the id Postmark gives', async () => {
    const bounce = bouncePayload();
    const delivery = deliveryPayload();
    expect((await postPostmark(app, bounce)).statusCode).toBe(200);
    expect((await postPostmark(app, delivery)).statusCode).toBe(200);
    expect((await postPostmark(app, { RecordType: 'Open', MessageID: 'm-1' })).statusCode).toBe(200);
    expect((await postPostmark(app, delivery, 'not-the-token')).statusCode).toBe(401);
    const rows = await loggedRows(4);
    expect(rows.map((row) => [row.route, row.event, row.delivery_id, row.status, row.outcome])).toEqual([
      ['/webhooks/postmark/delivery', 'Bounce', String(bounce.ID), 200, 'processed'],
      ['/webhooks/postmark/delivery', 'Delivery', delivery.MessageID, 200, 'processed'],
      ['/webhooks/postmark/delivery', 'Open', 'm-1', 200, 'ignored'],
      // Refused before its body is read, so nothing in it is known.
      ['/webhooks/postmark/delivery', null, null, 401, 'rejected'],
    ]);
    expect(rows[3]?.detail).toMatch(/^unauthorized: /);
  });

  it('records the autolink routes, 202 answers included', async () => {
    const { payload, headers } = freescoutDelivery(conversationPayload({ id: 77 }), {
      secret: AUTOLINK_SECRET,
      event: 'convo.created',
    });
    const response = await app.app.inject({
      method: 'POST',
      url: '/api/webhooks/freescout/support',
      payload,
      headers,
    });
    expect(response.statusCode).toBe(202);
    const [row] = await loggedRows(1);
    expect(row).toMatchObject({
      route: '/api/webhooks/freescout/support',
      event: 'convo.created',
      status: 202,
      outcome: 'accepted',
      detail: `delivery_id=${response.json().delivery_id}`,
    });
  });

  it('is listed newest first, filtered by route and by status code or class', async () => {
    await audit(conversationPayload(), { secret: AUDIT_SECRET, event: 'convo.status' });
    await audit(conversationPayload(), { secret: 'wrong', event: 'convo.status' });
    await postPostmark(app, deliveryPayload());
    await loggedRows(3);

    const all = await listDeliveries('');
    expect(all.statusCode).toBe(200);
    expect(all.json().deliveries.map((row: { status: number }) => row.status)).toEqual([200, 401, 200]);
    const byRoute = (await listDeliveries(`?route=${encodeURIComponent(AUDIT)}`)).json().deliveries;
    expect(byRoute).toHaveLength(2);
    const refused = (await listDeliveries('?status=4xx')).json().deliveries;
    expect(refused).toEqual([
      expect.objectContaining({ route: AUDIT, status: 401, outcome: 'rejected', event: 'convo.status' }),
    ]);
    expect((await listDeliveries('?status=200&limit=1')).json().deliveries).toHaveLength(1);
    expect((await listDeliveries('?status=rejected')).json().deliveries).toHaveLength(1);
    expect(refused[0].received_at).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it('answers bad filters with 400 and refuses callers without the token', async () => {
    for (const query of ['?status=abc', '?status=600', '?limit=0', '?limit=501', '?limit=x']) {
      const response = await listDeliveries(query);
      expect(response.statusCode, query).toBe(400);
      expect(response.json()).toHaveProperty('error');
    }
    const anonymous = await app.app.inject({ method: 'GET', url: '/api/_internal/deliveries' });
    expect(anonymous.statusCode).toBe(401);
  });

  it('prunes rows older than the retention in batches and keeps the rest', async () => {
    const now = new Date('2026-11-25T12:00:00Z');
    const rows = Array.from({ length: 25 }, (_, index) =>
      logRow(new Date(now.getTime() - (index < 20 ? 20 : 1) * 86_400_000)),
    );
    await database.db.insertInto('delivery_log').values(rows).execute();
    const pruned = await pruneDeliveryLog(
      { db: database.db, clock: { now: () => now } },
      { retentionDays: 14, batchSize: 7 },
    );
    expect(pruned).toBe(20);
    const left = await database.db.selectFrom('delivery_log').select('received_at').execute();
    expect(left).toHaveLength(5);
  });
});

describe('reading the log right after a delivery', () => {
  it('lists the delivery this instance just answered, without waiting for the batch timer', async () => {
    await truncate(database, 'delivery_log');
    await audit(conversationPayload(), { secret: AUDIT_SECRET, event: 'convo.status' });
    const listed = (await listDeliveries('?limit=5')).json().deliveries;
    expect(listed).toEqual([expect.objectContaining({ route: AUDIT, status: 200, event: 'convo.status' })]);
  });
});

describe('the delivery log retention job', () => {
  it('prunes in the background once the app runs its background jobs, and holds its lease meanwhile', async () => {
    const now = new Date();
    const at = (days: number) => logRow(new Date(now.getTime() - days * 86_400_000));
    await database.db
      .insertInto('delivery_log')
      .values([at(15), at(15), at(2)])
      .execute();
    const background = await startTestApp({
      db: database.db,
      backgroundJobs: true,
      env: { DELIVERY_LOG_RETENTION_DAYS: '14' },
    });
    try {
      await vi.waitFor(async () => {
        const left = await database.db.selectFrom('delivery_log').select('id').execute();
        expect(left).toHaveLength(1);
      });
      const lease = await database.db
        .selectFrom('job_lease')
        .select('name')
        .where('name', '=', 'delivery-log-retention')
        .execute();
      expect(lease).toHaveLength(1);
    } finally {
      await background.close();
    }
  });
});

describe('the delivery log switched off', () => {
  it('records nothing with DELIVERY_LOG_RETENTION_DAYS=0', async () => {
    const quiet = await startTestApp({
      db: database.db,
      env: {
        FLAG_FREESCOUT_WEBHOOK_RECEIVE: '1',
        FREESCOUT_AUDIT_WEBHOOK_SECRET: AUDIT_SECRET,
        DELIVERY_LOG_RETENTION_DAYS: '0',
      },
    });
    const { payload, headers } = freescoutDelivery(conversationPayload(), {
      secret: AUDIT_SECRET,
      event: 'convo.status',
    });
    expect((await quiet.app.inject({ method: 'POST', url: AUDIT, payload, headers })).statusCode).toBe(200);
    await quiet.close();
    const rows = await database.db.selectFrom('delivery_log').selectAll().execute();
    expect(rows).toHaveLength(0);
  });
});
