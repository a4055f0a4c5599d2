import { beforeEach, describe, expect, it, vi } from 'vitest';
import { createFreeScoutClient } from '../../src/clients/freescout.ts';
import { loadConfig } from '../../src/config.ts';
import { pollFreescoutChanges } from '../../src/features/freescout-webhooks/poller.ts';
import type { ServiceDeps } from '../../src/lib/deps.ts';
import { manualClock, startTestApp } from '../support/app.ts';
import { openTestDatabase } from '../support/db.ts';
import { startFakeFreeScout } from '../support/fake-freescout.ts';
import { conversationPayload, freescoutDelivery } from '../support/freescout-delivery.ts';
import { useFixture, useTestApp, useTestDatabase } from '../support/setup.ts';

const SECRET = 'audit-secret-poll';
const TTL_SECONDS = 3600;
const INTERVAL_SECONDS = 60;

const clock = manualClock(new Date('2026-11-24T12:00:00Z'));
const database = useTestDatabase({
  truncateBeforeEach: ['freescout_ticket_cache', 'freescout_poll_cursor', 'job_lease'],
});
const freescout = useFixture(() => startFakeFreeScout({ apiKey: 'fs-key', clock }));
const client = useFixture(async () => createFreeScoutClient({ baseUrl: freescout.url, apiKey: 'fs-key' }));
const app = useTestApp(() => ({
  db: database.db,
  clock,
  env: {
    FLAG_FREESCOUT_WEBHOOK_RECEIVE: '1',
    FREESCOUT_AUDIT_WEBHOOK_SECRET: SECRET,
    FREESCOUT_CACHE_TTL_SECONDS: String(TTL_SECONDS),
  },
}));
beforeEach(() => freescout.reset());

const config = loadConfig({
  FREESCOUT_CACHE_TTL_SECONDS: String(TTL_SECONDS),
  FREESCOUT_CACHE_POLL_INTERVAL_SECONDS: String(INTERVAL_SECONDS),
});
const deps = (): ServiceDeps => ({
  config,
  db: database.db,
  clients: { freescout: client },
  clock,
  log: app.app.log,
});
/** One poll cycle as the given instance. */
const poll = (holder = 'instance-a') => pollFreescoutChanges(deps(), { holder });

const cached = async (ticketId: number) =>
  database.db
    .selectFrom('freescout_ticket_cache')
    .selectAll()
    .where('ticket_id', '=', ticketId)
    .executeTakeFirst();

/** One poll interval later: the previous holder's lease has not lapsed, so the same instance polls. */
async function nextInterval(holder = 'instance-a') {
  clock.advance(INTERVAL_SECONDS * 1000);
  return poll(holder);
}

describe('healing missed webhooks', () => {
  it('caches a status change whose webhook never arrived, within one interval', async () => {
    const conversation = freescout.state.insertConversation({ status: 'active' });
    await poll();
    expect((await cached(conversation.id))?.status).toBe('active');

    clock.advance(5_000);
    freescout.state.setStatus(conversation.id, 'closed');
    const result = await nextInterval();
    expect(result).toMatchObject({ polled: true });
    const row = await cached(conversation.id);
    expect(row).toMatchObject({ status: 'closed', source: 'poll' });
    expect(new Date(row?.updated_at ?? 0).toISOString()).toBe(
      new Date(freescout.state.conversation(conversation.id)?.updatedAt ?? '').toISOString(),
    );
  });

  it('asks for every status, since a FreeScout list without one shows active tickets only', async () => {
    const spam = freescout.state.insertConversation({ status: 'spam' });
    const closed = freescout.state.insertConversation({ status: 'closed' });
    await poll();
    expect((await cached(spam.id))?.status).toBe('spam');
    expect((await cached(closed.id))?.status).toBe('closed');
    const lists = freescout.requests.filter((request) => request.path === '/api/conversations');
    expect(lists.every((request) => request.query.status === 'active,pending,closed,spam')).toBe(true);
  });

  it('follows every page of a large change set', async () => {
    const ids = Array.from(
      { length: 230 },
      () => freescout.state.insertConversation({ status: 'pending' }).id,
    );
    await poll();
    const rows = await database.db.selectFrom('freescout_ticket_cache').select('ticket_id').execute();
    expect(rows.map((row) => row.ticket_id).sort((a, b) => a - b)).toEqual(expect.arrayContaining(ids));
    const pages = freescout.requests
      .filter((request) => request.path === '/api/conversations')
      .map((request) => request.query.page);
    expect(pages).toEqual(['1', '2', '3']);
  });

  it('keeps a persisted cursor and re-reads an overlap behind it, so same-second changes are not missed', async () => {
    freescout.state.insertConversation({ status: 'active' });
    await poll();
    const cursor = await database.db
      .selectFrom('freescout_poll_cursor')
      .selectAll()
      .executeTakeFirstOrThrow();
    const newest = Math.max(
      ...freescout.state.conversations().map((conversation) => Date.parse(conversation.updatedAt)),
    );
    expect(new Date(cursor.updated_since).getTime()).toBe(newest);
    freescout.requests.length = 0;
    await nextInterval();
    const since = freescout.requests.find((request) => request.path === '/api/conversations')?.query
      .updatedSince;
    expect(Date.parse(since ?? '')).toBeLessThan(newest);
  });

  it('never regresses a newer row written by a webhook', async () => {
    const conversation = freescout.state.insertConversation({ status: 'active' });
    const newer = conversationPayload({
      id: conversation.id,
      status: 'closed',
      // Newer than FreeScout's copy, within the clock skew a webhook timestamp may have.
      updatedAt: new Date(clock.now().getTime() + 2 * 60_000).toISOString(),
    });
    const { payload, headers } = freescoutDelivery(newer, { secret: SECRET, event: 'convo.status' });
    expect(
      (
        await app.app.inject({
          method: 'POST',
          url: '/api/internal/freescout-webhook/audit',
          payload,
          headers,
        })
      ).statusCode,
    ).toBe(200);
    await poll();
    expect((await cached(conversation.id))?.status).toBe('closed');
  });
});

describe('one poller at a time', () => {
  it('lets only the lease holder poll, whatever the number of instances', async () => {
    const results = await Promise.all(['a', 'b', 'c', 'd'].map((holder) => poll(holder)));
    expect(results.filter((result) => result.polled)).toHaveLength(1);
  });

  it('hands over when the holder stops renewing its lease', async () => {
    expect((await poll('a')).polled).toBe(true);
    expect((await poll('b')).polled).toBe(false);
    clock.advance(INTERVAL_SECONDS * 2 * 1000 + 1);
    expect((await poll('b')).polled).toBe(true);
  });
});

describe('re-validating open tickets before they expire', () => {
  it('keeps an unchanged open ticket cached past its first ttl', async () => {
    const conversation = freescout.state.insertConversation({ status: 'active' });
    await poll();
    const first = await cached(conversation.id);

    for (let elapsed = 0; elapsed < TTL_SECONDS * 2; elapsed += INTERVAL_SECONDS) await nextInterval();

    const later = await cached(conversation.id);
    expect(later?.status).toBe('active');
    expect(new Date(later?.ttl_expires ?? 0).getTime()).toBeGreaterThan(clock.now().getTime());
    expect(new Date(later?.ttl_expires ?? 0).getTime()).toBeGreaterThan(
      new Date(first?.ttl_expires ?? 0).getTime(),
    );
  });

  it('marks a ticket FreeScout no longer has as deleted', async () => {
    await database.db
      .insertInto('freescout_ticket_cache')
      .values({
        ticket_id: 777,
        status: 'active',
        updated_at: clock.now(),
        ttl_expires: new Date(clock.now().getTime() + 30_000),
        refreshed_at: clock.now(),
        source: 'webhook',
      })
      .execute();
    await poll();
    expect((await cached(777))?.status).toBe('deleted');
  });
});

describe('the running service', () => {
  it('heals a missed webhook within one poll interval', async () => {
    const live = await openTestDatabase();
    const fake = await startFakeFreeScout({ apiKey: 'fs-key' });
    const conversation = fake.state.insertConversation({ status: 'active' });
    const service = await startTestApp({
      db: live.db,
      backgroundJobs: true,
      env: {
        FLAG_FREESCOUT_CACHE_POLL: '1',
        FREESCOUT_CACHE_POLL_INTERVAL_SECONDS: '1',
        FREESCOUT_API_URL: fake.url,
        FREESCOUT_API_KEY: 'fs-key',
      },
    });
    const status = async () =>
      (
        await live.db
          .selectFrom('freescout_ticket_cache')
          .select('status')
          .where('ticket_id', '=', conversation.id)
          .executeTakeFirst()
      )?.status;
    try {
      await vi.waitFor(async () => expect(await status()).toBe('active'), { timeout: 5_000, interval: 100 });
      fake.state.setStatus(conversation.id, 'closed');
      await vi.waitFor(async () => expect(await status()).toBe('closed'), { timeout: 5_000, interval: 100 });
    } finally {
      await service.close();
      await fake.close();
      await live.close();
    }
  });
});
