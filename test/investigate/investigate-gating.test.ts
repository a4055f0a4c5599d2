import { describe, expect, it } from 'vitest';
import { startTestApp } from '../support/app.ts';
import { startFakeFreeScout } from '../support/fake-freescout.ts';
import {
  API_KEY,
  CONSOLE_TOKEN,
  clickInvestigate,
  creates,
  INVESTIGATE_PATH,
  investigateEnv,
  startInvestigateApp,
  useInvestigateApp,
} from '../support/investigate.ts';
import { useFixture, useTestDatabase } from '../support/setup.ts';

const database = useTestDatabase();
const fake = useFixture(() => startFakeFreeScout({ apiKey: API_KEY }));

const click = { surface: 'payments', state: 'DEGRADED' };

describe('investigate gating', () => {
  it('answers 404 feature_disabled while FLAG_CONSOLE_INVESTIGATE_FROM_STATUS is off', async () => {
    const app = await startInvestigateApp({
      db: database.db,
      fake,
      env: { FLAG_CONSOLE_INVESTIGATE_FROM_STATUS: '0' },
    });
    try {
      const answer = await clickInvestigate(app, click);
      expect(answer).toEqual({
        status: 404,
        body: { error: 'feature_disabled', message: expect.any(String) },
      });
    } finally {
      await app.close();
    }
  });

  it.each(['FREESCOUT_API_URL', 'FREESCOUT_API_KEY', 'FREESCOUT_OPERATIONS_MAILBOX_ID'])(
    'answers 503 not_configured without %s',
    async (variable) => {
      const app = await startTestApp({
        db: database.db,
        env: investigateEnv(fake, { [variable]: undefined }),
      });
      try {
        const answer = await clickInvestigate(app, click);
        expect(answer).toEqual({
          status: 503,
          body: { error: 'not_configured', message: expect.any(String) },
        });
        expect(creates(fake)).toHaveLength(0);
      } finally {
        await app.close();
      }
    },
  );

  describe('with the feature on and configured', () => {
    const app = useInvestigateApp(() => ({ db: database.db, fake }));

    it('refuses a caller without the internal token with 401', async () => {
      const response = await app.app.inject({ method: 'POST', url: INVESTIGATE_PATH, payload: click });
      expect(response.statusCode).toBe(401);
      expect(response.json()).toMatchObject({ error: 'unauthorized' });
    });

    it.each([
      ['no surface', { state: 'DEGRADED' }],
      ['an empty surface', { surface: '  ', state: 'DEGRADED' }],
      ['no state', { surface: 'payments' }],
      ['a state that is not a string', { surface: 'payments', state: 3 }],
      ['a tile_url that is not a URL', { ...click, tile_url: 'not a url' }],
      ['a tile_url that is not http(s)', { ...click, tile_url: 'javascript:alert(1)' }],
      ['a detail that is not a string', { ...click, detail: { text: 'x' } }],
    ])('answers 400 invalid_payload for %s, without calling FreeScout', async (_name, body) => {
      const answer = await clickInvestigate(app, body);
      expect(answer).toEqual({
        status: 400,
        body: { error: 'invalid_payload', message: expect.any(String) },
      });
      expect(creates(fake)).toHaveLength(0);
    });

    it('answers 400 invalid_json for a body that is not JSON', async () => {
      const response = await app.app.inject({
        method: 'POST',
        url: INVESTIGATE_PATH,
        headers: { authorization: `Bearer ${CONSOLE_TOKEN}`, 'content-type': 'application/json' },
        payload: '{"surface":',
      });
      expect(response.statusCode).toBe(400);
      expect(response.json()).toMatchObject({ error: 'invalid_json' });
    });

    it('lists the route in the OpenAPI document', async () => {
      const document = (await app.app.inject({ url: '/docs/openapi.json' })).json();
      const operation = document.paths[INVESTIGATE_PATH]?.post;
      expect(operation?.requestBody?.content?.['application/json']?.schema?.required).toEqual(
        expect.arrayContaining(['surface', 'state']),
      );
      expect(Object.keys(operation?.responses ?? {})).toEqual(expect.arrayContaining(['200', '201', '502']));
    });
  });
});
