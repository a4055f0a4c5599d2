import type { FastifyPluginAsync, onRequestHookHandler } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { FeatureDeps } from '../../lib/deps.ts';
import { httpError } from '../../lib/errors.ts';
import { requireFeature } from '../../lib/flags.ts';
import { tokenMatches } from '../../lib/hmac.ts';
import { listLimitSchema } from '../../lib/list-limit.ts';
import { parseJsonBody } from '../../lib/raw-body.ts';
import { createAlertMonitor } from './alerts.ts';
import { readRecentDeliveries, recordPostmarkEvent } from './events.ts';
import { interpretPostmarkPayload } from './payload.ts';

const FLAG_NAME = 'FLAG_POSTMARK_DELIVERY_MONITOR';
const TOKEN_HEADER = 'x-postmark-webhook-token';
const WEBHOOK_PATH = '/webhooks/postmark/delivery';
/** Shutdown waits this long for alerts in flight, well inside the 10 s grace of the process. */
const ALERTS_DRAIN_MS = 5_000;
/**
 * A Bounce with "include bounce content" carries the whole bounced message in `Content` (up to
 * Postmark's 10 MB message limit). It is not stored, but refusing it would lose the bounce:
 * Postmark does not retry a 413. Only a request with the right token gets this far.
 */
export const POSTMARK_BODY_LIMIT_BYTES = 10 * 1024 * 1024 + 64 * 1024;

const webhookReplySchema = z.object({ ok: z.literal(true), ignored: z.literal(true).optional() });
/** Documents the payload; the handler checks and parses the raw bytes itself. */
const postmarkBodySchema = z
  .looseObject({
    RecordType: z.string().describe('Delivery, Bounce and SpamComplaint are stored; others acknowledged'),
    ID: z.number().int().optional().describe('Bounce/SpamComplaint: unique per bounce, up to 2^63-1'),
    MessageID: z.string().optional(),
    Recipient: z.string().optional(),
    Email: z.string().optional(),
    Type: z.string().optional(),
    Tag: z.string().optional(),
    Description: z.string().optional(),
    DeliveredAt: z.string().optional().describe('ISO 8601 with offset'),
    BouncedAt: z.string().optional().describe('ISO 8601 with offset'),
  })
  .describe('one Postmark webhook record');

const recentQuerySchema = z.object({
  limit: listLimitSchema,
});
const recentEventSchema = z.object({
  id: z.number(),
  event_type: z.enum(['Delivery', 'Bounce', 'SpamComplaint']),
  message_id: z.string().nullable(),
  recipient: z.string().nullable(),
  tag: z.string().nullable(),
  bounce_type: z.string().nullable(),
  bounce_description: z.string().nullable(),
  recorded_at: z.string(),
});
const recentDeliveriesSchema = z.object({
  events: z.array(recentEventSchema),
  counts_24h: z.object({ delivered: z.number(), bounced: z.number(), spam_complaint: z.number() }),
  total_24h: z.number(),
});

export const postmarkRoutes: FastifyPluginAsync<FeatureDeps> = async (base, deps) => {
  const app = base.withTypeProvider<ZodTypeProvider>();
  const { config, db, clock } = deps;
  const settings = config.postmark;

  const alertMonitor = createAlertMonitor(deps);

  // 401 while the flag is off (docs/api.md §4; the set-up runbook expects it), not the usual 404.
  // Checked on request, before the body is even parsed.
  const requireWebhookToken: onRequestHookHandler = async (request) => {
    if (!settings.enabled)
      throw httpError(401, 'feature_disabled', `the delivery monitor is off (${FLAG_NAME})`);
    const token = request.headers[TOKEN_HEADER];
    if (!tokenMatches(typeof token === 'string' ? token : undefined, settings.webhookSecrets)) {
      throw httpError(401, 'unauthorized', 'missing or wrong X-Postmark-Webhook-Token');
    }
  };

  // Postmark does not retry a 4xx: every refusal is final, so each one is logged with its reason.
  app.addHook('onError', async (request, _reply, error) => {
    const status = (error as { statusCode?: number }).statusCode ?? 500;
    if (request.routeOptions.url === WEBHOOK_PATH && status >= 400 && status < 500) {
      request.log.warn({ status, reason: error.message }, 'postmark webhook refused');
    }
  });

  app.post(
    WEBHOOK_PATH,
    {
      config: { access: 'signature', rawBody: true },
      bodyLimit: POSTMARK_BODY_LIMIT_BYTES,
      onRequest: requireWebhookToken,
      schema: {
        description:
          'Postmark Delivery, Bounce and SpamComplaint webhook. Authenticated by the X-Postmark-Webhook-Token header; other record types are acknowledged and dropped.',
        body: postmarkBodySchema,
        response: { 200: webhookReplySchema },
      },
    },
    async (request) => {
      const raw = request.rawBody ?? Buffer.alloc(0);
      const body = parseJsonBody(raw);
      const delivery = interpretPostmarkPayload(body, raw, clock.now());
      if (delivery.kind === 'ignored') return { ok: true as const, ignored: true as const };
      // Answered only once stored; the threshold check runs after, off this request.
      const stored = await recordPostmarkEvent({ db, clock }, delivery.event);
      if (stored) alertMonitor.request();
      return { ok: true as const };
    },
  );

  app.get(
    '/api/_internal/postmark/recent-deliveries',
    {
      config: { access: 'internal' },
      onRequest: requireFeature(settings.enabled, FLAG_NAME),
      schema: {
        description: 'The newest stored Postmark events and the last 24 hours of counts.',
        querystring: recentQuerySchema,
        response: { 200: recentDeliveriesSchema },
      },
    },
    async (request) => readRecentDeliveries({ db, clock }, request.query.limit),
  );

  app.addHook('onClose', async () => {
    await waitAtMost(ALERTS_DRAIN_MS, alertMonitor.idle());
  });
};

async function waitAtMost(ms: number, work: Promise<void>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  await Promise.race([work, timeout]);
  clearTimeout(timer);
}
