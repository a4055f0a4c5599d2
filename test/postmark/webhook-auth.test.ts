import { describe, expect, it } from 'vitest';
import { deliveryPayload, POSTMARK_TOKEN, postmarkEnv, postPostmark } from '../support/postmark.ts';
import { useTestApp, useTestDatabase } from '../support/setup.ts';

const database = useTestDatabase();

async function storedEvents() {
  return database.db.selectFrom('postmark_event').select('id').execute();
}

describe('with the flag off', () => {
  const app = useTestApp(() => ({
    db: database.db,
    env: { POSTMARK_DELIVERY_WEBHOOK_SECRET: POSTMARK_TOKEN },
  }));

  it('answers 401 even with the right token, and stores nothing', async () => {
    const response = await postPostmark(app, deliveryPayload());
    expect(response.statusCode).toBe(401);
    expect(response.json()).toEqual({ error: 'feature_disabled', message: expect.any(String) });
    expect(await storedEvents()).toEqual([]);
  });

  it('answers 401 whatever the body', async () => {
    for (const body of ['', '{not json', '{}']) {
      expect((await postPostmark(app, body)).statusCode).toBe(401);
    }
  });
});

describe('with the flag on', () => {
  const app = useTestApp(() => ({
    db: database.db,
    env: { ...postmarkEnv, POSTMARK_DELIVERY_WEBHOOK_SECRET_PREVIOUS: 'pm-previous-token-9876' },
  }));

  it('answers 401 unauthorized when the token header is missing', async () => {
    const response = await postPostmark(app, deliveryPayload(), null);
    expect(response.statusCode).toBe(401);
    expect(response.json()).toEqual({ error: 'unauthorized', message: expect.any(String) });
  });

  it('answers 401 unauthorized when the token is wrong, whatever its length', async () => {
    for (const token of ['nope', `${POSTMARK_TOKEN}x`, POSTMARK_TOKEN.slice(0, -1), '']) {
      const response = await postPostmark(app, deliveryPayload(), token);
      expect(response.statusCode).toBe(401);
      expect(response.json()).toMatchObject({ error: 'unauthorized' });
    }
    expect(await storedEvents()).toEqual([]);
  });

  it('checks the token before reading the body', async () => {
    const response = await postPostmark(app, '{not json', 'wrong');
    expect(response.statusCode).toBe(401);
  });

  it('accepts the previous token while a rotation is under way', async () => {
    const response = await postPostmark(app, deliveryPayload(), 'pm-previous-token-9876');
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ ok: true });
  });
});

describe('with the flag on but no secret configured', () => {
  const app = useTestApp(() => ({ db: database.db, env: { FLAG_POSTMARK_DELIVERY_MONITOR: 'true' } }));

  it('refuses every delivery with 401', async () => {
    for (const token of [null, '', 'anything']) {
      expect((await postPostmark(app, deliveryPayload(), token)).statusCode).toBe(401);
    }
  });
});
