import { beforeEach, describe, expect, it, vi } from 'vitest';
import { createSlackClient } from '../../src/clients/slack.ts';
import { loadConfig } from '../../src/config.ts';
import { deliverSecurityNotifications } from '../../src/features/freescout-webhooks/notifications.ts';
import type { ServiceDeps } from '../../src/lib/deps.ts';
import { manualClock, startTestApp } from '../support/app.ts';
import { startFakeSlack } from '../support/fake-slack.ts';
import { useFixture, useTestApp, useTestDatabase } from '../support/setup.ts';

const URL = '/api/internal/audit/operator-interactions';
const CHANNEL = 'D0AJ7K184TV';

const clock = manualClock();
const database = useTestDatabase({
  truncateBeforeEach: ['security_notification', 'operator_interaction_audit', 'freescout_ticket_cache'],
});
const slack = useFixture(() => startFakeSlack({ token: 'xoxb-test' }));
const app = useTestApp(() => ({
  db: database.db,
  clock,
  env: {
    FLAG_FREESCOUT_WEBHOOK_RECEIVE: '1',
    FREESCOUT_AUDIT_WEBHOOK_SECRET: 'audit-secret',
    SLACK_BOT_TOKEN: 'xoxb-test',
    SLACK_API_URL: slack.url,
    FREESCOUT_PUBLIC_URL: 'https://tickets.example.test',
  },
}));
beforeEach(() => slack.reset());

async function cacheTicket(ticketId: number, status: string, ttlMs = 3600_000) {
  await database.db
    .insertInto('freescout_ticket_cache')
    .values({
      ticket_id: ticketId,
      status: status as 'active',
      updated_at: clock.now(),
      ttl_expires: new Date(clock.now().getTime() + ttlMs),
      refreshed_at: clock.now(),
      source: 'webhook',
    })
    .execute();
}

const record = (body: Record<string, unknown>) => app.app.inject({ method: 'POST', url: URL, payload: body });
const notifications = () =>
  database.db.selectFrom('security_notification').selectAll().orderBy('id').execute();

describe('ticket_state_at_read', () => {
  it.each(['active', 'pending'])('is path A for an %s ticket, with no notification', async (status) => {
    await cacheTicket(7, status);
    const response = await record({
      operator_id: 'op-1',
      ticket_id: 7,
      action: 'view_pii',
      resource: 'user/5',
    });
    expect(response.statusCode).toBe(201);
    expect(response.json()).toEqual({ id: expect.any(Number), ticket_state_at_read: status, path: 'A' });
    expect(await notifications()).toHaveLength(0);
  });

  it.each(['closed', 'spam', 'deleted'])('is path B for a %s ticket', async (status) => {
    await cacheTicket(7, status);
    const response = await record({ operator_id: 'op-1', ticket_id: 7, action: 'view_pii' });
    expect(response.json()).toMatchObject({ ticket_state_at_read: status, path: 'B' });
  });

  it('fails closed to none when the ticket is not cached', async () => {
    const response = await record({ operator_id: 'op-1', ticket_id: 404, action: 'view_pii' });
    expect(response.statusCode).toBe(201);
    expect(response.json()).toMatchObject({ ticket_state_at_read: 'none', path: 'B' });
  });

  it('fails closed to none when the cached row has expired', async () => {
    await cacheTicket(7, 'active', -1);
    const response = await record({ operator_id: 'op-1', ticket_id: 7, action: 'view_pii' });
    expect(response.json()).toMatchObject({ ticket_state_at_read: 'none', path: 'B' });
  });

  it('stores the audit event as it was read', async () => {
    await cacheTicket(7, 'pending');
    const { id } = (await record({ operator_id: 'op-9', ticket_id: 7, action: 'export' })).json();
    const row = await database.db
      .selectFrom('operator_interaction_audit')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    expect(row).toMatchObject({
      operator_id: 'op-9',
      ticket_id: 7,
      action: 'export',
      resource: null,
      ticket_state_at_read: 'pending',
      path: 'A',
    });
  });
});

describe('path B security notification', () => {
  it('is persisted and delivered to the operator on Slack', async () => {
    await record({ operator_id: 'op-1', ticket_id: 55, action: 'view_pii', resource: 'user/5' });
    await vi.waitFor(() => expect(slack.state.messages).toHaveLength(1));
    const [message] = slack.state.messages;
    expect(message?.channel).toBe(CHANNEL);
    expect(message?.text).toContain('op-1');
    expect(message?.text).toContain('https://tickets.example.test/conversation/55');
    await vi.waitFor(async () => expect((await notifications())[0]?.delivered_at).not.toBeNull());
  });

  it('survives Slack being down and is delivered once Slack accepts it', async () => {
    slack.failNext({ status: 500 }, { times: 1 });
    await record({ operator_id: 'op-1', ticket_id: 56, action: 'view_pii' });
    await vi.waitFor(async () => expect((await notifications())[0]?.last_error).toMatch(/500/));
    const [pending] = await notifications();
    expect(pending).toMatchObject({ attempts: 1, delivered_at: null });

    const slackClient = createSlackClient({ apiUrl: slack.url, token: 'xoxb-test' });
    const deps: ServiceDeps = {
      config: loadConfig({ SLACK_OPERATOR_DM_CHANNEL: CHANNEL }),
      db: database.db,
      clients: { slack: slackClient },
      clock,
      log: app.app.log,
    };
    expect(await deliverSecurityNotifications(deps)).toEqual({ delivered: 0, failed: 0 });
    clock.advance(60_000);
    expect(await deliverSecurityNotifications(deps)).toEqual({ delivered: 1, failed: 0 });
    expect(await deliverSecurityNotifications(deps)).toEqual({ delivered: 0, failed: 0 });
    await slackClient.close();
    expect(slack.state.messages).toHaveLength(1);
  });

  it('keeps notifications pending while no Slack token is configured', async () => {
    const noSlack = await startTestApp({
      db: database.db,
      clock,
      env: { FLAG_FREESCOUT_WEBHOOK_RECEIVE: '1' },
    });
    await noSlack.app.inject({
      method: 'POST',
      url: URL,
      payload: { operator_id: 'op-1', ticket_id: 57, action: 'x' },
    });
    await noSlack.close();
    const [pending] = await notifications();
    expect(pending).toMatchObject({ attempts: 0, delivered_at: null });
  });
});

describe('input', () => {
  it.each([
    [{ ticket_id: 1, action: 'x' }],
    [{ operator_id: 'op', ticket_id: '1', action: 'x' }],
    [{ operator_id: 'op', ticket_id: -1, action: 'x' }],
    [{ operator_id: '', ticket_id: 1, action: 'x' }],
    [{ operator_id: 'op', ticket_id: 1 }],
  ])('answers 400 invalid_payload and writes nothing for %j', async (body) => {
    const response = await record(body);
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ error: 'invalid_payload' });
    expect(await database.db.selectFrom('operator_interaction_audit').selectAll().execute()).toHaveLength(0);
  });

  it('answers 404 while the audit flag is off', async () => {
    const off = await startTestApp({ db: database.db });
    const response = await off.app.inject({
      method: 'POST',
      url: URL,
      payload: { operator_id: 'o', ticket_id: 1, action: 'x' },
    });
    await off.close();
    expect(response.statusCode).toBe(404);
  });
});
