import type { FastifyPluginAsync, FastifyTypeProviderDefault, RawServerDefault } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { FeatureDeps } from '../../lib/deps.ts';
import { errorSchema, httpError } from '../../lib/errors.ts';
import { requireFeature } from '../../lib/flags.ts';
import { intakeMissing, notConfigured } from '../../lib/readiness.ts';
import { investigateSpec } from './readiness.ts';
import { investigateSurface, TicketOutcomeUnknownError } from './service.ts';

const investigateBodySchema = z.object({
  surface: z.string().trim().min(1).max(200).describe('the console surface (tile) whose state is shown'),
  state: z.string().trim().min(1).max(100).describe('the state the tile shows, e.g. DEGRADED'),
  tile_url: z
    .url({ protocol: /^https?$/ })
    .max(2048)
    .nullish()
    .describe('link back to the console tile, written into the ticket'),
  detail: z.string().max(5000).nullish(),
  requested_by: z.string().trim().max(200).nullish(),
});

const ticketSchema = z.object({
  ticket_url: z.string(),
  conversation_id: z.number().int(),
  workflow_id: z.string(),
  deduplicated: z.boolean(),
});

// Typed with the app's pino logger (`buildApp` passes it to Fastify), so `request.log` is the
// request's child of it and serves as the service's `log`.
export const investigateRoutes: FastifyPluginAsync<
  FeatureDeps,
  RawServerDefault,
  FastifyTypeProviderDefault,
  Logger
> = async (app, deps) => {
  const { config } = deps;
  const intakeUnset = intakeMissing(investigateSpec(config));

  app.addHook(
    'onRequest',
    requireFeature(config.investigate.enabled, 'FLAG_CONSOLE_INVESTIGATE_FROM_STATUS'),
  );
  // Before the body is validated: a deploy missing its configuration says so whatever it is sent.
  app.addHook('onRequest', async () => {
    if (intakeUnset.length > 0) throw notConfigured(intakeUnset);
  });

  app.withTypeProvider<ZodTypeProvider>().post(
    '/api/console/status/investigate',
    {
      config: { access: 'internal' },
      schema: {
        summary: 'Open (or return) the Operations ticket investigating a console surface',
        security: [{ internalToken: [] }, { cfAccess: [] }],
        body: investigateBodySchema,
        response: {
          200: ticketSchema.describe('a ticket for this surface already exists within the dedup window'),
          201: ticketSchema.describe('a new ticket was created'),
          502: errorSchema,
        },
      },
    },
    async (request, reply) => {
      const { surface, state, tile_url, detail, requested_by } = request.body;
      const result = await investigateSurface(
        { ...deps, log: request.log },
        {
          surface,
          state,
          ...(tile_url ? { tileUrl: tile_url } : {}),
          ...(detail ? { detail } : {}),
          ...(requested_by ? { requestedBy: requested_by } : {}),
        },
      ).catch((error: unknown) => {
        if (!(error instanceof TicketOutcomeUnknownError)) throw error;
        const seconds = Math.max(
          1,
          Math.ceil((error.settlesAt.getTime() - deps.clock.now().getTime()) / 1000),
        );
        reply.header('retry-after', String(seconds));
        throw httpError(503, 'ticket_outcome_unknown', error.message);
      });
      return reply.code(result.deduplicated ? 200 : 201).send({
        ticket_url: result.ticketUrl,
        conversation_id: result.conversationId,
        workflow_id: result.workflowId,
        deduplicated: result.deduplicated,
      });
    },
  );
};
