import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { Clock } from './clock.ts';
import { type DeliveryLog, isWebhookRoute } from './delivery-log.ts';
import type { Metrics } from './metrics.ts';

export interface Observability {
  metrics: Metrics;
  deliveryLog: DeliveryLog;
  /** Every webhook route pattern registered, in registration order (the page lists each). */
  webhookRoutes: string[];
}

const SIGNATURE_REFUSAL = /"error"\s*:\s*"(invalid_signature|unauthorized)"/;

/**
 * Counts every answered request and records every webhook in the delivery log. Must be called
 * before the features register their routes, so its `onRoute` hook sees them all. Work on the
 * request path is a counter increment and an array push; parsing waits for the log's flush.
 */
export function observeRequests(
  app: FastifyInstance<Server, IncomingMessage, ServerResponse, Logger>,
  deps: Omit<Observability, 'webhookRoutes'> & { clock: Clock },
): Observability {
  const webhookRoutes: string[] = [];
  const replies = new WeakMap<FastifyRequest, unknown>();

  app.addHook('onRoute', (route) => {
    if (isWebhookRoute(route.url, route.config) && !webhookRoutes.includes(route.url)) {
      webhookRoutes.push(route.url);
    }
  });
  app.addHook('onSend', async (request, _reply, payload) => {
    if (isWebhookRoute(request.routeOptions.url, request.routeOptions.config)) replies.set(request, payload);
    return payload;
  });
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url;
    const status = reply.statusCode;
    deps.metrics.httpRequests.inc({ method: request.method, route: route ?? 'unmatched', status });
    if (!route || !isWebhookRoute(route, request.routeOptions.config)) return;
    const payload = replies.get(request);
    if (status === 401 && typeof payload === 'string' && SIGNATURE_REFUSAL.test(payload)) {
      deps.metrics.signatureFailures.inc({ route });
    }
    const hasEventHeader =
      request.headers['x-freescout-event'] !== undefined || request.headers['x-github-event'] !== undefined;
    deps.deliveryLog.record({
      receivedAt: new Date(deps.clock.now().getTime() - reply.elapsedTime),
      route,
      status,
      durationMs: reply.elapsedTime,
      headers: request.headers,
      body: hasEventHeader ? undefined : request.rawBody,
      reply: payload,
    });
  });
  app.addHook('onClose', async () => {
    await deps.deliveryLog.close();
    deps.metrics.close();
  });
  return { metrics: deps.metrics, deliveryLog: deps.deliveryLog, webhookRoutes };
}
