import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { assertDeclaredAccess } from '../../src/lib/internal-auth.ts';
import { useTestApp, useTestDatabase } from '../support/setup.ts';

const database = useTestDatabase();
const app = useTestApp(() => ({ db: database.db }));

describe('route access', () => {
  // A new route must be added here with its access: the list is the review of who may call what.
  it('is declared by every registered route', () => {
    const listed = app.app.declaredRoutes
      .filter((route) => route.method !== 'HEAD')
      .map((route) => `${route.access.padEnd(9)} ${route.method} ${route.url}`);
    expect(listed).toEqual([
      'public    GET /healthz',
      'public    GET /readyz',
      'signature POST /api/internal/freescout-webhook/audit',
      'signature POST /api/internal/freescout-webhook/rbac',
      'internal  POST /api/internal/audit/operator-interactions',
      'internal  POST /api/internal/rbac/grants',
      'internal  GET /api/internal/rbac/grants',
      'internal  POST /api/console/status/investigate',
      'signature POST /webhooks/postmark/delivery',
      'internal  GET /api/_internal/postmark/recent-deliveries',
      'signature POST /api/webhooks/freescout/ops',
      'signature POST /api/webhooks/freescout/support',
      'internal  GET /api/_internal/autolink/deliveries',
      'internal  POST /api/_internal/autolink/deliveries/:id/retry',
      'signature POST /api/webhooks/github',
      'internal  GET /api/console/tickets/:ticket_id/github-link',
      'internal  GET /api/console/github-links',
      'internal  PUT /api/console/tickets/:ticket_id/github-link',
      'internal  DELETE /api/console/tickets/:ticket_id/github-link',
      'internal  GET /api/_internal/freescout/ticket-cache',
      'internal  PUT /api/_internal/freescout/webhooks/:feature',
      'internal  DELETE /api/_internal/freescout/webhooks/:feature',
      'internal  GET /ops',
      'public    GET /ops/sign-in',
      'public    POST /ops/sign-in',
      'public    POST /ops/sign-out',
      'internal  GET /api/_internal/ops/summary',
      'internal  GET /api/_internal/deliveries',
      'internal  GET /metrics',
      'public    GET /docs/openapi.json',
    ]);
  });

  it('gives a HEAD route the access of its GET', () => {
    const heads = app.app.declaredRoutes.filter((route) => route.method === 'HEAD');
    for (const head of heads) {
      const get = app.app.declaredRoutes.find((route) => route.method === 'GET' && route.url === head.url);
      expect(get?.access).toBe(head.access);
    }
  });

  it('stops the service at start when a route declares none', async () => {
    const bare = Fastify();
    bare.addHook('onRoute', (route) => {
      assertDeclaredAccess(route);
    });
    expect(() => bare.get('/unclassified', async () => ({ ok: true }))).toThrow(
      /GET \/unclassified declares no access/,
    );
    await bare.close();
  });
});
