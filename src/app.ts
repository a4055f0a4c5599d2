import { randomUUID } from 'node:crypto';
import cors from '@fastify/cors';
import swagger from '@fastify/swagger';
import Fastify, { type FastifyReply, type FastifyRequest, LogController } from 'fastify';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { Logger } from 'pino';
import type { Config } from './config.ts';
import type { Db } from './db/database.ts';
import { enqueueEvaluation } from './features/autolink/inbox.ts';
import * as autolink from './features/autolink/index.ts';
import * as freescoutWebhooks from './features/freescout-webhooks/index.ts';
import * as githubSync from './features/github-sync/index.ts';
import * as health from './features/health/index.ts';
import * as investigate from './features/investigate/index.ts';
import * as links from './features/links/index.ts';
import * as ops from './features/ops/index.ts';
import * as postmark from './features/postmark/index.ts';
import { type Clock, systemClock } from './lib/clock.ts';
import { consoleCorsOptions, isPreflight } from './lib/console-cors.ts';
import { createDeliveryLog } from './lib/delivery-log.ts';
import type { Clients, FeatureDeps } from './lib/deps.ts';
import {
  clientErrorHandler,
  createErrorHandler,
  createNotFoundHandler,
  createOutageLog,
} from './lib/error-handler.ts';
import { httpError } from './lib/errors.ts';
import { accessOf, assertDeclaredAccess, createInternalAuthorizer } from './lib/internal-auth.ts';
import { createMethodIndex } from './lib/method-index.ts';
import { createMetrics, type Upstream } from './lib/metrics.ts';
import { observeRequests } from './lib/observability.ts';
import {
  findUnstorableString,
  parseJsonBody,
  rawBodyParser,
  refuseEncodedBody,
  unstorableString,
} from './lib/raw-body.ts';
import { addDefaultRouteSchema } from './lib/route-defaults.ts';
import { allReadiness } from './registry.ts';

export const BODY_LIMIT_BYTES = 1024 * 1024;
/** Headers must arrive within this (or the request timeout, when shorter). */
const HEADERS_TIMEOUT_MS = 10_000;

export interface AppDeps {
  config: Config;
  db: Db;
  log: Logger;
  clock?: Clock;
  clients?: Clients;
  /** Accepted on internal routes from loopback: the CLI beside a server on the embedded database. */
  localToken?: string;
}

/**
 * Composes the service top-down: plugins, cross-cutting hooks, then each feature's routes.
 * Routes only: background jobs are started by `server.ts` / `worker.ts` (see `src/jobs.ts`).
 */
export async function buildApp(deps: AppDeps) {
  const app = Fastify({
    loggerInstance: deps.log,
    bodyLimit: BODY_LIMIT_BYTES,
    requestIdHeader: 'x-request-id',
    genReqId: () => randomUUID(),
    // Per-request lines are written by the onResponse hook below, for failures only (the webhooks are hot paths).
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: true,
    // A client trickling its headers or body holds a socket only this long, then gets 408 and is
    // closed (Node checks every second). Keep-alive sockets idle between requests are closed too.
    requestTimeout: deps.config.http.requestTimeoutMs,
    connectionTimeout: deps.config.http.requestTimeoutMs * 2,
    http: {
      headersTimeout: Math.min(HEADERS_TIMEOUT_MS, deps.config.http.requestTimeoutMs),
      connectionsCheckingInterval: 1_000,
    },
    clientErrorHandler,
    // A URL Fastify cannot decode (`/healthz/%zz`) gets the same error shape as everything else.
    frameworkErrors: (error, _request, reply) => {
      (reply as FastifyReply).code(400).send({ error: 'bad_request', message: error.message });
    },
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  const outageLog = createOutageLog(deps.log);
  app.addHook('onClose', async () => outageLog.stop());
  // Refused for a database outage: counted by the outage log instead of a line each.
  const outageRefusals = new WeakSet<FastifyRequest>();
  app.setErrorHandler(
    createErrorHandler({
      databaseUnavailable(error, request) {
        outageRefusals.add(request);
        outageLog.databaseUnavailable(error);
      },
    }),
  );
  const methods = createMethodIndex();
  app.decorate('declaredRoutes', []);
  app.addHook('onRoute', (route) => {
    // CORS's catch-all OPTIONS route answers preflights only: public, and it makes no path known.
    if (route.url === '*' && route.method === 'OPTIONS') {
      route.config = { ...route.config, access: 'public' };
      return;
    }
    app.declaredRoutes.push(...assertDeclaredAccess(route));
    methods.add(route.url, route.method);
    addDefaultRouteSchema(route);
  });
  app.setNotFoundHandler(createNotFoundHandler(methods.allowed));

  // Every JSON body keeps its raw bytes: webhook signatures are computed over them.
  // JSON only: Fastify's built-in text/plain parser would hand a signed body to a webhook
  // without its raw bytes, turning a wrong content type into a misleading 401.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, rawBodyParser);
  app.addHook('onRequest', async (request, reply) => refuseEncodedBody(request, reply));
  app.addHook('preValidation', async (request) => {
    // Postgres stores no NUL and no lone surrogate: refused here for every route's query and
    // path parameters, and by parseJsonBody for every body.
    const where =
      findUnstorableString(request.query, 'querystring') ?? findUnstorableString(request.params, 'params');
    if (where !== undefined) throw unstorableString(where);
    if (request.rawBody && request.routeOptions.config.rawBody !== true) {
      request.body = parseJsonBody(request.rawBody);
    }
  });

  const { internalAuth } = deps.config;
  if (!internalAuth.token && !internalAuth.cfAccess) {
    deps.log.warn(
      'neither INTERNAL_API_TOKEN nor CF_ACCESS_TEAM_DOMAIN/CF_ACCESS_AUD is set: internal routes trust every loopback client, which behind a proxy on the same host is every client',
    );
  }
  await app.register(cors, consoleCorsOptions(deps.config.console.origins));
  const clock = deps.clock ?? systemClock;
  const isAuthorized = createInternalAuthorizer(internalAuth, clock, deps.localToken);
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
    // A preflight carries no credentials: CORS answers it (with headers only for CONSOLE_ORIGINS).
    if (isPreflight(request)) return;
    if (accessOf(request) === 'internal' && !(await isAuthorized(request))) {
      throw httpError(401, 'unauthorized', 'a valid bearer token or Cloudflare Access assertion is required');
    }
  });
  app.addHook('onResponse', async (request, reply) => {
    if (outageRefusals.has(request)) return;
    if (reply.statusCode >= 400 || deps.log.isLevelEnabled('debug')) {
      request.log.info(
        {
          method: request.method,
          url: request.routeOptions.url,
          status: reply.statusCode,
          ms: reply.elapsedTime,
        },
        'request completed',
      );
    }
  });

  await app.register(swagger, {
    openapi: {
      info: { title: 'Raptor ops bridge', version: '0.1.0' },
      components: {
        securitySchemes: {
          internalToken: { type: 'http', scheme: 'bearer' },
          cfAccess: { type: 'apiKey', in: 'header', name: 'Cf-Access-Jwt-Assertion' },
        },
      },
    },
    transform: jsonSchemaTransform,
  });

  const featureDeps: FeatureDeps = {
    config: deps.config,
    db: deps.db,
    log: deps.log,
    clock,
    clients: deps.clients ?? {},
    hooks: {
      // Investigate → autolink through autolink's durable inbox, so its worker does the work
      // under the same claims as for a webhook.
      ...(deps.config.autolink.enabled
        ? {
            onTicketCreated: async (conversationId: number) => {
              await enqueueEvaluation(
                deps.db,
                { conversationId, origin: 'created_by_service', reason: 'investigate' },
                clock.now(),
              );
            },
          }
        : {}),
    },
  };
  const observability = observeRequests(app, {
    metrics: createMetrics(upstreamsOf(deps.config)),
    deliveryLog: createDeliveryLog({
      db: deps.db,
      log: deps.log,
      enabled: deps.config.ops.deliveryLogRetentionDays > 0,
    }),
    clock: featureDeps.clock,
  });
  await app.register(health.routes, featureDeps);
  await app.register(freescoutWebhooks.routes, featureDeps);
  await app.register(investigate.routes, featureDeps);
  await app.register(postmark.routes, featureDeps);
  await app.register(autolink.routes, featureDeps);
  await app.register(githubSync.routes, featureDeps);
  await app.register(links.routes, featureDeps);
  await app.register(ops.routes, { ...featureDeps, observability, readiness: allReadiness(deps.config) });

  app.get('/docs/openapi.json', { config: { access: 'public' }, schema: { hide: true } }, async () =>
    app.swagger(),
  );
  return app;
}

export type App = Awaited<ReturnType<typeof buildApp>>;

/** The external APIs whose calls `/metrics` counts, by the origin each is configured at. */
function upstreamsOf(config: Config): Upstream[] {
  const upstreams: Upstream[] = [];
  if (config.freescout.api) upstreams.push({ name: 'freescout', url: config.freescout.api.baseUrl });
  upstreams.push({ name: 'github', url: config.github.apiUrl });
  upstreams.push({ name: 'slack', url: config.slack.apiUrl });
  if (config.postmark.alertsSourceUrl)
    upstreams.push({ name: 'alerts', url: config.postmark.alertsSourceUrl });
  return upstreams;
}
