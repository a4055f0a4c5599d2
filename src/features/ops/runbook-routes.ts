import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { FeatureDeps } from '../../lib/deps.ts';
import { errorSchema, httpError, UpstreamError } from '../../lib/errors.ts';
import { MAX_CONVERSATION_ID } from '../../lib/ids.ts';
import { listLimitSchema } from '../../lib/list-limit.ts';
import { freescoutApiRequirements, notConfigured } from '../../lib/readiness.ts';
import { listTicketCache } from './ticket-cache.ts';
import { registerFeatureWebhook, removeFeatureWebhook, WEBHOOK_FEATURES } from './webhook-registrations.ts';

/**
 * The runbooks' steps as routes, one per operation: what the CLI does against the database
 * itself on Postgres, a running server does for it on the embedded database (which serves one
 * process). `npm run cli` calls these over loopback then (see src/cli/runbook-access.ts).
 */

export const ticketCacheQuerySchema = z.object({
  ticket_id: z
    .string()
    .regex(/^[0-9]{1,10}$/, 'expected a FreeScout conversation id')
    .transform(Number)
    .pipe(z.number().int().min(1).max(MAX_CONVERSATION_ID))
    .optional()
    .describe('only this ticket’s row'),
  limit: listLimitSchema,
});

const cachedTicketSchema = z.object({
  ticket_id: z.number(),
  status: z.enum(['active', 'pending', 'closed', 'spam', 'deleted']),
  source: z.enum(['webhook', 'poll']),
  updated_at: z.string().describe('FreeScout’s updatedAt of the change the row holds'),
  refreshed_at: z.string().describe('when the service last wrote or confirmed the row'),
  ttl_expires: z.string(),
  expired: z.boolean().describe('past ttl_expires: reads treat the ticket as unknown'),
  updated_age_seconds: z.number(),
  refreshed_age_seconds: z.number(),
});

export const ticketCacheReplySchema = z.object({
  now: z.string().describe('the server’s clock, which the ages are counted from'),
  tickets: z.array(cachedTicketSchema),
});

const featureParams = z.object({ feature: z.enum(WEBHOOK_FEATURES) });

export const registerWebhookBodySchema = z.object({
  public_base: z
    .url({ protocol: /^https?$/, error: 'expected the http(s) base URL FreeScout reaches the service at' })
    .max(2000)
    .transform((url) => {
      const parsed = new URL(url);
      return `${parsed.origin}${parsed.pathname.replace(/\/+$/, '')}`;
    }),
});

export const registeredWebhookSchema = z.object({
  feature: z.enum(WEBHOOK_FEATURES),
  webhook_id: z.number(),
  url: z.string(),
  events: z.array(z.string()),
  replaced: z
    .object({ webhook_id: z.number(), deleted: z.boolean() })
    .nullable()
    .describe('the webhook this one replaced; deleted false when FreeScout no longer had it'),
});

export const removedWebhookSchema = z.object({
  feature: z.enum(WEBHOOK_FEATURES),
  removed: z
    .object({ webhook_id: z.number(), url: z.string(), deleted: z.boolean() })
    .nullable()
    .describe('null when nothing was registered'),
});

const upstreamFailure = errorSchema.describe(
  '`freescout_unavailable`: FreeScout refused or failed; nothing is remembered',
);

export const runbookRoutes: FastifyPluginAsync<FeatureDeps> = async (base, deps) => {
  const app = base.withTypeProvider<ZodTypeProvider>();
  const { config, db, clock } = deps;

  const freescout = () => {
    if (!deps.clients.freescout) {
      throw notConfigured(freescoutApiRequirements(config).map((requirement) => requirement.name));
    }
    return deps.clients.freescout;
  };
  const viaFreeScout = async <T>(run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (error) {
      if (error instanceof UpstreamError) throw httpError(502, 'freescout_unavailable', error.message);
      throw error;
    }
  };

  app.get(
    '/api/_internal/freescout/ticket-cache',
    {
      config: { access: 'internal' },
      schema: {
        summary: 'The FreeScout ticket cache: one ticket’s row, or the newest rows, with their ages',
        querystring: ticketCacheQuerySchema,
        response: { 200: ticketCacheReplySchema },
      },
    },
    async (request) => {
      const now = clock.now();
      const tickets = await listTicketCache(db, now, {
        ticketId: request.query.ticket_id,
        limit: request.query.limit,
      });
      return { now: now.toISOString(), tickets };
    },
  );

  app.put(
    '/api/_internal/freescout/webhooks/:feature',
    {
      config: { access: 'internal' },
      schema: {
        summary: "Registers (or replaces) the feature's FreeScout webhook, as `freescout webhooks register`",
        params: featureParams,
        body: registerWebhookBodySchema,
        response: { 200: registeredWebhookSchema, 502: upstreamFailure },
      },
    },
    async (request) => {
      const client = freescout();
      const { feature } = request.params;
      return viaFreeScout(() =>
        registerFeatureWebhook(
          { db, freescout: client, now: () => clock.now() },
          { feature, publicBase: request.body.public_base },
        ),
      );
    },
  );

  app.delete(
    '/api/_internal/freescout/webhooks/:feature',
    {
      config: { access: 'internal' },
      schema: {
        summary: "Removes the feature's FreeScout webhook and forgets it, as `freescout webhooks remove`",
        params: featureParams,
        response: { 200: removedWebhookSchema, 502: upstreamFailure },
      },
    },
    async (request) => {
      const client = freescout();
      return viaFreeScout(() => removeFeatureWebhook({ db, freescout: client }, request.params.feature));
    },
  );
};
