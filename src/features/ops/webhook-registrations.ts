import type { FreeScoutClient } from '../../clients/freescout.ts';
import type { Db } from '../../db/database.ts';
import { CONVERSATION_EVENTS } from '../../lib/freescout-intake.ts';

/**
 * The FreeScout webhook each feature listens on, registered through the API & Webhooks module's
 * `POST /api/webhooks`. FreeScout has no route listing webhooks, so the id it answers is kept in
 * `freescout_webhook_registration`; that is how a re-run replaces the webhook instead of adding
 * a second one. Used by the CLI directly (Postgres, or an embedded database no server holds) and
 * by the internal routes a running server answers the CLI with.
 */

interface FeatureWebhook {
  path: string;
  events: readonly string[];
}

/**
 * The cache (audit) and revocation (rbac) follow every status change and delete; autolink
 * re-checks its criteria on every conversation event, since FreeScout sends none for a new tag.
 */
export const FEATURE_WEBHOOKS = {
  audit: { path: '/api/internal/freescout-webhook/audit', events: CONVERSATION_EVENTS },
  rbac: { path: '/api/internal/freescout-webhook/rbac', events: CONVERSATION_EVENTS },
  autolink: { path: '/api/webhooks/freescout/ops', events: CONVERSATION_EVENTS },
} as const satisfies Record<string, FeatureWebhook>;

export type WebhookFeature = keyof typeof FEATURE_WEBHOOKS;
export const WEBHOOK_FEATURES = Object.keys(FEATURE_WEBHOOKS) as [WebhookFeature, ...WebhookFeature[]];

export interface RegisteredWebhook {
  feature: WebhookFeature;
  webhook_id: number;
  url: string;
  events: string[];
  /** The webhook this one replaced; `deleted` false when FreeScout no longer had it. */
  replaced: { webhook_id: number; deleted: boolean } | null;
}

export interface RemovedWebhook {
  feature: WebhookFeature;
  /** null: nothing was registered. */
  removed: { webhook_id: number; url: string; deleted: boolean } | null;
}

/**
 * Registers the feature's webhook. The new one is created before the old one is deleted, so
 * no event falls in between (a duplicate in that instant is harmless: every receiver is
 * idempotent). FreeScout's API stores no mailbox limit (`mailboxes` is ignored), so none is
 * sent: the webhook fires for every mailbox, and autolink filters on receipt.
 */
export async function registerFeatureWebhook(
  deps: { db: Db; freescout: FreeScoutClient; now: () => Date },
  options: { feature: WebhookFeature; publicBase: string },
): Promise<RegisteredWebhook> {
  const { db, freescout } = deps;
  const target = FEATURE_WEBHOOKS[options.feature];
  const url = `${options.publicBase}${target.path}`;
  const previous = await db
    .selectFrom('freescout_webhook_registration')
    .selectAll()
    .where('feature', '=', options.feature)
    .executeTakeFirst();

  const created = await freescout.createWebhook({ url, events: [...target.events] });
  await db
    .insertInto('freescout_webhook_registration')
    .values({
      feature: options.feature,
      webhook_id: created.id,
      url,
      events: target.events.join(','),
      registered_at: deps.now(),
    })
    .onConflict((conflict) =>
      conflict.column('feature').doUpdateSet({
        webhook_id: created.id,
        url,
        events: target.events.join(','),
        registered_at: deps.now(),
      }),
    )
    .execute();

  const replaced =
    previous && previous.webhook_id !== created.id
      ? { webhook_id: previous.webhook_id, deleted: await freescout.deleteWebhook(previous.webhook_id) }
      : null;
  return { feature: options.feature, webhook_id: created.id, url, events: [...target.events], replaced };
}

/** Removes the feature's webhook from FreeScout and forgets it; nothing registered is not an error. */
export async function removeFeatureWebhook(
  deps: { db: Db; freescout: FreeScoutClient },
  feature: WebhookFeature,
): Promise<RemovedWebhook> {
  const { db, freescout } = deps;
  const registration = await db
    .selectFrom('freescout_webhook_registration')
    .selectAll()
    .where('feature', '=', feature)
    .executeTakeFirst();
  if (!registration) return { feature, removed: null };
  const deleted = await freescout.deleteWebhook(registration.webhook_id);
  await db
    .deleteFrom('freescout_webhook_registration')
    .where('feature', '=', feature)
    .where('webhook_id', '=', registration.webhook_id)
    .execute();
  return { feature, removed: { webhook_id: registration.webhook_id, url: registration.url, deleted } };
}
