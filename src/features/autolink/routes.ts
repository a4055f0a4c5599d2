import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AutolinkEventKind } from '../../db/schema.ts';
import type { FeatureDeps } from '../../lib/deps.ts';
import { errorSchema, httpError } from '../../lib/errors.ts';
import { requireFeature } from '../../lib/flags.ts';
import {
  assertSignatureHeader,
  assertSignedBody,
  canonicalEventName,
  freescoutEventName,
  freescoutStatusName,
} from '../../lib/freescout-intake.ts';
import { conversationIdSchema } from '../../lib/ids.ts';
import { assertPlausibleTime } from '../../lib/plausible-time.ts';
import { parseJsonBody } from '../../lib/raw-body.ts';
import { intakeMissing, notConfigured } from '../../lib/readiness.ts';
import { listDeliveries, replayDelivery, storeDelivery } from './inbox.ts';
import { autolinkSpec } from './readiness.ts';

const FLAG_NAME = 'FLAG_FREESCOUT_GITHUB_AUTOLINK';

/**
 * FreeScout's event names (aliases mapped by the shared intake, docs/api.md §6). Every other
 * conversation event only re-checks the criteria: FreeScout sends none when a tag is added,
 * so the next note, reply, assignment or Workflows webhook is when a new tag shows.
 */
const EVENT_KINDS: Record<string, AutolinkEventKind> = {
  'convo.created': 'created',
  'convo.status': 'status',
};

/** A custom event name (a FreeScout Workflows "Trigger Webhook" action) counts when its body is a conversation. */
const conversationShapeSchema = z
  .looseObject({
    id: z.number().int().positive(),
    mailboxId: z.number().int().optional(),
    threadsCount: z.number().int().optional(),
    number: z.number().int().optional(),
  })
  .refine(
    (body) => body.mailboxId !== undefined || body.threadsCount !== undefined || body.number !== undefined,
  );

/** What a delivery is: one of the kinds above, or nothing this route acts on. */
function classifyEvent(event: string, body: unknown): AutolinkEventKind | 'ignored' {
  const name = canonicalEventName(event);
  const known = EVENT_KINDS[name];
  if (known) return known;
  if (name === '' || name.startsWith('customer.')) return 'ignored';
  if (name.startsWith('convo.') || name.startsWith('conversation.')) return 'evaluate';
  return conversationShapeSchema.safeParse(body).success ? 'evaluate' : 'ignored';
}

/** Only what routing needs; the worker reads the ticket fresh from FreeScout before acting. */
const MAX_TIMESTAMP_CHARS = 64;
const conversationEventSchema = z.looseObject({
  id: conversationIdSchema,
  mailboxId: z.number().int().optional(),
  status: z.preprocess(freescoutStatusName, z.string().nullish()),
  // A timestamp is at most ~35 characters; closedAt becomes part of a primary key (one resolved
  // comment per close), which a long value would overflow in the worker, on every retry.
  closedAt: z.string().max(MAX_TIMESTAMP_CHARS).nullish(),
  updatedAt: z.string().max(MAX_TIMESTAMP_CHARS).nullish(),
});

const acceptedSchema = z.object({ ok: z.literal(true), delivery_id: z.number().int() });
const ignoredSchema = z.object({ ok: z.literal(true), ignored: z.literal(true) });

const deliveryStatusSchema = z.enum(['pending', 'processing', 'done', 'failed']);
const deliverySchema = z.object({
  id: z.number().int(),
  direction: z.enum(['freescout_to_github', 'github_to_freescout']),
  source: z.string(),
  event: z.string(),
  conversation_id: z.number().int().nullable(),
  issue_number: z.number().int().nullable(),
  status: deliveryStatusSchema,
  attempts: z.number().int(),
  last_error: z.string().nullable(),
  outcome: z.string().nullable(),
  next_attempt_at: z.string(),
  received_at: z.string(),
  updated_at: z.string(),
});

export const autolinkRoutes: FastifyPluginAsync<FeatureDeps> = async (app, deps) => {
  const { config, db, clock } = deps;
  const settings = config.autolink;
  const api = app.withTypeProvider<ZodTypeProvider>();
  // The operator routes serve both directions' inboxes; the webhook routes need Direction A's flag.
  api.addHook(
    'onRequest',
    requireFeature(
      settings.enabled || config.githubSync.enabled,
      `${FLAG_NAME} or FLAG_GITHUB_FREESCOUT_SYNC`,
    ),
  );
  const requireAutolink = requireFeature(settings.enabled, FLAG_NAME);
  const intakeUnset = intakeMissing(autolinkSpec(config));

  for (const source of ['ops', 'support'] as const) {
    api.post(
      `/api/webhooks/freescout/${source}`,
      {
        config: { access: 'signature', rawBody: true },
        // Refused before the body is read: no secret configured, or no usable signature header.
        onRequest: [
          requireAutolink,
          async (request) => {
            if (intakeUnset.length > 0) throw notConfigured(intakeUnset);
            assertSignatureHeader(request);
          },
        ],
        schema: {
          summary: `FreeScout ${source} mailbox webhook (GitHub autolink, Direction A)`,
          headers: z.looseObject({
            'x-freescout-event': z.string().optional(),
            'x-freescout-signature': z.string().optional(),
          }),
          response: {
            200: ignoredSchema,
            202: acceptedSchema,
          },
        },
      },
      async (request, reply) => {
        const raw = assertSignedBody(request, settings.webhookSecrets);
        const body = parseJsonBody(raw);
        const event = freescoutEventName(request);
        const kind = classifyEvent(event, body);
        if (kind === 'ignored') return reply.code(200).send({ ok: true, ignored: true });
        const parsed = conversationEventSchema.safeParse(body);
        if (!parsed.success) {
          const issue = parsed.error.issues[0];
          throw httpError(
            400,
            'invalid_payload',
            `expected a FreeScout conversation object with an integer id (${issue?.path.join('.') || 'body'}: ${issue?.message ?? 'invalid'})`,
          );
        }
        const conversation = parsed.data;
        // FreeScout sends this webhook for every mailbox (its API cannot limit one): another
        // mailbox's conversation is answered and dropped here. A close is kept wherever the
        // ticket now lives: a linked ticket (moved, or opened by Direction B) still gets its comment.
        const closing = kind === 'status' && conversation.status === 'closed';
        if (
          conversation.mailboxId !== undefined &&
          !settings.mailboxIds.includes(conversation.mailboxId) &&
          !closing
        ) {
          return reply.code(200).send({ ok: true, ignored: true });
        }
        for (const field of ['updatedAt', 'closedAt'] as const) {
          const value = conversation[field];
          if (value && !Number.isNaN(Date.parse(value)))
            assertPlausibleTime(new Date(value), clock.now(), field);
        }
        const deliveryId = await storeDelivery(
          { db, clock },
          {
            source,
            event,
            kind,
            conversationId: conversation.id,
            reportedStatus: kind === 'status' ? (conversation.status ?? null) : null,
            // Each close has its own closedAt: duplicates of one close share it, a re-close does not.
            closeKey: kind === 'status' ? (conversation.closedAt ?? conversation.updatedAt ?? null) : null,
            rawBody: raw,
          },
        );
        return reply.code(202).send({ ok: true, delivery_id: deliveryId });
      },
    );
  }

  api.get(
    '/api/_internal/autolink/deliveries',
    {
      config: { access: 'internal' },
      schema: {
        summary:
          'Deliveries of both autolink directions, newest first (status=failed lists the ones to replay)',
        querystring: z.object({
          status: deliveryStatusSchema.optional(),
          limit: z.coerce.number().int().min(1).max(500).default(100),
        }),
        response: { 200: z.object({ deliveries: z.array(deliverySchema) }) },
      },
    },
    async (request) => {
      const rows = await listDeliveries(db, { status: request.query.status, limit: request.query.limit });
      return {
        deliveries: rows.map((row) => ({
          ...row,
          next_attempt_at: new Date(row.next_attempt_at).toISOString(),
          received_at: new Date(row.received_at).toISOString(),
          updated_at: new Date(row.updated_at).toISOString(),
        })),
      };
    },
  );

  api.post(
    '/api/_internal/autolink/deliveries/:id/retry',
    {
      config: { access: 'internal' },
      schema: {
        summary: 'Replay one autolink delivery with a fresh attempt budget',
        params: z.object({ id: z.coerce.number().int().positive() }),
        response: {
          202: z.object({ ok: z.literal(true), delivery_id: z.number().int(), status: z.literal('pending') }),
          404: errorSchema,
          409: errorSchema,
        },
      },
    },
    async (request, reply) => {
      const result = await replayDelivery({ db, clock }, request.params.id);
      if (result === 'not_found')
        throw httpError(404, 'delivery_not_found', 'no such autolink or GitHub sync delivery');
      if (result === 'in_progress') {
        throw httpError(409, 'delivery_in_progress', 'a worker is handling this delivery right now');
      }
      return reply.code(202).send({ ok: true, delivery_id: request.params.id, status: 'pending' });
    },
  );
};
