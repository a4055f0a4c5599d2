import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { sql } from 'kysely';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.ts';
import { openTestDatabase, type TestDatabase } from '../support/db.ts';
import { sign } from '../support/freescout-delivery.ts';

const SECRET = 'bad-input-secret';
const POSTMARK_TOKEN = 'bad-input-postmark-token';

interface RouteUnderTest {
  name: string;
  url: string;
  /** Tables whose row counts must not move when the route refuses a request. */
  tables: string[];
  headers: (raw: Buffer) => Record<string, string>;
}

const freescoutSigned = (raw: Buffer) => ({
  'x-freescout-event': 'convo.status',
  'x-freescout-signature': sign(raw, SECRET),
});

const ROUTES: RouteUnderTest[] = [
  {
    name: 'audit webhook',
    url: '/api/internal/freescout-webhook/audit',
    tables: ['freescout_ticket_cache'],
    headers: freescoutSigned,
  },
  {
    name: 'rbac webhook',
    url: '/api/internal/freescout-webhook/rbac',
    tables: ['freescout_ticket_cache', 'rbac_access_grant'],
    headers: freescoutSigned,
  },
  {
    name: 'operator interactions',
    url: '/api/internal/audit/operator-interactions',
    tables: ['operator_interaction_audit', 'security_notification'],
    headers: () => ({}),
  },
  {
    name: 'rbac grants',
    url: '/api/internal/rbac/grants',
    tables: ['rbac_access_grant'],
    headers: () => ({}),
  },
  {
    name: 'postmark webhook',
    url: '/webhooks/postmark/delivery',
    tables: ['postmark_event', 'postmark_event_rollup'],
    headers: () => ({ 'x-postmark-webhook-token': POSTMARK_TOKEN }),
  },
  {
    name: 'autolink webhook',
    url: '/api/webhooks/freescout/ops',
    tables: ['autolink_delivery'],
    headers: (raw) => ({ 'x-freescout-event': 'convo.created', 'x-freescout-signature': sign(raw, SECRET) }),
  },
  {
    name: 'GitHub sync webhook',
    url: '/api/webhooks/github',
    tables: ['github_sync_delivery'],
    headers: (raw) => ({
      'x-github-event': 'issues',
      'x-github-delivery': 'bad-input',
      'x-hub-signature-256': `sha256=${createHmac('sha256', SECRET).update(raw).digest('hex')}`,
    }),
  },
  {
    name: 'investigate',
    url: '/api/console/status/investigate',
    tables: ['investigate_ticket', 'investigate_attempt'],
    headers: () => ({}),
  },
];

const deepArray = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
const CORPUS: Array<[string, Buffer]> = [
  ['an empty body', Buffer.from('')],
  ['truncated JSON', Buffer.from('{"id": 1042, "status": "clo')],
  ['a lone brace', Buffer.from('{')],
  ['null', Buffer.from('null')],
  ['an array', Buffer.from('[1, 2, 3]')],
  ['a string', Buffer.from('"closed"')],
  ['a number', Buffer.from('1042')],
  [
    'numbers as strings',
    Buffer.from(
      '{"id": "1042", "status": "closed", "operator_id": 7, "ticket_id": "9", "action": 1, "scope": 2}',
    ),
  ],
  [
    'control characters',
    Buffer.from(
      '{"id": 1, "status": "\u0000\u0007\u001b[31m", "operator_id": "\u0000", "ticket_id": 1, "action": ""}',
    ),
  ],
  ['invalid UTF-8', Buffer.from([0x7b, 0x22, 0x69, 0x64, 0x22, 0x3a, 0xff, 0xfe, 0x7d])],
  ['deeply nested JSON', Buffer.from(deepArray)],
  ['a body over 1 MiB', Buffer.from(`{"pad":"${'x'.repeat(1024 * 1024)}"}`)],
];

let database: TestDatabase;
let app: TestApp;

beforeAll(async () => {
  database = await openTestDatabase();
  app = await startTestApp({
    db: database.db,
    listen: true,
    env: {
      FLAG_FREESCOUT_WEBHOOK_RECEIVE: '1',
      FLAG_FREESCOUT_RBAC_REVOKE: '1',
      FREESCOUT_AUDIT_WEBHOOK_SECRET: SECRET,
      FLAG_FREESCOUT_GITHUB_AUTOLINK: '1',
      FREESCOUT_WEBHOOK_SECRET: SECRET,
      FLAG_POSTMARK_DELIVERY_MONITOR: '1',
      POSTMARK_DELIVERY_WEBHOOK_SECRET: POSTMARK_TOKEN,
      FLAG_CONSOLE_INVESTIGATE_FROM_STATUS: '1',
      FLAG_GITHUB_FREESCOUT_SYNC: '1',
      GITHUB_WEBHOOK_SECRET: SECRET,
      GITHUB_REPO: 'raxx-app/TradeMasterAPI',
      // Never reached: every body here is refused before FreeScout would be called.
      FREESCOUT_API_URL: 'http://127.0.0.1:9',
      FREESCOUT_API_KEY: 'unused',
      FREESCOUT_OPERATIONS_MAILBOX_ID: '2',
    },
  });
});
afterAll(async () => {
  await app.close();
  await database.close();
});

async function rowCounts(tables: string[]): Promise<number[]> {
  return Promise.all(
    tables.map(async (table) => {
      const { rows } = await sql<{
        count: number;
      }>`select count(*)::int as count from ${sql.table(table)}`.execute(database.db);
      return rows[0]?.count ?? 0;
    }),
  );
}

function expectJsonClientError(status: number, body: unknown) {
  expect(status).toBeGreaterThanOrEqual(400);
  expect(status).toBeLessThan(500);
  expect(body).toEqual({ error: expect.stringMatching(/^[a-z_]+$/), message: expect.any(String) });
}

describe.each(ROUTES)('$name', (route) => {
  it.each(CORPUS)('refuses %s with a 4xx JSON error and writes nothing', async (_case, raw) => {
    const before = await rowCounts(route.tables);
    const response = await app.app.inject({
      method: 'POST',
      url: route.url,
      payload: raw,
      headers: { 'content-type': 'application/json', ...route.headers(raw) },
    });
    expectJsonClientError(response.statusCode, response.json());
    expect(await rowCounts(route.tables)).toEqual(before);
  });

  it.each([
    'text/plain',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x',
    'application/xml',
  ])('refuses content type %s', async (contentType) => {
    const raw = Buffer.from('{"id": 1, "status": "closed"}');
    const response = await app.app.inject({
      method: 'POST',
      url: route.url,
      payload: raw,
      headers: { 'content-type': contentType, ...route.headers(raw) },
    });
    expectJsonClientError(response.statusCode, response.json());
  });

  it('never answers 5xx to arbitrary JSON, and writes nothing when it refuses (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue({ maxDepth: 4 }), async (value) => {
        const raw = Buffer.from(JSON.stringify(value) ?? 'null');
        const before = await rowCounts(route.tables);
        const response = await app.app.inject({
          method: 'POST',
          url: route.url,
          payload: raw,
          headers: { 'content-type': 'application/json', ...route.headers(raw) },
        });
        expect(response.statusCode).toBeLessThan(500);
        if (response.statusCode >= 400) {
          expectJsonClientError(response.statusCode, response.json());
          expect(await rowCounts(route.tables)).toEqual(before);
        }
      }),
      { numRuns: 60 },
    );
  });
});

describe('headers on a real socket', () => {
  const url = () => `${app.url}/api/internal/freescout-webhook/audit`;
  const raw = Buffer.from('{"id": 77, "status": "closed", "updatedAt": "2026-11-24T10:00:00Z"}');

  it('refuses a duplicated signature header', async () => {
    const response = await request(url(), {
      method: 'POST',
      body: raw,
      headers: [
        'content-type',
        'application/json',
        'x-freescout-event',
        'convo.status',
        'x-freescout-signature',
        sign(raw, SECRET),
        'x-freescout-signature',
        sign(raw, SECRET),
      ],
    });
    expectJsonClientError(response.statusCode, await response.body.json());
  });

  it('refuses an oversized signature header with a JSON 431', async () => {
    const response = await request(url(), {
      method: 'POST',
      body: raw,
      headers: { 'content-type': 'application/json', 'x-freescout-signature': 'A'.repeat(20_000) },
    });
    expect(response.statusCode).toBe(431);
    expect(await response.body.json()).toEqual({ error: 'headers_too_large', message: expect.any(String) });
  });

  it('refuses a signature made over other bytes than those sent', async () => {
    const response = await request(url(), {
      method: 'POST',
      body: raw,
      headers: {
        'content-type': 'application/json',
        'x-freescout-event': 'convo.status',
        'x-freescout-signature': sign(Buffer.from(`${raw} `), SECRET),
      },
    });
    expect(response.statusCode).toBe(401);
    await response.body.dump();
  });
});

describe('query strings on the GET routes', () => {
  const GET_ROUTES = [
    '/api/_internal/postmark/recent-deliveries',
    '/api/internal/rbac/grants',
    '/api/_internal/autolink/deliveries',
  ];
  const BAD_QUERIES = [
    'limit=0',
    'limit=501',
    'limit=abc',
    'limit=1.5',
    'limit=-1',
    'limit=',
    'limit=1&limit=2',
    'active=maybe',
    'status=exploded',
    `operator_id=${'x'.repeat(5000)}`,
    'limit=%00',
    'limit=١٢',
  ];

  it.each(GET_ROUTES.flatMap((route) => BAD_QUERIES.map((query) => [route, query])))(
    '%s?%s never answers 5xx, and refuses with a JSON error',
    async (route, query) => {
      const response = await app.app.inject({ url: `${route}?${query}` });
      expect(response.statusCode).toBeLessThan(500);
      if (response.statusCode >= 400) expectJsonClientError(response.statusCode, response.json());
    },
  );
});
