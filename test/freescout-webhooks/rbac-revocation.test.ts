import { describe, expect, it } from 'vitest';
import { manualClock, startTestApp } from '../support/app.ts';
import { conversationPayload, freescoutDelivery } from '../support/freescout-delivery.ts';
import { useTestApp, useTestDatabase } from '../support/setup.ts';

const AUDIT_SECRET = 'audit-secret-aa';
const RBAC_SECRET = 'rbac-secret-bb';
const WEBHOOK = '/api/internal/freescout-webhook/rbac';
const GRANTS = '/api/internal/rbac/grants';

const clock = manualClock();
const database = useTestDatabase({ truncateBeforeEach: ['rbac_access_grant', 'freescout_ticket_cache'] });
const app = useTestApp(() => ({
  db: database.db,
  clock,
  env: {
    FLAG_FREESCOUT_RBAC_REVOKE: '1',
    FREESCOUT_AUDIT_WEBHOOK_SECRET: AUDIT_SECRET,
    FREESCOUT_RBAC_WEBHOOK_SECRET: RBAC_SECRET,
  },
}));

function deliver(body: unknown, event = 'convo.status', secret = RBAC_SECRET) {
  const { payload, headers } = freescoutDelivery(body, { secret, event });
  return app.app.inject({ method: 'POST', url: WEBHOOK, payload, headers });
}

const grant = (body: Record<string, unknown>) =>
  app.app.inject({ method: 'POST', url: GRANTS, payload: body });
const listGrants = async (query: string) =>
  (await app.app.inject({ url: `${GRANTS}?${query}` })).json().grants;

async function openTicket(id: number, updatedAt = '2026-11-24T10:00:00Z') {
  expect((await deliver(conversationPayload({ id, status: 'active', updatedAt }))).statusCode).toBe(200);
}

describe('grants', () => {
  it('grants access under an open ticket and lists it', async () => {
    await openTicket(10);
    const response = await grant({ operator_id: 'op-1', ticket_id: 10, scope: 'billing:read' });
    expect(response.statusCode).toBe(201);
    expect(response.json()).toMatchObject({
      id: expect.any(Number),
      operator_id: 'op-1',
      ticket_id: 10,
      scope: 'billing:read',
      revoked_at: null,
      revoke_reason: null,
      expires_at: null,
      active: true,
    });
    expect(await listGrants('operator_id=op-1&active=true')).toHaveLength(1);
    expect(await listGrants('operator_id=op-2&active=true')).toHaveLength(0);
  });

  it('refuses with 409 ticket_not_open for a closed or unknown ticket', async () => {
    await deliver(conversationPayload({ id: 11, status: 'closed' }));
    for (const ticket_id of [11, 999]) {
      const response = await grant({ operator_id: 'op-1', ticket_id, scope: 's' });
      expect(response.statusCode).toBe(409);
      expect(response.json()).toMatchObject({ error: 'ticket_not_open' });
    }
    expect(await listGrants('operator_id=op-1')).toHaveLength(0);
  });

  it('lists an expired grant as inactive', async () => {
    await openTicket(12);
    await grant({
      operator_id: 'op-1',
      ticket_id: 12,
      scope: 's',
      expires_at: new Date(clock.now().getTime() + 50).toISOString(),
    });
    clock.advance(80);
    expect(await listGrants('operator_id=op-1&active=true')).toHaveLength(0);
    expect(await listGrants('operator_id=op-1&active=false')).toHaveLength(1);
  });

  it.each([
    [{ operator_id: 'op', ticket_id: 1 }],
    [{ operator_id: 'op', ticket_id: 'one', scope: 's' }],
    [{ operator_id: 'op', ticket_id: 1, scope: 's', expires_at: 'tomorrow' }],
    [{ operator_id: 'op', ticket_id: 1, scope: 's', expires_at: '2020-01-01T00:00:00Z' }],
  ])('answers 400 invalid_payload to %j', async (body) => {
    const response = await grant(body);
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ error: 'invalid_payload' });
  });
});

describe('revocation by the rbac webhook', () => {
  it.each([
    [
      'closed',
      conversationPayload({ id: 20, status: 'closed', updatedAt: '2026-11-24T11:00:00Z' }),
      'convo.status',
      'ticket_closed',
    ],
    [
      'spam',
      conversationPayload({ id: 20, status: 'spam', updatedAt: '2026-11-24T11:00:00Z' }),
      'convo.status',
      'ticket_spam',
    ],
    ['deleted', { id: 20 }, 'convo.deleted', 'ticket_deleted'],
  ])('revokes every active grant when the ticket is %s', async (_status, body, event, reason) => {
    await openTicket(20);
    await openTicket(21);
    for (const operator of ['op-1', 'op-2', 'op-3'])
      await grant({ operator_id: operator, ticket_id: 20, scope: 's' });
    await grant({ operator_id: 'op-1', ticket_id: 21, scope: 's' });

    const response = await deliver(body, event);
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ ok: true, revoked: 3 });
    const rows = await database.db
      .selectFrom('rbac_access_grant')
      .selectAll()
      .where('ticket_id', '=', 20)
      .execute();
    expect(rows.every((row) => row.revoked_at !== null && row.revoke_reason === reason)).toBe(true);
    expect(await listGrants('operator_id=op-1&active=true')).toEqual([
      expect.objectContaining({ ticket_id: 21 }),
    ]);
  });

  it('revokes nothing more when the close is delivered again', async () => {
    await openTicket(30);
    await grant({ operator_id: 'op-1', ticket_id: 30, scope: 's' });
    const close = conversationPayload({ id: 30, status: 'closed', updatedAt: '2026-11-24T11:00:00Z' });
    expect((await deliver(close)).json()).toEqual({ ok: true, revoked: 1 });
    const [first] = await database.db.selectFrom('rbac_access_grant').select('revoked_at').execute();
    expect((await deliver(close)).json()).toEqual({ ok: true, revoked: 0 });
    const [second] = await database.db.selectFrom('rbac_access_grant').select('revoked_at').execute();
    expect(second).toEqual(first);
  });

  it('leaves grants alone while the ticket stays open, and ignores customer events', async () => {
    await openTicket(31);
    await grant({ operator_id: 'op-1', ticket_id: 31, scope: 's' });
    expect(
      (
        await deliver(conversationPayload({ id: 31, status: 'pending', updatedAt: '2026-11-24T11:00:00Z' }))
      ).json(),
    ).toEqual({ ok: true, revoked: 0 });
    expect((await deliver({ id: 5, email: 'x@example.com' }, 'customer.updated')).json()).toEqual({
      ok: true,
      ignored: true,
    });
    expect(await listGrants('operator_id=op-1&active=true')).toHaveLength(1);
  });

  it('does not let a late close from before a reopen revoke grants made after it', async () => {
    await openTicket(32, '2026-11-24T12:00:00Z');
    await grant({ operator_id: 'op-1', ticket_id: 32, scope: 's' });
    const staleClose = conversationPayload({ id: 32, status: 'closed', updatedAt: '2026-11-24T11:00:00Z' });
    expect((await deliver(staleClose)).json()).toEqual({ ok: true, revoked: 0 });
    expect(await listGrants('operator_id=op-1&active=true')).toHaveLength(1);
  });

  it('uses its own secret, and answers 401 to the audit secret', async () => {
    const response = await deliver(conversationPayload({ id: 33 }), 'convo.status', AUDIT_SECRET);
    expect(response.statusCode).toBe(401);
  });

  it('falls back to the audit secret when no rbac secret is set', async () => {
    const shared = await startTestApp({
      db: database.db,
      env: { FLAG_FREESCOUT_RBAC_REVOKE: '1', FREESCOUT_AUDIT_WEBHOOK_SECRET: AUDIT_SECRET },
    });
    const { payload, headers } = freescoutDelivery(conversationPayload({ id: 34 }), {
      secret: AUDIT_SECRET,
      event: 'convo.status',
    });
    const response = await shared.app.inject({ method: 'POST', url: WEBHOOK, payload, headers });
    await shared.close();
    expect(response.statusCode).toBe(200);
  });

  it('answers 404 while the rbac flag is off', async () => {
    const off = await startTestApp({
      db: database.db,
      env: { FREESCOUT_RBAC_WEBHOOK_SECRET: RBAC_SECRET },
    });
    const { payload, headers } = freescoutDelivery(conversationPayload(), {
      secret: RBAC_SECRET,
      event: 'convo.status',
    });
    expect((await off.app.inject({ method: 'POST', url: WEBHOOK, payload, headers })).statusCode).toBe(404);
    expect((await off.app.inject({ url: `${GRANTS}?active=true` })).statusCode).toBe(404);
    await off.close();
  });
});
