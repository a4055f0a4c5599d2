import { createHash } from 'node:crypto';
import { verifyWithFallback } from '@octokit/webhooks-methods';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { FeatureDeps } from '../../lib/deps.ts';
import { httpError } from '../../lib/errors.ts';
import { requireFeature } from '../../lib/flags.ts';
import { recordIssueDetails } from '../../lib/issue-details.ts';
import { parseJsonBody } from '../../lib/raw-body.ts';
import { intakeMissing, notConfigured } from '../../lib/readiness.ts';
import { hasOpenLabelDelivery, storeSyncDelivery } from './inbox.ts';
import { findIssueClaim, findLinkByIssue } from './links.ts';
import { issueSnapshot, issuesEventSchema, labelEffect } from './payload.ts';
import { githubSyncSpec } from './readiness.ts';

const FLAG_NAME = 'FLAG_GITHUB_FREESCOUT_SYNC';
const DELIVERY_ID_MAX_CHARS = 200;

const acceptedSchema = z.object({ ok: z.literal(true), delivery_id: z.number().int() });
const ignoredSchema = z.object({ ok: z.literal(true), ignored: z.literal(true).optional() });

/** Direction B: GitHub's repository webhook (events: Issues) in, FreeScout tickets and notes out. */
export const githubSyncRoutes: FastifyPluginAsync<FeatureDeps> = async (app, deps) => {
  const { config, db, clock } = deps;
  const settings = config.githubSync;
  const api = app.withTypeProvider<ZodTypeProvider>();
  api.addHook('onRequest', requireFeature(settings.enabled, FLAG_NAME));
  const intakeUnset = intakeMissing(githubSyncSpec(config));

  api.post(
    '/api/webhooks/github',
    {
      config: { access: 'signature', rawBody: true },
      schema: {
        summary: 'GitHub repository webhook, Issues events (GitHub → FreeScout sync, Direction B)',
        headers: z.looseObject({
          'x-github-event': z.string().optional(),
          'x-github-delivery': z.string().optional(),
          'x-hub-signature-256': z.string().optional(),
        }),
        response: {
          200: ignoredSchema,
          202: acceptedSchema,
        },
      },
    },
    async (request, reply) => {
      if (intakeUnset.length > 0) throw notConfigured(intakeUnset);
      const raw = request.rawBody ?? Buffer.alloc(0);
      if (!(await signatureMatches(raw, header(request, 'x-hub-signature-256'), settings.webhookSecrets))) {
        throw httpError(401, 'invalid_signature', 'missing or wrong X-Hub-Signature-256');
      }
      const event = header(request, 'x-github-event')?.trim() ?? '';
      if (event === 'ping') return reply.code(200).send({ ok: true });
      if (event !== 'issues') return reply.code(200).send({ ok: true, ignored: true });
      // Checked before anything is written: a refused delivery leaves no trace, not even the issue's copy.
      const guid = deliveryGuid(request, raw);

      const parsed = issuesEventSchema.safeParse(parseJsonBody(raw));
      if (!parsed.success) {
        throw httpError(
          400,
          'invalid_payload',
          'expected a GitHub issues event with issue, repository and sender',
        );
      }
      const payload = parsed.data;
      const repo = config.github.repo;
      if (!repo) throw httpError(503, 'not_configured', 'GITHUB_REPO is not set');
      if (payload.repository.full_name.toLowerCase() !== repo.toLowerCase()) {
        return reply.code(200).send({ ok: true, ignored: true });
      }
      const issueNumber = payload.issue.number;
      // Every action on a linked issue keeps the console's copy current, even one ignored below.
      await recordIssueDetails(
        db,
        {
          issueNumber,
          title: payload.issue.title,
          state: payload.issue.state ?? (payload.action === 'closed' ? 'closed' : 'open'),
          labels: (payload.issue.labels ?? []).map((label) => label.name),
          updatedAt: payload.issue.updated_at ?? null,
        },
        clock.now(),
      );
      const wanted =
        payload.action === 'labeled'
          ? payload.label !== undefined &&
            payload.label !== null &&
            labelEffect(settings.labels, payload.label.name) !== undefined
          : (payload.action === 'closed' || payload.action === 'reopened') &&
            ((await findLinkByIssue(db, issueNumber)) !== undefined ||
              (await findIssueClaim(db, repo, issueNumber)) !== undefined ||
              (await hasOpenLabelDelivery(db, issueNumber)));
      if (!wanted) return reply.code(200).send({ ok: true, ignored: true });

      const deliveryId = await storeSyncDelivery(
        { db, clock },
        {
          guid,
          event,
          action: payload.action,
          issueNumber,
          label: payload.action === 'labeled' ? (payload.label?.name ?? null) : null,
          senderLogin: payload.sender.login,
          payload: JSON.stringify(issueSnapshot(payload)),
        },
      );
      return reply.code(202).send({ ok: true, delivery_id: deliveryId });
    },
  );
};

/**
 * GitHub's scheme through `@octokit/webhooks-methods`: the current secret, then the previous one
 * during a rotation. The library takes the payload as a string; GitHub sends UTF-8 JSON, so
 * decoding loses nothing a valid signature covers (an invalid byte fails verification).
 */
async function signatureMatches(
  raw: Buffer,
  signature: string | undefined,
  secrets: string[],
): Promise<boolean> {
  const [current, ...previous] = secrets;
  if (!current || !signature || raw.length === 0) return false;
  try {
    return await verifyWithFallback(current, raw.toString('utf8'), signature.trim(), previous);
  } catch {
    return false;
  }
}

/** `X-GitHub-Delivery`; without one (never from GitHub itself), the body's hash stands in. */
function deliveryGuid(request: FastifyRequest, raw: Buffer): string {
  const value = header(request, 'x-github-delivery')?.trim();
  if (value && value.length > DELIVERY_ID_MAX_CHARS) {
    throw httpError(
      400,
      'invalid_header',
      `X-GitHub-Delivery is longer than ${DELIVERY_ID_MAX_CHARS} characters`,
    );
  }
  return value || `sha256:${createHash('sha256').update(raw).digest('hex')}`;
}

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
