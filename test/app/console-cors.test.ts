import { describe, expect, it } from 'vitest';
import { useTestApp, useTestDatabase } from '../support/setup.ts';

const CONSOLE = 'https://console.raxx.test';
const TOKEN = 'internal-token-for-cors';

const database = useTestDatabase();
const instance = useTestApp(() => ({
  db: database.db,
  env: {
    LOG_LEVEL: 'silent',
    INTERNAL_API_TOKEN: TOKEN,
    CONSOLE_ORIGINS: `${CONSOLE}, https://staging-console.raxx.test/`,
    FLAG_FREESCOUT_GITHUB_AUTOLINK: '1',
    FLAG_CONSOLE_INVESTIGATE_FROM_STATUS: '1',
  },
}));

const preflight = (url: string, origin: string, method = 'PUT') =>
  instance.app.inject({
    method: 'OPTIONS',
    url,
    headers: {
      origin,
      'access-control-request-method': method,
      'access-control-request-headers': 'authorization',
    },
  });

describe('CORS for the console (CONSOLE_ORIGINS)', () => {
  it.each([
    ['/api/console/tickets/1/github-link', 'PUT'],
    ['/api/console/github-links?ticket_ids=1,2', 'GET'],
    ['/api/console/status/investigate', 'POST'],
  ])('answers the preflight of %s without credentials, with credentials allowed', async (url, method) => {
    const response = await preflight(url, CONSOLE, method);
    expect(response.statusCode).toBe(204);
    expect(response.headers['access-control-allow-origin']).toBe(CONSOLE);
    expect(response.headers['access-control-allow-credentials']).toBe('true');
    expect(String(response.headers['access-control-allow-methods'])).toContain(method);
    expect(String(response.headers['access-control-allow-headers']).toLowerCase()).toContain('authorization');
  });

  it('accepts every listed origin (a trailing slash in the setting is ignored)', async () => {
    const response = await preflight(
      '/api/console/tickets/1/github-link',
      'https://staging-console.raxx.test',
    );
    expect(response.headers['access-control-allow-origin']).toBe('https://staging-console.raxx.test');
  });

  it('adds the headers to an authorized call from the console, and the call still needs its token', async () => {
    const authorized = await instance.app.inject({
      method: 'GET',
      url: '/api/console/tickets/1/github-link',
      headers: { origin: CONSOLE, authorization: `Bearer ${TOKEN}` },
    });
    expect(authorized.statusCode).toBe(404);
    expect(authorized.json()).toMatchObject({ error: 'not_linked' });
    expect(authorized.headers['access-control-allow-origin']).toBe(CONSOLE);
    expect(authorized.headers['access-control-allow-credentials']).toBe('true');

    const anonymous = await instance.app.inject({
      method: 'GET',
      url: '/api/console/tickets/1/github-link',
      headers: { origin: CONSOLE },
    });
    expect(anonymous.statusCode).toBe(401);
  });

  it('gives no CORS headers to another origin, on a preflight or a call', async () => {
    const refused = await preflight('/api/console/tickets/1/github-link', 'https://evil.example');
    expect(refused.headers['access-control-allow-origin']).toBeUndefined();
    expect(refused.headers['access-control-allow-credentials']).toBeUndefined();
    const call = await instance.app.inject({
      method: 'GET',
      url: '/api/console/tickets/1/github-link',
      headers: { origin: 'https://evil.example', authorization: `Bearer ${TOKEN}` },
    });
    expect(call.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('gives no CORS headers outside /api/console, even to the console', async () => {
    for (const url of ['/api/_internal/ops/summary', '/healthz', '/api/webhooks/github']) {
      const response = await preflight(url, CONSOLE, 'POST');
      expect(response.headers['access-control-allow-origin']).toBeUndefined();
    }
  });
});
