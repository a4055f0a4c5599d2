import { createHmac, randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { sql } from 'kysely';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { sign } from '../support/freescout-delivery.ts';
import { issuesEvent } from '../support/github-sync.ts';
import { bouncePayload, deliveryPayload } from '../support/postmark.ts';
import { useTestApp, useTestDatabase } from '../support/setup.ts';

const SECRET = 'bad-input-secret';
const POSTMARK_TOKEN = 'bad-input-postmark-token';

interface RouteUnderTest {
  name: string;
  url: string;
  /** Tables whose row counts must not move when the route refuses a request. */
  tables: string[];
  headers: (raw: Buffer) => Record<string, string>;
  /** A body the route would accept (or act on); each string in it is spoiled in turn below. */
  valid: () => Record<string, unknown>;
}

const conversation = () => ({
  id: 1042,
  status: 'closed',
  state: 'published',
  updatedAt: '2026-11-24T10:00:00Z',
});

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
    valid: conversation,
  },
  {
    name: 'rbac webhook',
    url: '/api/internal/freescout-webhook/rbac',
    tables: ['freescout_ticket_cache', 'rbac_access_grant'],
    headers: freescoutSigned,
    valid: conversation,
  },
  {
    name: 'operator interactions',
    url: '/api/internal/audit/operator-interactions',
    tables: ['operator_interaction_audit', 'security_notification'],
    headers: () => ({}),
    valid: () => ({ operator_id: 'op-7', ticket_id: 1042, action: 'read', resource: 'thread' }),
  },
  {
    name: 'rbac grants',
    url: '/api/internal/rbac/grants',
    tables: ['rbac_access_grant'],
    headers: () => ({}),
    valid: () => ({ operator_id: 'op-7', ticket_id: 1042, scope: 'read' }),
  },
  {
    name: 'postmark webhook',
    url: '/webhooks/postmark/delivery',
    tables: ['postmark_event', 'postmark_event_rollup'],
    headers: () => ({ 'x-postmark-webhook-token': POSTMARK_TOKEN }),
    valid: () => bouncePayload(),
  },
  {
    name: 'autolink webhook',
    url: '/api/webhooks/freescout/ops',
    tables: ['autolink_delivery'],
    headers: (raw) => ({ 'x-freescout-event': 'convo.created', 'x-freescout-signature': sign(raw, SECRET) }),
    valid: () => ({ id: 1042, status: 'active', subject: 'Orders fail', tags: [{ tag: 'bug' }] }),
  },
  {
    name: 'GitHub sync webhook',
    url: '/api/webhooks/github',
    tables: ['github_sync_delivery', 'github_issue_detail'],
    headers: (raw) => ({
      'x-github-event': 'issues',
      'x-github-delivery': 'bad-input',
      'x-hub-signature-256': `sha256=${createHmac('sha256', SECRET).update(raw).digest('hex')}`,
    }),
    valid: () => issuesEvent('labeled', { number: 7, label: 'customer-reported' }),
  },
  {
    name: 'investigate',
    url: '/api/console/status/investigate',
    tables: ['investigate_ticket', 'investigate_attempt'],
    headers: () => ({}),
    valid: () => ({ surface: 'api', state: 'DEGRADED', detail: 'p95 over 2 s', requested_by: 'op-7' }),
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

const database = useTestDatabase();
const app = useTestApp(() => ({
  db: database.db,
  listen: true,
  env: {
    FLAG_FREESCOUT_WEBHOOK_RECEIVE: '1',
    FLAG_FREESCOUT_RBAC_REVOKE: '1',
    FREESCOUT_AUDIT_WEBHOOK_SECRET: SECRET,
    FLAG_FREESCOUT_GITHUB_AUTOLINK: '1',
    FREESCOUT_WEBHOOK_SECRET: SECRET,
    FREESCOUT_API_USER_ID: '1',
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
}));

/** Posts `raw` to the route with the headers it needs (a valid signature or token), as JSON unless told. */
function post(route: RouteUnderTest, raw: Buffer, contentType = 'application/json') {
  return app.app.inject({
    method: 'POST',
    url: route.url,
    payload: raw,
    headers: { 'content-type': contentType, ...route.headers(raw) },
  });
}

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
    const response = await post(route, raw);
    expectJsonClientError(response.statusCode, response.json());
    expect(await rowCounts(route.tables)).toEqual(before);
  });

  const spoilers: Array<[string, string]> = [
    ['a NUL character', 'a\u0000b'],
    ['a lone high surrogate', 'a\ud800b'],
    ['a lone low surrogate', '\udc00'],
  ];
  const stringPaths = (value: Record<string, unknown>) =>
    Object.entries(value).flatMap(([key, item]) => (typeof item === 'string' ? [key] : []));
  it.each(
    spoilers.flatMap(([what, spoiled]) =>
      stringPaths(route.valid()).map((field) => [what, field, spoiled] as const),
    ),
  )('refuses %s in the string field %s with 400, writing nothing', async (_what, field, spoiled) => {
    const raw = Buffer.from(JSON.stringify({ ...route.valid(), [field]: spoiled }));
    const before = await rowCounts(route.tables);
    const response = await post(route, raw);
    expect(response.statusCode).toBe(400);
    expectJsonClientError(response.statusCode, response.json());
    expect(await rowCounts(route.tables)).toEqual(before);
  });

  it.each(spoilers)('refuses %s in a key with 400', async (_what, spoiled) => {
    const raw = Buffer.from(JSON.stringify({ ...route.valid(), [spoiled]: 'x' }));
    const response = await post(route, raw);
    expect(response.statusCode).toBe(400);
    expectJsonClientError(response.statusCode, response.json());
  });

  it('refuses a valid body with a field nested 5,000 levels deep with 400, writing nothing', async () => {
    const json = JSON.stringify({ ...route.valid(), extra: 0 }).replace(
      '"extra":0',
      `"extra":${'['.repeat(5000)}${']'.repeat(5000)}`,
    );
    const before = await rowCounts(route.tables);
    const response = await post(route, Buffer.from(json));
    expect(response.statusCode).toBe(400);
    expectJsonClientError(response.statusCode, response.json());
    expect(await rowCounts(route.tables)).toEqual(before);
  });

  it.each([
    'text/plain',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x',
    'application/xml',
  ])('refuses content type %s', async (contentType) => {
    const response = await post(route, Buffer.from('{"id": 1, "status": "closed"}'), contentType);
    expectJsonClientError(response.statusCode, response.json());
  });

  it.each([
    ['br on a plain body', 'br', (raw: Buffer) => raw],
    ['gzip on a gzipped body', 'gzip', (raw: Buffer) => gzipSync(raw)],
    ['deflate after identity', 'identity, deflate', (raw: Buffer) => raw],
  ])(
    'refuses Content-Encoding %s with 415 before any work, writing nothing',
    async (_case, coding, encode) => {
      const body = encode(Buffer.from(JSON.stringify(route.valid())));
      const before = await rowCounts(route.tables);
      const response = await app.app.inject({
        method: 'POST',
        url: route.url,
        payload: body,
        headers: { 'content-type': 'application/json', 'content-encoding': coding, ...route.headers(body) },
      });
      expect(response.statusCode).toBe(415);
      expect(response.json()).toEqual({ error: 'unsupported_content_encoding', message: expect.any(String) });
      expect(response.headers['accept-encoding']).toBe('identity');
      expect(await rowCounts(route.tables)).toEqual(before);
    },
  );

  it('never answers 5xx to arbitrary JSON, and writes nothing when it refuses (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue({ maxDepth: 4 }), async (value) => {
        const raw = Buffer.from(JSON.stringify(value) ?? 'null');
        const before = await rowCounts(route.tables);
        const response = await post(route, raw);
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

  it('refuses a gzipped Postmark body with 415 on a real socket, storing nothing', async () => {
    const before = await rowCounts(['postmark_event']);
    const response = await request(`${app.url}/webhooks/postmark/delivery`, {
      method: 'POST',
      body: gzipSync(Buffer.from(JSON.stringify(deliveryPayload()))),
      headers: {
        'content-type': 'application/json',
        'content-encoding': 'gzip',
        'x-postmark-webhook-token': POSTMARK_TOKEN,
      },
    });
    expect(response.statusCode).toBe(415);
    expect(response.headers['accept-encoding']).toBe('identity');
    expect(await response.body.json()).toEqual({
      error: 'unsupported_content_encoding',
      message: expect.any(String),
    });
    expect(await rowCounts(['postmark_event'])).toEqual(before);
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
    '/api/_internal/deliveries',
    '/api/_internal/ops/summary',
    '/ops',
    '/metrics',
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

describe('values outside what the columns and clocks allow', () => {
  const route = (name: string) => {
    const found = ROUTES.find((candidate) => candidate.name === name);
    if (!found) throw new Error(name);
    return found;
  };
  const withRaw = (value: unknown, from: string, to: string) =>
    Buffer.from(JSON.stringify(value).replace(from, to));
  const CASES: Array<[string, string, Buffer]> = [
    [
      'audit webhook',
      'a conversation id of 2^31',
      Buffer.from(JSON.stringify({ ...conversation(), id: 2147483648 })),
    ],
    [
      'rbac webhook',
      'a conversation id of 2^31',
      Buffer.from(JSON.stringify({ ...conversation(), id: 2147483648 })),
    ],
    [
      'autolink webhook',
      'a conversation id of 2^31',
      Buffer.from(JSON.stringify({ id: 2147483648, status: 'active' })),
    ],
    [
      'operator interactions',
      'a ticket id of 2^31',
      Buffer.from(JSON.stringify({ operator_id: 'op', ticket_id: 2147483648, action: 'read' })),
    ],
    [
      'rbac grants',
      'a ticket id of 2^31',
      Buffer.from(JSON.stringify({ operator_id: 'op', ticket_id: 2147483648, scope: 'read' })),
    ],
    [
      'audit webhook',
      'an updatedAt in year 9999',
      Buffer.from(JSON.stringify({ ...conversation(), updatedAt: '9999-12-31T23:59:59Z' })),
    ],
    [
      'rbac webhook',
      'an updatedAt in year 9999',
      Buffer.from(JSON.stringify({ ...conversation(), updatedAt: '9999-12-31T23:59:59Z' })),
    ],
    [
      'audit webhook',
      'an updatedAt in year 0000',
      Buffer.from(JSON.stringify({ ...conversation(), updatedAt: '0000-01-01T00:00:00Z' })),
    ],
    [
      'audit webhook',
      'an updatedAt an hour ahead',
      Buffer.from(
        JSON.stringify({ ...conversation(), updatedAt: new Date(Date.now() + 3_600_000).toISOString() }),
      ),
    ],
    [
      'autolink webhook',
      'an updatedAt in year 9999',
      Buffer.from(JSON.stringify({ id: 7, status: 'active', updatedAt: '9999-12-31T23:59:59Z' })),
    ],
    [
      'postmark webhook',
      'a bounce ID of 2^63',
      withRaw(bouncePayload({ ID: 0 }), '"ID":0', '"ID":9223372036854775808'),
    ],
    [
      'postmark webhook',
      'a bounce ID sent as a string',
      withRaw(bouncePayload({ ID: 0 }), '"ID":0', '"ID":"123"'),
    ],
    [
      'postmark webhook',
      'a bounce Type of 3,000 characters',
      Buffer.from(JSON.stringify(bouncePayload({ Type: 'X'.repeat(3000) }))),
    ],
    [
      'autolink webhook',
      'a closedAt of 5,000 characters',
      Buffer.from(JSON.stringify({ id: 7, status: 'closed', closedAt: 'x'.repeat(5000) })),
    ],
    [
      'autolink webhook',
      'an updatedAt of 5,000 characters',
      Buffer.from(JSON.stringify({ id: 7, status: 'active', updatedAt: 'x'.repeat(5000) })),
    ],
    [
      'postmark webhook',
      'an unparseable DeliveredAt',
      Buffer.from(JSON.stringify(deliveryPayload({ DeliveredAt: 'soon' }))),
    ],
    [
      'postmark webhook',
      'an unparseable BouncedAt',
      Buffer.from(JSON.stringify(bouncePayload({ BouncedAt: 'n/a' }))),
    ],
    [
      'postmark webhook',
      'a DeliveredAt in year 9999',
      Buffer.from(JSON.stringify(deliveryPayload({ DeliveredAt: '9999-01-01T00:00:00Z' }))),
    ],
    [
      'postmark webhook',
      'RecordType "delivery"',
      Buffer.from(JSON.stringify(deliveryPayload({ RecordType: 'delivery' }))),
    ],
    [
      'postmark webhook',
      'RecordType "SPAMCOMPLAINT"',
      Buffer.from(JSON.stringify(bouncePayload({ RecordType: 'SPAMCOMPLAINT' }))),
    ],
    [
      'postmark webhook',
      'invalid UTF-8 inside a string',
      Buffer.concat([
        Buffer.from('{"RecordType":"Delivery","MessageID":"'),
        Buffer.from([0xc3, 0x28]),
        Buffer.from('","Recipient":"a@b.c","DeliveredAt":"2026-11-24T10:00:00Z"}'),
      ]),
    ],
  ];

  it.each(CASES)(
    '%s refuses %s with 400, writing nothing, the same on a resend',
    async (name, _case, raw) => {
      const target = route(name);
      const before = await rowCounts(target.tables);
      const first = await post(target, raw);
      expect(first.statusCode).toBe(400);
      expectJsonClientError(first.statusCode, first.json());
      const again = await post(target, raw);
      expect([again.statusCode, again.json()]).toEqual([400, first.json()]);
      expect(await rowCounts(target.tables)).toEqual(before);
    },
  );

  // Random, so Postgres cannot compress it under the btree's ~2,700-byte row limit.
  const long = () => randomBytes(7_500).toString('base64');
  it.each([
    ['MessageID', () => deliveryPayload({ MessageID: long() })],
    ['Recipient', () => deliveryPayload({ Recipient: `${long()}@example.com` })],
    ['Tag and Description of a Bounce', () => bouncePayload({ Tag: long(), Description: long() })],
  ])(
    'postmark webhook keeps a record with a 10,000-character %s whole, once, however often it is resent',
    async (_field, payload) => {
      const raw = Buffer.from(JSON.stringify(payload()));
      const [before] = await rowCounts(['postmark_event']);
      const answers = [
        await post(route('postmark webhook'), raw),
        await post(route('postmark webhook'), raw),
      ];
      expect(answers.map((answer) => [answer.statusCode, answer.json()])).toEqual([
        [200, { ok: true }],
        [200, { ok: true }],
      ]);
      expect(await rowCounts(['postmark_event'])).toEqual([(before ?? 0) + 1]);
      const { rows } = await sql<{ payload: string }>`
      select payload::text as payload from postmark_event order by id desc limit 1`.execute(database.db);
      const stored = JSON.parse(rows[0]?.payload ?? '{}') as Record<string, unknown>;
      const sent = JSON.parse(raw.toString()) as Record<string, unknown>;
      for (const field of ['MessageID', 'Recipient', 'Email', 'Tag', 'Description']) {
        if (field in sent) expect(stored[field]).toBe(sent[field]);
      }
    },
  );

  it('GitHub sync webhook refuses an X-GitHub-Delivery over 200 characters with 400 naming it, writing nothing', async () => {
    const target = route('GitHub sync webhook');
    const raw = Buffer.from(JSON.stringify(target.valid()));
    // Issue 7 linked, so an accepted delivery would also refresh the service's copy of it.
    await sql`
      insert into autolink_link (conversation_id, claim_id, claimed_at, issue_number, issue_url)
      values (7007, '00000000-0000-4000-8000-000000000023', now(), 7, 'https://github.com/raxx-app/TradeMasterAPI/issues/7')
      on conflict do nothing`.execute(database.db);
    const before = await rowCounts(target.tables);
    const answers = [];
    for (let attempt = 0; attempt < 2; attempt++) {
      const response = await app.app.inject({
        method: 'POST',
        url: target.url,
        payload: raw,
        headers: {
          'content-type': 'application/json',
          ...target.headers(raw),
          'x-github-delivery': 'd'.repeat(201),
        },
      });
      answers.push([response.statusCode, response.json()]);
    }
    expect(answers[0]).toEqual([
      400,
      { error: 'invalid_header', message: expect.stringContaining('X-GitHub-Delivery') },
    ]);
    expect(answers[1]).toEqual(answers[0]);
    expect(await rowCounts(target.tables)).toEqual(before);
  });

  it('postmark webhook takes Content-Encoding identity as no encoding', async () => {
    const raw = Buffer.from(JSON.stringify(deliveryPayload()));
    const response = await app.app.inject({
      method: 'POST',
      url: '/webhooks/postmark/delivery',
      payload: raw,
      headers: {
        'content-type': 'application/json',
        'content-encoding': 'identity',
        'x-postmark-webhook-token': POSTMARK_TOKEN,
      },
    });
    expect(response.statusCode).toBe(200);
  });

  it('takes the largest conversation id, 2^31-1, on the audit webhook', async () => {
    const raw = Buffer.from(JSON.stringify({ ...conversation(), id: 2147483647 }));
    expect((await post(route('audit webhook'), raw)).statusCode).toBe(200);
  });
});

describe('query strings and path parameters holding a NUL', () => {
  it.each([
    '/api/internal/rbac/grants?operator_id=%00',
    '/api/internal/rbac/grants?operator_id=a%00b',
    '/api/_internal/autolink/deliveries?status=%00',
    '/api/_internal/postmark/recent-deliveries?limit=%00',
  ])('GET %s answers 400', async (url) => {
    const response = await app.app.inject({ url });
    expect(response.statusCode).toBe(400);
    expectJsonClientError(response.statusCode, response.json());
  });

  it('POST /api/_internal/autolink/deliveries/%00/retry answers 400', async () => {
    const response = await app.app.inject({
      method: 'POST',
      url: '/api/_internal/autolink/deliveries/%00/retry',
    });
    expect(response.statusCode).toBe(400);
    expectJsonClientError(response.statusCode, response.json());
  });
});

describe('a wrong method on an existing path', () => {
  it.each([
    ['GET', '/webhooks/postmark/delivery', 'POST'],
    ['PUT', '/api/internal/freescout-webhook/audit', 'POST'],
    ['DELETE', '/api/internal/rbac/grants', 'GET, HEAD, POST'],
    ['GET', '/api/webhooks/freescout/ops', 'POST'],
    ['GET', '/api/_internal/autolink/deliveries/12/retry', 'POST'],
    ['POST', '/readyz', 'GET, HEAD'],
  ])('%s %s answers 405 with Allow: %s', async (method, url, allow) => {
    const response = await app.app.inject({ method: method as 'GET', url });
    expect(response.statusCode).toBe(405);
    expect(response.headers.allow).toBe(allow);
    expect(response.json()).toEqual({ error: 'method_not_allowed', message: expect.any(String) });
  });

  it('answers an unknown path 404', async () => {
    expect((await app.app.inject({ url: '/webhooks/postmark/nope' })).statusCode).toBe(404);
  });
});
