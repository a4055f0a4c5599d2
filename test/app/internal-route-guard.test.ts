import { describe, expect, it } from 'vitest';
import type { TestApp } from '../support/app.ts';
import { startFakeCloudflareAccess } from '../support/fake-cf-access.ts';
import { useFixture, useTestApp, useTestDatabase } from '../support/setup.ts';

// Any internal path works: the guard runs before routing, so an unknown one is 404 only once let in.
const INTERNAL_PATH = '/api/_internal/ping';
const AUDIENCE = 'raptor-aud-0123';

const database = useTestDatabase();
const cf = useFixture(startFakeCloudflareAccess);

async function statusOf(
  app: TestApp,
  headers: Record<string, string>,
  remoteAddress = '127.0.0.1',
  url = INTERNAL_PATH,
) {
  const response = await app.app.inject({ method: 'GET', url, headers, remoteAddress });
  return { status: response.statusCode, body: response.json() };
}

describe('with neither a token nor Cloudflare Access configured', () => {
  const app = useTestApp(() => ({ db: database.db }));

  it('lets loopback clients through', async () => {
    expect((await statusOf(app, {}, '127.0.0.1')).status).toBe(404);
    expect((await statusOf(app, {}, '::1')).status).toBe(404);
    expect((await statusOf(app, {}, '::ffff:127.0.0.1')).status).toBe(404);
  });

  it('refuses every other client with 401 unauthorized', async () => {
    const answer = await statusOf(app, {}, '203.0.113.9');
    expect(answer).toEqual({ status: 401, body: { error: 'unauthorized', message: expect.any(String) } });
  });

  it('guards every internal prefix, whatever the case or query string', async () => {
    for (const url of [
      '/api/console/status/investigate',
      '/api/internal/audit/x',
      '/api/internal/rbac/grants?active=true',
      '/API/_INTERNAL/x',
      '/api/_internal?x=1',
      '/ops',
      '/ops?part=main',
      '/metrics',
    ]) {
      expect((await statusOf(app, {}, '203.0.113.9', url)).status).toBe(401);
    }
  });

  it('leaves public routes alone', async () => {
    expect((await statusOf(app, {}, '203.0.113.9', '/healthz')).status).toBe(200);
  });
});

describe('with a bearer token and Cloudflare Access configured', () => {
  const app = useTestApp(() => ({
    db: database.db,
    env: {
      INTERNAL_API_TOKEN: 'internal-token-9f2c',
      CF_ACCESS_TEAM_DOMAIN: cf.teamDomain,
      CF_ACCESS_AUD: AUDIENCE,
    },
  }));

  it('no longer trusts loopback on its own', async () => {
    expect((await statusOf(app, {}, '127.0.0.1')).status).toBe(401);
  });

  it('accepts the bearer token and refuses a wrong one', async () => {
    expect((await statusOf(app, { authorization: 'Bearer internal-token-9f2c' }, '203.0.113.9')).status).toBe(
      404,
    );
    expect((await statusOf(app, { authorization: 'Bearer internal-token-9f2' }, '203.0.113.9')).status).toBe(
      401,
    );
    expect((await statusOf(app, { authorization: 'internal-token-9f2c' }, '203.0.113.9')).status).toBe(401);
  });

  it('accepts a valid Cloudflare Access assertion signed by the team key', async () => {
    const token = await cf.sign({ aud: AUDIENCE });
    expect((await statusOf(app, { 'cf-access-jwt-assertion': token }, '203.0.113.9')).status).toBe(404);
  });

  it('refuses an expired assertion, a wrong audience, a wrong issuer and a foreign key', async () => {
    const rejected = [
      await cf.sign({ aud: AUDIENCE, expiresIn: '-2m' }),
      await cf.sign({ aud: 'another-app' }),
      await cf.sign({ aud: AUDIENCE, issuer: 'https://evil.example' }),
      await cf.sign({ aud: AUDIENCE, key: 'stranger' }),
      'not-a-jwt',
    ];
    for (const token of rejected) {
      expect((await statusOf(app, { 'cf-access-jwt-assertion': token }, '203.0.113.9')).status).toBe(401);
    }
  });

  const now = () => Math.floor(Date.now() / 1000);
  it.each([
    ['no exp (a token that never expires)', () => cf.sign({ aud: AUDIENCE, expiresIn: null })],
    ['no iat', () => cf.sign({ aud: AUDIENCE, issuedAt: null })],
    [
      'an iat 5 minutes ahead',
      () => cf.sign({ aud: AUDIENCE, issuedAt: now() + 300, expiresIn: now() + 600 }),
    ],
    ['an nbf 5 minutes ahead', () => cf.sign({ aud: AUDIENCE, notBefore: now() + 300 })],
    ['an exp 2 minutes ago', () => cf.sign({ aud: AUDIENCE, issuedAt: now() - 600, expiresIn: now() - 120 })],
  ])('refuses a correctly signed assertion with %s: 401', async (_case, token) => {
    const answer = await statusOf(app, { 'cf-access-jwt-assertion': await token() }, '203.0.113.9');
    expect(answer).toEqual({ status: 401, body: { error: 'unauthorized', message: expect.any(String) } });
  });

  it.each([
    ['an iat 30 s ahead', () => cf.sign({ aud: AUDIENCE, issuedAt: now() + 30 })],
    ['an nbf 30 s ahead', () => cf.sign({ aud: AUDIENCE, notBefore: now() + 30 })],
    ['an exp 30 s ago', () => cf.sign({ aud: AUDIENCE, issuedAt: now() - 600, expiresIn: now() - 30 })],
  ])('allows Cloudflare 60 s of clock skew: accepts %s', async (_case, token) => {
    const answer = await statusOf(app, { 'cf-access-jwt-assertion': await token() }, '203.0.113.9');
    expect(answer.status).toBe(404);
  });
});
