import { beforeEach, describe, expect, it } from 'vitest';
import { manualClock } from '../support/app.ts';
import {
  bouncePayload,
  deliveryPayload,
  postmarkEnv,
  postPostmark,
  spamComplaintPayload,
} from '../support/postmark.ts';
import { useTestApp, useTestDatabase } from '../support/setup.ts';

const URL = '/api/_internal/postmark/recent-deliveries';

const clock = manualClock(new Date('2026-11-24T12:34:56.789Z'));
const database = useTestDatabase({ truncateBeforeEach: ['postmark_event', 'postmark_event_rollup'] });
const app = useTestApp(() => ({ db: database.db, env: postmarkEnv, clock }));
beforeEach(() => clock.set(new Date('2026-11-24T12:34:56.789Z')));

function recent(query = '') {
  return app.app.inject({ method: 'GET', url: `${URL}${query}` });
}

describe('recent-deliveries', () => {
  it('answers exactly the contract shape, newest first, with recorded_at as UTC seconds', async () => {
    const delivery = deliveryPayload({ MessageID: 'abc-123', Recipient: 'user@example.com' });
    await postPostmark(app, delivery);
    clock.advance(61_000);
    const bounce = bouncePayload();
    await postPostmark(app, bounce);

    const response = await recent();
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      events: [
        {
          id: 2,
          event_type: 'Bounce',
          message_id: bounce.MessageID,
          recipient: bounce.Email,
          tag: 'support-outbound',
          bounce_type: 'HardBounce',
          bounce_description: bounce.Description,
          recorded_at: '2026-11-24 12:35:57',
        },
        {
          id: 1,
          event_type: 'Delivery',
          message_id: 'abc-123',
          recipient: 'user@example.com',
          tag: 'support-outbound',
          bounce_type: null,
          bounce_description: null,
          recorded_at: '2026-11-24 12:34:56',
        },
      ],
      counts_24h: { delivered: 1, bounced: 1, spam_complaint: 0 },
      total_24h: 2,
    });
  });

  it('answers an empty list and zero counts when nothing is stored', async () => {
    expect((await recent()).json()).toEqual({
      events: [],
      counts_24h: { delivered: 0, bounced: 0, spam_complaint: 0 },
      total_24h: 0,
    });
  });

  it('returns 50 events unless told, and at most `limit`', async () => {
    for (let index = 0; index < 60; index += 1) await postPostmark(app, deliveryPayload());
    const all = (await recent()).json();
    expect(all.events).toHaveLength(50);
    expect(all.events[0].id).toBe(60);
    expect(all.total_24h).toBe(60);
    expect((await recent('?limit=1')).json().events.map((event: { id: number }) => event.id)).toEqual([60]);
    expect((await recent('?limit=500')).json().events).toHaveLength(60);
  });

  it('answers 400 invalid_payload to a limit out of 1–500 or not an integer', async () => {
    for (const limit of ['0', '501', '-1', '1.5', 'ten', '', '1e9', '0x10', '%205', '5&limit=6']) {
      const response = await recent(`?limit=${limit}`);
      expect(response.statusCode, `limit=${limit}`).toBe(400);
      expect(response.json()).toEqual({ error: 'invalid_payload', message: expect.any(String) });
    }
  });

  it('counts the last 24 hours only, from the time each event was recorded', async () => {
    await postPostmark(app, deliveryPayload());
    await postPostmark(app, spamComplaintPayload());
    clock.advance(23 * 60 * 60_000);
    await postPostmark(app, bouncePayload());
    await postPostmark(app, deliveryPayload());

    expect((await recent()).json()).toMatchObject({
      counts_24h: { delivered: 2, bounced: 1, spam_complaint: 1 },
      total_24h: 4,
    });
    clock.advance(60 * 60_000);
    const later = (await recent()).json();
    expect(later).toMatchObject({
      counts_24h: { delivered: 1, bounced: 1, spam_complaint: 0 },
      total_24h: 2,
    });
    // The events themselves stay listed until retention prunes them.
    expect(later.events).toHaveLength(4);
  });
  it('reads the counts from the rollups written with each event, not from the raw events', async () => {
    await postPostmark(app, deliveryPayload());
    await postPostmark(app, bouncePayload());
    await database.db.deleteFrom('postmark_event').execute();
    expect((await recent()).json()).toEqual({
      events: [],
      counts_24h: { delivered: 1, bounced: 1, spam_complaint: 0 },
      total_24h: 2,
    });
  });
});

describe('recent-deliveries with the flag off', () => {
  const offApp = useTestApp(() => ({ db: database.db }));

  it('answers 404 feature_disabled', async () => {
    const response = await offApp.app.inject({ method: 'GET', url: URL });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toEqual({ error: 'feature_disabled', message: expect.any(String) });
  });
});

describe('recent-deliveries behind the internal guard', () => {
  const guarded = useTestApp(() => ({
    db: database.db,
    env: { ...postmarkEnv, INTERNAL_API_TOKEN: 'internal-0123' },
  }));

  it('answers 401 without the bearer token and 200 with it', async () => {
    expect((await guarded.app.inject({ method: 'GET', url: URL })).statusCode).toBe(401);
    const response = await guarded.app.inject({
      method: 'GET',
      url: URL,
      headers: { authorization: 'Bearer internal-0123' },
    });
    expect(response.statusCode).toBe(200);
  });
});

describe('OpenAPI', () => {
  it('lists both Postmark routes', async () => {
    const document = (await app.app.inject({ url: '/docs/openapi.json' })).json();
    expect(Object.keys(document.paths)).toEqual(expect.arrayContaining(['/webhooks/postmark/delivery', URL]));
  });
});
