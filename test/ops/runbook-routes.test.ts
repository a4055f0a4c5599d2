import { beforeEach, describe, expect, it } from 'vitest';
import { createClients } from '../../src/clients/index.ts';
import { loadConfig } from '../../src/config.ts';
import { manualClock, startTestApp } from '../support/app.ts';
import { startFakeFreeScout } from '../support/fake-freescout.ts';
import { useCloseAfterTest, useFixture, useTestApp, useTestDatabase } from '../support/setup.ts';

const TOKEN = 'runbook-routes-token-5c1a';
const API_KEY = 'runbook-routes-freescout-key';
const NOW = new Date('2026-11-25T12:00:00Z');
const auth = { authorization: `Bearer ${TOKEN}` };

const database = useTestDatabase({
  truncateBeforeEach: ['freescout_ticket_cache', 'freescout_webhook_registration'],
});
const freescout = useFixture(() => startFakeFreeScout({ apiKey: API_KEY }));
beforeEach(() => freescout.reset());
const app = useTestApp(() => {
  const env = {
    INTERNAL_API_TOKEN: TOKEN,
    FREESCOUT_API_URL: freescout.url,
    FREESCOUT_API_KEY: API_KEY,
    FREESCOUT_AUTOLINK_MAILBOX_IDS: '3',
  };
  return { db: database.db, clock: manualClock(NOW), env, clients: createClients(loadConfig(env)) };
});
const closeAfter = useCloseAfterTest();

const minutesAgo = (minutes: number) => new Date(NOW.getTime() - minutes * 60_000);

async function seedCache() {
  await database.db
    .insertInto('freescout_ticket_cache')
    .values([
      {
        ticket_id: 1042,
        status: 'closed',
        source: 'webhook',
        updated_at: minutesAgo(2),
        refreshed_at: minutesAgo(1),
        ttl_expires: minutesAgo(-60),
      },
      {
        ticket_id: 7,
        status: 'active',
        source: 'poll',
        updated_at: minutesAgo(90),
        refreshed_at: minutesAgo(30),
        ttl_expires: minutesAgo(5),
      },
    ])
    .execute();
}

describe('GET /api/_internal/freescout/ticket-cache', () => {
  it('answers one ticket’s row with its ages on the server’s clock', async () => {
    await seedCache();
    const response = await app.app.inject({
      url: '/api/_internal/freescout/ticket-cache?ticket_id=1042',
      headers: auth,
    });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      now: NOW.toISOString(),
      tickets: [
        {
          ticket_id: 1042,
          status: 'closed',
          source: 'webhook',
          updated_at: minutesAgo(2).toISOString(),
          refreshed_at: minutesAgo(1).toISOString(),
          ttl_expires: minutesAgo(-60).toISOString(),
          expired: false,
          updated_age_seconds: 120,
          refreshed_age_seconds: 60,
        },
      ],
    });
  });

  it('lists the newest rows by FreeScout’s updatedAt, saying which have expired', async () => {
    await seedCache();
    const response = await app.app.inject({
      url: '/api/_internal/freescout/ticket-cache?limit=5',
      headers: auth,
    });
    expect(
      response
        .json()
        .tickets.map((row: { ticket_id: number; expired: boolean }) => [row.ticket_id, row.expired]),
    ).toEqual([
      [1042, false],
      [7, true],
    ]);
  });

  it('refuses a bad ticket id or limit with 400, and a caller without credentials with 401', async () => {
    for (const query of ['ticket_id=abc', 'ticket_id=0', 'ticket_id=99999999999', 'limit=501']) {
      const response = await app.app.inject({
        url: `/api/_internal/freescout/ticket-cache?${query}`,
        headers: auth,
      });
      expect(response.statusCode, query).toBe(400);
    }
    const anonymous = await app.app.inject({ url: '/api/_internal/freescout/ticket-cache' });
    expect(anonymous.statusCode).toBe(401);
  });
});

describe('PUT and DELETE /api/_internal/freescout/webhooks/{feature}', () => {
  it('registers the feature’s webhook, replaces it on a second PUT, and removes it', async () => {
    const put = () =>
      app.app.inject({
        method: 'PUT',
        url: '/api/_internal/freescout/webhooks/autolink',
        headers: auth,
        payload: { public_base: 'https://api.raxx.test/' },
      });
    const first = await put();
    expect(first.statusCode).toBe(200);
    const [webhook] = freescout.state.webhooks();
    // No mailbox limit is sent: FreeScout's API ignores one and the webhook fires for every mailbox.
    expect(webhook).toEqual({
      id: expect.any(Number),
      url: 'https://api.raxx.test/api/webhooks/freescout/ops',
      events: expect.arrayContaining(['convo.created']),
    });
    const [create] = freescout.requests.filter((request) => request.method === 'POST');
    expect(create?.body).not.toHaveProperty('mailboxes');
    expect(first.json()).toMatchObject({
      feature: 'autolink',
      webhook_id: webhook?.id,
      url: webhook?.url,
      events: expect.arrayContaining(['convo.created']),
      replaced: null,
    });

    const second = await put();
    expect(second.json()).toMatchObject({ replaced: { webhook_id: webhook?.id, deleted: true } });
    expect(freescout.state.webhooks()).toHaveLength(1);

    const removed = await app.app.inject({
      method: 'DELETE',
      url: '/api/_internal/freescout/webhooks/autolink',
      headers: auth,
    });
    expect(removed.statusCode).toBe(200);
    expect(removed.json()).toEqual({
      feature: 'autolink',
      removed: { webhook_id: second.json().webhook_id, url: webhook?.url, deleted: true },
    });
    expect(freescout.state.webhooks()).toEqual([]);
    const again = await app.app.inject({
      method: 'DELETE',
      url: '/api/_internal/freescout/webhooks/autolink',
      headers: auth,
    });
    expect(again.json()).toEqual({ feature: 'autolink', removed: null });
  });

  it('refuses an unknown feature or a base that is not http(s) with 400, calling nothing', async () => {
    for (const [url, payload] of [
      ['/api/_internal/freescout/webhooks/postmark', { public_base: 'https://api.raxx.test' }],
      ['/api/_internal/freescout/webhooks/audit', { public_base: 'ftp://api.raxx.test' }],
      ['/api/_internal/freescout/webhooks/audit', {}],
    ] as const) {
      const response = await app.app.inject({ method: 'PUT', url, headers: auth, payload });
      expect(response.statusCode, url).toBe(400);
    }
    expect(freescout.requests).toHaveLength(0);
  });

  it('answers 503 not_configured, naming the variables, on a server without FreeScout', async () => {
    const bare = closeAfter(await startTestApp({ db: database.db, env: { INTERNAL_API_TOKEN: TOKEN } }));
    const response = await bare.app.inject({
      method: 'PUT',
      url: '/api/_internal/freescout/webhooks/audit',
      headers: auth,
      payload: { public_base: 'https://api.raxx.test' },
    });
    expect(response.statusCode).toBe(503);
    expect(response.json()).toEqual({
      error: 'not_configured',
      message: 'FREESCOUT_API_URL and FREESCOUT_API_KEY are not set',
    });
  });

  it('is declared in the OpenAPI document with its schemas and the internal security', async () => {
    const document = (await app.app.inject({ url: '/docs/openapi.json' })).json();
    const cache = document.paths['/api/_internal/freescout/ticket-cache'].get;
    expect(cache.security).toEqual([{ internalToken: [] }, { cfAccess: [] }]);
    expect(cache.parameters.map((parameter: { name: string }) => parameter.name)).toEqual([
      'ticket_id',
      'limit',
    ]);
    expect(cache.responses['200'].content['application/json'].schema.properties).toHaveProperty('tickets');
    const webhooks = document.paths['/api/_internal/freescout/webhooks/{feature}'];
    expect(webhooks.put.requestBody.content['application/json'].schema.required).toEqual(['public_base']);
    expect(Object.keys(webhooks.put.responses)).toEqual(
      expect.arrayContaining(['200', '400', '401', '502', '503']),
    );
    expect(webhooks.delete.responses['200'].content['application/json'].schema.properties).toHaveProperty(
      'removed',
    );
  });
});
