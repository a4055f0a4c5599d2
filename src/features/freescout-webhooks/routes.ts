import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { FeatureDeps } from '../../lib/deps.ts';
import { errorSchema } from '../../lib/errors.ts';
import { requireFeature } from '../../lib/flags.ts';
import { conversationUrl } from '../../lib/freescout-intake.ts';
import { conversationIdSchema } from '../../lib/ids.ts';
import { recordOperatorInteraction } from './audit.ts';
import { createTicketCacheWriter } from './cache.ts';
import { interpretDelivery, readSignedDelivery, requireSignedDelivery } from './delivery.ts';
import { deliverSecurityNotifications } from './notifications.ts';
import {
  type AccessGrant,
  applyRbacDelivery,
  createAccessGrant,
  isGrantActive,
  listAccessGrants,
} from './rbac.ts';

const webhookReplySchema = z.object({
  ok: z.literal(true),
  ignored: z.boolean().optional(),
  ticket_id: z.number().optional(),
  status: z.string().optional(),
  updated: z.boolean().optional(),
  revoked: z.number().optional(),
});
/** Documents the payload; the handler verifies the signature over the raw bytes, then parses it. */
const conversationBodySchema = z
  .looseObject({
    id: conversationIdSchema,
    status: z.enum(['active', 'pending', 'closed', 'spam']),
    state: z.string().optional(),
    updatedAt: z.string().optional().describe('ISO 8601; at most 5 minutes ahead of our clock'),
  })
  .describe('the FreeScout conversation (a delete may carry only its id)');

const webhookSchema = (description: string) => ({
  description: `${description} Signed with X-FreeScout-Signature (base64 HMAC-SHA1, or HMAC-SHA256 hex/base64) over the raw body; event in X-FreeScout-Event.`,
  body: conversationBodySchema,
  response: {
    200: webhookReplySchema,
  },
});

const interactionSchema = z.object({
  operator_id: z.string().trim().min(1).max(200),
  ticket_id: conversationIdSchema,
  action: z.string().trim().min(1).max(200),
  resource: z.string().max(500).optional(),
});

const grantInputSchema = z.object({
  operator_id: z.string().trim().min(1).max(200),
  ticket_id: conversationIdSchema,
  scope: z.string().trim().min(1).max(200),
  expires_at: z.iso.datetime({ offset: true }).optional(),
});

const grantSchema = z.object({
  id: z.number(),
  operator_id: z.string(),
  ticket_id: z.number(),
  scope: z.string(),
  granted_at: z.string(),
  expires_at: z.string().nullable(),
  revoked_at: z.string().nullable(),
  revoke_reason: z.string().nullable(),
  active: z.boolean(),
});

const grantQuerySchema = z.object({
  operator_id: z.string().min(1).optional(),
  active: z.enum(['true', 'false', '1', '0']).optional(),
});

const iso = (value: Date | string | null) => (value === null ? null : new Date(value).toISOString());

export const freescoutWebhookRoutes: FastifyPluginAsync<FeatureDeps> = async (base, deps) => {
  const app = base.withTypeProvider<ZodTypeProvider>();
  const { config, db, clock, log } = deps;
  const settings = config.freescoutWebhooks;
  const auditEnabled = requireFeature(settings.auditEnabled, 'FLAG_FREESCOUT_WEBHOOK_RECEIVE');
  const rbacEnabled = requireFeature(settings.rbacEnabled, 'FLAG_FREESCOUT_RBAC_REVOKE');
  const { publicUrl } = config.freescout;
  const ticketUrl = publicUrl ? (ticketId: number) => conversationUrl(publicUrl, ticketId) : undefined;

  const cacheWriter = createTicketCacheWriter({ db, clock }, settings.cacheTtlSeconds);
  let sending: Promise<unknown> = Promise.resolve();
  /** Sends right after the commit instead of waiting for the retry loop; never blocks the reply. */
  const sendNotificationsNow = () => {
    sending = sending
      .then(() => deliverSecurityNotifications(deps))
      .catch((error: unknown) => {
        log.error({ err: error }, 'security notification send failed');
      });
  };

  app.post(
    '/api/internal/freescout-webhook/audit',
    {
      config: { access: 'signature', rawBody: true },
      onRequest: [auditEnabled, requireSignedDelivery(settings.auditSecrets)],
      schema: webhookSchema('Keeps freescout_ticket_cache current.'),
    },
    async (request) => {
      const event = interpretDelivery(readSignedDelivery(request, settings.auditSecrets), clock.now());
      if (event.kind === 'ignored') return { ok: true as const, ignored: true };
      const { snapshot } = event;
      const updated = await cacheWriter.write(snapshot);
      request.log.info(
        { freescout_audit: true, ticket_id: snapshot.ticketId, status: snapshot.status, updated },
        'freescout_audit',
      );
      return { ok: true as const, ticket_id: snapshot.ticketId, status: snapshot.status, updated };
    },
  );

  app.post(
    '/api/internal/freescout-webhook/rbac',
    {
      config: { access: 'signature', rawBody: true },
      onRequest: [rbacEnabled, requireSignedDelivery(settings.rbacSecrets)],
      schema: webhookSchema('Revokes access grants when a ticket closes.'),
    },
    async (request) => {
      const event = interpretDelivery(readSignedDelivery(request, settings.rbacSecrets), clock.now());
      if (event.kind === 'ignored') return { ok: true as const, ignored: true };
      const { revoked } = await applyRbacDelivery(deps, event.snapshot);
      if (revoked > 0)
        request.log.info(
          { freescout_rbac: true, ticket_id: event.snapshot.ticketId, revoked },
          'grants revoked',
        );
      return { ok: true as const, revoked };
    },
  );

  app.post(
    '/api/internal/audit/operator-interactions',
    {
      config: { access: 'internal' },
      onRequest: auditEnabled,
      schema: {
        description:
          'Records an operator_interaction audit event; path B also notifies the operator on Slack.',
        body: interactionSchema,
        response: {
          201: z.object({ id: z.number(), ticket_state_at_read: z.string(), path: z.enum(['A', 'B']) }),
        },
      },
    },
    async (request, reply) => {
      const recorded = await recordOperatorInteraction(
        { db, clock, ...(ticketUrl ? { ticketUrl } : {}) },
        request.body,
      );
      if (recorded.path === 'B') sendNotificationsNow();
      return reply.code(201).send(recorded);
    },
  );

  const grantReply = (grant: AccessGrant) => ({
    id: grant.id,
    operator_id: grant.operator_id,
    ticket_id: grant.ticket_id,
    scope: grant.scope,
    granted_at: new Date(grant.granted_at).toISOString(),
    expires_at: iso(grant.expires_at),
    revoked_at: iso(grant.revoked_at),
    revoke_reason: grant.revoke_reason,
    active: isGrantActive(grant, clock.now()),
  });

  app.post(
    '/api/internal/rbac/grants',
    {
      config: { access: 'internal' },
      onRequest: rbacEnabled,
      schema: {
        description: "Grants an operator temporary access tied to an open ticket (409 when it isn't open).",
        body: grantInputSchema,
        response: { 201: grantSchema, 409: errorSchema },
      },
    },
    async (request, reply) => {
      const { expires_at, ...input } = request.body;
      const grant = await createAccessGrant(deps, {
        ...input,
        expires_at: expires_at === undefined ? undefined : new Date(expires_at),
      });
      return reply.code(201).send(grantReply(grant));
    },
  );

  app.get(
    '/api/internal/rbac/grants',
    {
      config: { access: 'internal' },
      onRequest: rbacEnabled,
      schema: {
        description: 'Lists access grants, newest first.',
        querystring: grantQuerySchema,
        response: { 200: z.object({ grants: z.array(grantSchema) }) },
      },
    },
    async (request) => {
      const { operator_id, active } = request.query;
      const grants = await listAccessGrants(deps, {
        operator_id,
        active: active === undefined ? undefined : active === 'true' || active === '1',
      });
      return { grants: grants.map(grantReply) };
    },
  );

  // Sends started by a request finish before the database closes.
  app.addHook('onClose', async () => {
    await sending;
  });
};
