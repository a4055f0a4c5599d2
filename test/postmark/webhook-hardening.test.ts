import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { manualClock, startTestApp, type TestApp } from '../support/app.ts';
import { startFakeSlack } from '../support/fake-slack.ts';
import {
  bouncePayload,
  deliveryPayload,
  POSTMARK_TOKEN,
  postmarkEnv,
  postPostmark,
} from '../support/postmark.ts';
import { useFixture, useTestApp, useTestDatabase } from '../support/setup.ts';

const database = useTestDatabase({
  truncateBeforeEach: ['postmark_event', 'postmark_event_rollup', 'postmark_alert_state'],
});
const app = useTestApp(() => ({ db: database.db, env: postmarkEnv, clock: manualClock() }));

function postRaw(target: TestApp, raw: string | Buffer) {
  return target.app.inject({
    method: 'POST',
    url: '/webhooks/postmark/delivery',
    headers: { 'content-type': 'application/json', 'x-postmark-webhook-token': POSTMARK_TOKEN },
    payload: raw,
  });
}

async function storedCount(): Promise<number> {
  const { rows } = await sql<{ n: number }>`select count(*)::int as n from postmark_event`.execute(
    database.db,
  );
  return rows[0]?.n ?? 0;
}

describe('the bounce ID', () => {
  it('reads the top-level ID, not a Metadata.ID before it, and keeps it exact in the payload', async () => {
    const id = '9223372036854775807';
    const { Metadata: _metadata, ...bounce } = bouncePayload({ ID: 0 });
    const body = JSON.stringify({ Metadata: { ID: 17 }, ...bounce }).replace('"ID":0', `"ID":${id}`);
    expect(body.indexOf('"ID":17')).toBeGreaterThan(-1);
    expect(body.indexOf('"ID":17')).toBeLessThan(body.indexOf(`"ID":${id}`));
    const response = await postRaw(app, body);
    expect(response.statusCode).toBe(200);
    const { rows } = await sql<{ event_key: string; postmark_id: string; payload_id: string }>`
      select event_key, postmark_id::text as postmark_id, payload->>'ID' as payload_id from postmark_event`.execute(
      database.db,
    );
    expect(rows).toEqual([{ event_key: `Bounce:${id}`, postmark_id: id, payload_id: id }]);
  });

  it('refuses an ID past the 64-bit range with 400, storing nothing', async () => {
    const body = JSON.stringify(bouncePayload({ ID: 0 })).replace('"ID":0', '"ID":9223372036854775808');
    const response = await postRaw(app, body);
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({
      error: 'invalid_payload',
      message: expect.stringContaining('ID'),
    });
    expect(await storedCount()).toBe(0);
  });
});

describe('field bounds', () => {
  // Random, so Postgres cannot compress it under the btree's ~2,700-byte row limit.
  const LONG = randomBytes(7_500).toString('base64');

  async function storedRows() {
    const { rows } = await sql<{ message_id: string; recipient: string; event_key: string }>`
      select message_id, recipient, event_key from postmark_event`.execute(database.db);
    return rows;
  }

  it.each([
    ['MessageID', { MessageID: LONG }],
    ['Recipient', { Recipient: `${LONG}@example.com` }],
  ])(
    'keeps a Delivery with a 10,000-character %s whole, and stores its resend once',
    async (_field, field) => {
      const payload = deliveryPayload(field);
      const first = await postPostmark(app, payload);
      const again = await postPostmark(app, payload);
      expect([first.statusCode, again.statusCode]).toEqual([200, 200]);
      expect(again.json()).toEqual(first.json());
      const rows = await storedRows();
      expect(rows).toEqual([
        {
          message_id: payload.MessageID,
          recipient: payload.Recipient,
          event_key: `Delivery:${payload.MessageID}:${payload.Recipient}:${payload.DeliveredAt}`,
        },
      ]);
    },
  );

  it('keeps two long MessageIDs that differ only in their last character apart', async () => {
    const recipient = 'same@example.com';
    await postPostmark(app, deliveryPayload({ MessageID: `${LONG}a`, Recipient: recipient }));
    await postPostmark(app, deliveryPayload({ MessageID: `${LONG}b`, Recipient: recipient }));
    expect(await storedCount()).toBe(2);
  });

  it('refuses a Bounce with a Type over 100 characters with 400 naming Type, the same on a resend', async () => {
    const payload = bouncePayload({ Type: 'H'.repeat(101) });
    const answers = [await postPostmark(app, payload), await postPostmark(app, payload)];
    for (const answer of answers) {
      expect(answer.statusCode).toBe(400);
      expect(answer.json()).toEqual({ error: 'invalid_payload', message: expect.stringMatching(/^Type: /) });
    }
    expect(await storedCount()).toBe(0);
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from postmark_event_rollup`.execute(
      database.db,
    );
    expect(rows[0]?.n).toBe(0);
  });

  it('takes a Type of exactly 100 characters and counts it under that type', async () => {
    const type = 'T'.repeat(100);
    expect((await postPostmark(app, bouncePayload({ Type: type }))).statusCode).toBe(200);
    const { rows } = await sql<{
      bounce_type: string;
    }>`select bounce_type from postmark_event_rollup`.execute(database.db);
    expect(rows).toEqual([{ bounce_type: type }]);
  });
});

describe('the bounce ID type', () => {
  it.each([['"123"'], ['"4323372036854775807"'], ['null'], ['true'], ['1.5'], ['-1']])(
    'refuses "ID": %s with 400 naming ID, storing nothing',
    async (literal) => {
      const body = JSON.stringify(bouncePayload({ ID: 0 })).replace('"ID":0', `"ID":${literal}`);
      const response = await postRaw(app, body);
      expect(response.statusCode).toBe(400);
      expect(response.json()).toEqual({ error: 'invalid_payload', message: expect.stringMatching(/^ID: /) });
      expect(await storedCount()).toBe(0);
    },
  );

  it("keeps Postmark's documented 64-bit ID 4323372036854775807 digit for digit", async () => {
    const id = '4323372036854775807';
    const body = JSON.stringify(bouncePayload({ ID: 0 })).replace('"ID":0', `"ID":${id}`);
    expect((await postRaw(app, body)).statusCode).toBe(200);
    const { rows } = await sql<{ postmark_id: string; payload_id: string }>`
      select postmark_id::text as postmark_id, payload->>'ID' as payload_id from postmark_event`.execute(
      database.db,
    );
    expect(rows).toEqual([{ postmark_id: id, payload_id: id }]);
  });
});

describe('refusals, each logged at warn with its reason', () => {
  const cases: Array<[string, unknown]> = [
    ['RecordType in the wrong case', deliveryPayload({ RecordType: 'delivery' })],
    ['a Bounce RecordType in capitals', bouncePayload({ RecordType: 'BOUNCE' })],
    ['an unparseable DeliveredAt', deliveryPayload({ DeliveredAt: 'yesterday at noon' })],
    ['an unparseable BouncedAt', bouncePayload({ BouncedAt: '24/11/2026 06:58' })],
    ['a DeliveredAt in year 9999', deliveryPayload({ DeliveredAt: '9999-12-31T23:59:59Z' })],
    ['a BouncedAt in year 0000', bouncePayload({ BouncedAt: '0000-01-01T00:00:00Z' })],
    ['a NUL in MessageID', deliveryPayload({ MessageID: 'abc\u0000def' })],
    ['a lone surrogate in Description', bouncePayload({ Description: 'broken \ud800 text' })],
  ];

  it.each(cases)('answers 400 to %s and logs why', async (_name, payload) => {
    const response = await postPostmark(app, payload);
    expect(response.statusCode).toBe(400);
    expect(response.json()).toEqual({
      error: expect.stringMatching(/^invalid_/),
      message: expect.any(String),
    });
    expect(await storedCount()).toBe(0);
    expect(app.logs).toContainEqual(
      expect.objectContaining({
        level: 40,
        msg: 'postmark webhook refused',
        reason: response.json().message,
      }),
    );
  });

  it('answers 400 to invalid UTF-8 and logs why', async () => {
    const raw = Buffer.concat([
      Buffer.from(JSON.stringify(deliveryPayload({ Details: 'X' })).replace('"X"', '"')),
      Buffer.from([0xff, 0xfe]),
    ]);
    const json = Buffer.from(`${raw.toString('latin1').slice(0, -2)}`, 'latin1');
    const body = Buffer.concat([json, Buffer.from([0xc3, 0x28]), Buffer.from('"}')]);
    const response = await postRaw(app, body);
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({
      error: 'invalid_json',
      message: expect.stringContaining('UTF-8'),
    });
    expect(app.logs).toContainEqual(
      expect.objectContaining({
        level: 40,
        msg: 'postmark webhook refused',
        reason: expect.stringContaining('UTF-8'),
      }),
    );
  });

  it('still acknowledges record types it does not store, whatever their case', async () => {
    const response = await postPostmark(app, { RecordType: 'open', MessageID: 'm-1' });
    expect(response.json()).toEqual({ ok: true, ignored: true });
  });
});

describe('bounce content', () => {
  it('accepts a Bounce whose Content is over 1 MiB and stores it without the Content', async () => {
    const payload = bouncePayload({ Content: 'x'.repeat(3 * 1024 * 1024) });
    const response = await postPostmark(app, payload);
    expect(response.statusCode).toBe(200);
    const { rows } = await sql<{ has_content: boolean }>`
      select payload ? 'Content' as has_content from postmark_event`.execute(database.db);
    expect(rows).toEqual([{ has_content: false }]);
  });

  it('refuses a body over 10 MiB with 413', async () => {
    const response = await postPostmark(app, bouncePayload({ Content: 'x'.repeat(11 * 1024 * 1024) }));
    expect(response.statusCode).toBe(413);
    expect(response.json()).toMatchObject({ error: 'payload_too_large' });
  });
});

describe('the bounce-rate alert counts only undeliverable bounces', () => {
  const SLACK_TOKEN = 'xoxb-hardening-0123';
  const CHANNEL = 'D0HARDEN01';
  const slack = useFixture(() => startFakeSlack({ token: SLACK_TOKEN, channels: [CHANNEL] }), { each: true });
  let monitor: TestApp | undefined;
  afterEach(async () => {
    await monitor?.close();
    monitor = undefined;
  });

  async function run(env: Record<string, string>, payloads: unknown[]) {
    monitor = await startTestApp({
      db: database.db,
      clock: manualClock(),
      env: {
        ...postmarkEnv,
        SLACK_BOT_TOKEN: SLACK_TOKEN,
        SLACK_API_URL: slack.url,
        SLACK_OPERATOR_DM_CHANNEL: CHANNEL,
        ...env,
      },
    });
    for (const payload of payloads) expect((await postPostmark(monitor, payload)).statusCode).toBe(200);
    await monitor.close();
    monitor = undefined;
    return slack.state.messages;
  }

  const deliveries = (count: number) => Array.from({ length: count }, () => deliveryPayload());
  const bouncesOf = (type: string, count: number) =>
    Array.from({ length: count }, () => bouncePayload({ Type: type }));

  it('ignores out-of-office replies, transient delays and subscription notices', async () => {
    const messages = await run({}, [
      ...deliveries(60),
      ...bouncesOf('AutoResponder', 5),
      ...bouncesOf('Transient', 3),
      ...bouncesOf('Subscribe', 1),
      ...bouncesOf('Unsubscribe', 1),
    ]);
    expect(messages).toEqual([]);
  });

  it.each(['HardBounce', 'SoftBounce', 'DnsError', 'Blocked', 'BadEmailAddress'])(
    'alerts on %s bounces',
    async (type) => {
      const messages = await run({}, [...deliveries(60), ...bouncesOf(type, 2)]);
      // One alert, as soon as the rate passed the threshold: at the first bounce (1 of 61), or at
      // the second when it was stored before the check that the first one asked for had run.
      expect(messages).toEqual([
        expect.objectContaining({
          text: expect.stringMatching(/\((1 bounces of 61|2 bounces of 62) messages/),
        }),
      ]);
    },
  );

  it('counts the types POSTMARK_BOUNCE_ALERT_TYPES names, in any case', async () => {
    const messages = await run({ POSTMARK_BOUNCE_ALERT_TYPES: 'autoresponder' }, [
      ...deliveries(60),
      ...bouncesOf('HardBounce', 2),
      ...bouncesOf('AutoResponder', 1),
    ]);
    expect(messages).toEqual([expect.objectContaining({ text: expect.stringContaining('1 bounces of 63') })]);
  });

  it('still reports every bounce in the 24 h counts', async () => {
    await run({}, [...deliveries(2), ...bouncesOf('AutoResponder', 1), ...bouncesOf('HardBounce', 1)]);
    const response = await app.app.inject({ url: '/api/_internal/postmark/recent-deliveries' });
    expect(response.json()).toMatchObject({ counts_24h: { delivered: 2, bounced: 2 }, total_24h: 4 });
  });
});
