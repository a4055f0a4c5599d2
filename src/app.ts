import { randomUUID } from 'node:crypto';
import swagger from '@fastify/swagger';
import Fastify, { type FastifyReply, LogController } from 'fastify';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { Logger } from 'pino';
import type { Config } from './config.ts';
import type { Db } from './db/database.ts';
import { autolinkRoutes } from './features/autolink/routes.ts';
import { freescoutWebhookRoutes } from './features/freescout-webhooks/routes.ts';
import { githubSyncRoutes } from './features/github-sync/routes.ts';
import { healthRoutes } from './features/health/routes.ts';
import { investigateRoutes } from './features/investigate/routes.ts';
import { postmarkRoutes } from './features/postmark/routes.ts';
import { type Clock, systemClock } from './lib/clock.ts';
import type { Clients, FeatureDeps } from './lib/deps.ts';
import { clientErrorHandler, errorHandler, notFoundHandler } from './lib/error-handler.ts';
import { httpError } from './lib/errors.ts';
import { createInternalAuthorizer, isInternalPath } from './lib/internal-auth.ts';
import { parseJsonBody, rawBodyParser } from './lib/raw-body.ts';

export const BODY_LIMIT_BYTES = 1024 * 1024;

export interface AppDeps {
  config: Config;
  db: Db;
  log: Logger;
  clock?: Clock;
  clients?: Clients;
  /** Pollers and outbox senders; off unless asked for, so tests drive them directly. */
  backgroundJobs?: boolean;
}

/** Composes the service top-down: plugins, cross-cutting hooks, then each feature's routes. */
export async function buildApp(deps: AppDeps) {
  const app = Fastify({
    loggerInstance: deps.log,
    bodyLimit: BODY_LIMIT_BYTES,
    requestIdHeader: 'x-request-id',
    genReqId: () => randomUUID(),
    // Per-request lines are written by the onResponse hook below, for failures only (the webhooks are hot paths).
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: true,
    clientErrorHandler,
    // A URL Fastify cannot decode (`/healthz/%zz`) gets the same error shape as everything else.
    frameworkErrors: (error, _request, reply) => {
      (reply as FastifyReply).code(400).send({ error: 'bad_request', message: error.message });
    },
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler(notFoundHandler);

  // Every JSON body keeps its raw bytes: webhook signatures are computed over them.
  // JSON only: Fastify's built-in text/plain parser would hand a signed body to a webhook
  // without its raw bytes, turning a wrong content type into a misleading 401.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, rawBodyParser);
  app.addHook('preValidation', async (request) => {
    if (request.rawBody && request.routeOptions.config.rawBody !== true) {
      request.body = parseJsonBody(request.rawBody);
    }
  });

  const isAuthorized = createInternalAuthorizer(deps.config.internalAuth);
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
    const internal = isInternalPath(request.url) || isInternalPath(request.routeOptions.url ?? '');
    if (internal && !(await isAuthorized(request))) {
      throw httpError(401, 'unauthorized', 'a valid bearer token or Cloudflare Access assertion is required');
    }
  });
  app.addHook('onResponse', async (request, reply) => {
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
    clock: deps.clock ?? systemClock,
    clients: deps.clients ?? {},
    backgroundJobs: deps.backgroundJobs ?? false,
  };
  await app.register(healthRoutes, featureDeps);
  await app.register(freescoutWebhookRoutes, featureDeps);
  await app.register(investigateRoutes, featureDeps);
  await app.register(postmarkRoutes, featureDeps);
  await app.register(autolinkRoutes, featureDeps);
  await app.register(githubSyncRoutes, featureDeps);

  app.get('/docs/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  return app;
}

export type App = Awaited<ReturnType<typeof buildApp>>;
