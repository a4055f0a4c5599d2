import { randomBytes } from 'node:crypto';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { crossSiteRefusal } from '../../lib/cross-site.ts';
import type { FeatureDeps } from '../../lib/deps.ts';
import { httpError } from '../../lib/errors.ts';
import { tokenMatches } from '../../lib/hmac.ts';
import { refuseCrossSite } from '../../lib/internal-auth.ts';
import { listLimitSchema } from '../../lib/list-limit.ts';
import type { Observability } from '../../lib/observability.ts';
import { issueSession, sessionCookie } from '../../lib/ops-session.ts';
import type { FeatureReadiness } from '../../lib/readiness.ts';
import { listLoggedDeliveries } from './deliveries.ts';
import { registerDatabaseGauges } from './gauges.ts';
import { renderOpsMain, renderOpsPage, renderSignIn } from './page.ts';
import { runbookRoutes } from './runbook-routes.ts';
import { readOpsSummary } from './summary.ts';

export interface OpsDeps extends FeatureDeps {
  observability: Observability;
  readiness: FeatureReadiness[];
}

const internalSecurity: Array<Record<string, string[]>> = [{ internalToken: [] }, { cfAccess: [] }];

export const deliveriesQuerySchema = z.object({
  route: z.string().trim().min(1).max(300).optional(),
  status: z
    .string()
    .regex(
      /^([1-5][0-9][0-9]|[1-5]xx|processed|accepted|ignored|rejected|failed)$/i,
      'expected a status code (401), a class (4xx) or an outcome (processed, accepted, ignored, rejected, failed)',
    )
    .optional(),
  limit: listLimitSchema,
});

export const loggedDeliverySchema = z.object({
  id: z.number(),
  received_at: z.string(),
  route: z.string(),
  event: z.string().nullable(),
  delivery_id: z.string().nullable(),
  status: z.number(),
  duration_ms: z.number(),
  outcome: z.enum(['processed', 'accepted', 'ignored', 'rejected', 'failed']),
  detail: z.string().nullable(),
});

/** The page's own script and styles run by nonce; it may reach nothing but this service. */
function contentSecurityPolicy(nonce: string): string {
  return [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    `style-src 'nonce-${nonce}'`,
    "connect-src 'self'",
    "img-src 'self' data:",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join('; ');
}

/**
 * Every HTML answer's headers. `Referrer-Policy: same-origin`: links out (GitHub issues,
 * FreeScout tickets) carry no referrer, while the page's own form posts keep a real `Origin`
 * and `Referer` — with `no-referrer` Chromium posts them with `Origin: null` (docs/decisions.md).
 */
function htmlHeaders(reply: FastifyReply, nonce: string): FastifyReply {
  return reply
    .header('content-type', 'text/html; charset=utf-8')
    .header('content-security-policy', contentSecurityPolicy(nonce))
    .header('cache-control', 'no-store')
    .header('referrer-policy', 'same-origin')
    .header('x-content-type-options', 'nosniff');
}

function sendHtml(reply: FastifyReply, status: number, render: (nonce: string) => string) {
  const nonce = randomBytes(16).toString('base64');
  return htmlHeaders(reply.code(status), nonce).send(render(nonce));
}

const wantsHtml = (request: FastifyRequest) => /text\/html/i.test(request.headers.accept ?? '');
const isFormPost = (request: FastifyRequest) =>
  /^application\/x-www-form-urlencoded/i.test(request.headers['content-type'] ?? '');
const overHttps = (request: FastifyRequest) =>
  /^https$/i.test(
    String(request.headers['x-forwarded-proto'] ?? '')
      .split(',')[0]
      ?.trim() ?? '',
  );

export const opsRoutes: FastifyPluginAsync<OpsDeps> = async (base, deps) => {
  const app = base.withTypeProvider<ZodTypeProvider>();
  const { config, db, clock, observability } = deps;
  const token = config.internalAuth.token;
  registerDatabaseGauges(observability.metrics.registry, { db, clock });
  await base.register(runbookRoutes, deps);

  // Reads first write this instance's buffered log rows, so a delivery just answered is listed.
  const summary = async () => {
    await observability.deliveryLog.flush();
    return readOpsSummary(
      { db, config, clock },
      { readiness: deps.readiness, webhookRoutes: observability.webhookRoutes },
    );
  };

  // The sign-in form posts urlencoded; only this plugin's routes accept it.
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string', bodyLimit: 4096 },
    (_request, body, done) => done(null, Object.fromEntries(new URLSearchParams(String(body)))),
  );

  app.get(
    '/ops',
    {
      config: { access: 'internal' },
      schema: {
        summary: 'The operator page (HTML): health, email, FreeScout, GitHub links, Investigate, deliveries',
        security: internalSecurity,
        querystring: z.object({ part: z.enum(['main']).optional() }),
      },
      // A browser refused for want of credentials gets the sign-in form instead of JSON.
      onSend: async (request, reply, payload) => {
        if (reply.statusCode !== 401 || !token || !wantsHtml(request)) return payload;
        const nonce = randomBytes(16).toString('base64');
        htmlHeaders(reply, nonce);
        return renderSignIn(nonce);
      },
    },
    async (request, reply) => {
      const data = await summary();
      if (request.query.part === 'main') return sendHtml(reply, 200, () => renderOpsMain(data));
      return sendHtml(reply, 200, (nonce) => renderOpsPage(data, nonce, token !== undefined));
    },
  );

  app.get(
    '/ops/sign-in',
    // Reachable before signing in: it is how one signs in.
    { config: { access: 'public' }, schema: { hide: true } },
    async (_request, reply) => {
      if (!token) return reply.redirect('/ops', 303);
      return sendHtml(reply, 200, (nonce) => renderSignIn(nonce));
    },
  );

  // The page posts a form and gets pages back; a JSON client (`{"token"}`) gets JSON errors.
  app.post(
    '/ops/sign-in',
    {
      config: { access: 'public' },
      // A form whose token is over the limit is a wrong token, answered with the form.
      attachValidation: true,
      schema: {
        summary: 'Exchanges INTERNAL_API_TOKEN for the operator page session cookie (form post)',
        consumes: ['application/x-www-form-urlencoded', 'application/json'],
        body: z.object({ token: z.string().max(1000).optional() }),
      },
    },
    async (request, reply) => {
      if (!token) return reply.redirect('/ops', 303);
      const form = isFormPost(request);
      const refusal = crossSiteRefusal(request.headers);
      if (refusal !== undefined) {
        request.log.info({ reason: refusal }, 'cross-site sign-in refused');
        if (!form) throw httpError(403, 'cross_site_request', 'sign in from the operator page');
        return sendHtml(reply, 403, (nonce) =>
          renderSignIn(nonce, 'This sign-in was sent from another site and refused. Sign in here.'),
        );
      }
      if (request.validationError && !form) throw request.validationError;
      if (request.validationError || !tokenMatches(request.body?.token, [token])) {
        request.log.info('ops sign-in refused');
        if (!form) throw httpError(401, 'unauthorized', 'that token is not valid');
        return sendHtml(reply, 401, (nonce) => renderSignIn(nonce, 'That token is not valid.'));
      }
      reply.header('set-cookie', sessionCookie(issueSession(token, clock.now()), overHttps(request)));
      return reply.redirect('/ops', 303);
    },
  );

  // Public: clearing the browser's own cookie needs no credentials, so a person whose session
  // has expired still signs out. Another site's page may not sign anyone out.
  app.post(
    '/ops/sign-out',
    {
      config: { access: 'public' },
      schema: { summary: 'Clears the operator page session cookie and redirects to the sign-in form' },
    },
    async (request, reply) => {
      refuseCrossSite(request);
      reply.header('set-cookie', sessionCookie('', overHttps(request), 0));
      return reply.redirect(token ? '/ops/sign-in' : '/ops', 303);
    },
  );

  app.get(
    '/api/_internal/ops/summary',
    {
      config: { access: 'internal' },
      schema: { summary: "The operator page's data as JSON", security: internalSecurity },
    },
    async () => summary(),
  );

  app.get(
    '/api/_internal/deliveries',
    {
      config: { access: 'internal' },
      schema: {
        summary: 'The delivery log: every inbound webhook, newest first',
        security: internalSecurity,
        querystring: deliveriesQuerySchema,
        response: { 200: z.object({ deliveries: z.array(loggedDeliverySchema) }) },
      },
    },
    async (request) => {
      await observability.deliveryLog.flush();
      return { deliveries: await listLoggedDeliveries(db, request.query) };
    },
  );

  app.get(
    '/metrics',
    { config: { access: 'internal' }, schema: { summary: 'Prometheus metrics (text exposition format)' } },
    async (_request, reply) => {
      const { registry } = observability.metrics;
      return reply.header('content-type', registry.contentType).send(await registry.metrics());
    },
  );
};
