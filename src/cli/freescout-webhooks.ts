import type { FreeScoutClient } from '../clients/freescout.ts';
import type { Db } from '../db/database.ts';
import { CONVERSATION_EVENTS } from '../lib/freescout-intake.ts';
import type { CliOutput } from './output.ts';

/**
 * `freescout webhooks register|remove --feature <name>`: the FreeScout webhook each feature
 * listens on, registered through the API & Webhooks module's `POST /api/webhooks`. FreeScout
 * has no route listing webhooks, so the id it answers is kept in `freescout_webhook_registration`;
 * that is how a re-run replaces the webhook instead of adding a second one.
 */

interface FeatureWebhook {
  path: string;
  events: readonly string[];
}

/**
 * The cache (audit) and revocation (rbac) follow every status change and delete; autolink
 * re-checks its criteria on every conversation event, since FreeScout sends none for a new tag.
 */
export const FEATURE_WEBHOOKS: Record<string, FeatureWebhook> = {
  audit: { path: '/api/internal/freescout-webhook/audit', events: CONVERSATION_EVENTS },
  rbac: { path: '/api/internal/freescout-webhook/rbac', events: CONVERSATION_EVENTS },
  autolink: { path: '/api/webhooks/freescout/ops', events: CONVERSATION_EVENTS },
};

export function parseFeature(name: string | undefined): string {
  if (name === undefined) throw new Error('--feature is required (audit, rbac or autolink)');
  if (!Object.hasOwn(FEATURE_WEBHOOKS, name)) {
    throw new Error(`unknown --feature ${name}: expected audit, rbac or autolink`);
  }
  return name;
}

/** The service's public base URL (`https://api.raxx.app`), without a path. */
export function parsePublicBase(url: string | undefined): string {
  if (url === undefined)
    throw new Error('--url is required: the public base URL FreeScout reaches Raptor at');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`--url ${url} is not a URL`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw new Error('--url must be an http(s) URL');
  }
  return `${parsed.origin}${parsed.pathname.replace(/\/+$/, '')}`;
}

/**
 * Registers the feature's webhook. The new one is created before the old one is deleted, so
 * no event falls in between (a duplicate in that instant is harmless: every receiver is
 * idempotent). FreeScout's API stores no mailbox limit (`mailboxes` is ignored), so none is
 * sent: the webhook fires for every mailbox, and autolink filters on receipt.
 */
export async function registerWebhookCommand(
  deps: { db: Db; freescout: FreeScoutClient; now: () => Date },
  options: { feature: string; publicBase: string; autolinkMailboxIds: number[] },
  output: CliOutput,
): Promise<number> {
  const { db, freescout } = deps;
  const target = FEATURE_WEBHOOKS[options.feature];
  if (!target) throw new Error(`unknown feature ${options.feature}`);
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
  output.out(`registered FreeScout webhook ${created.id} for ${options.feature}: ${url}`);
  output.out(`events: ${target.events.join(', ')}`);
  output.out('mailboxes: all (FreeScout sends this webhook for every mailbox; its API cannot limit one)');
  if (options.feature === 'autolink') {
    const served = options.autolinkMailboxIds.join(', ') || 'none (FREESCOUT_AUTOLINK_MAILBOX_IDS is unset)';
    output.out(
      `autolink acts on mailboxes ${served}; other mailboxes' events are answered 200 ignored on receipt`,
    );
  }

  if (previous && previous.webhook_id !== created.id) {
    const deleted = await freescout.deleteWebhook(previous.webhook_id);
    output.out(
      deleted
        ? `removed the webhook it replaces (${previous.webhook_id})`
        : `the webhook it replaces (${previous.webhook_id}) was already gone from FreeScout`,
    );
  }
  return 0;
}

/** Removes the feature's webhook from FreeScout and forgets it; nothing registered is not an error. */
export async function removeWebhookCommand(
  deps: { db: Db; freescout: FreeScoutClient },
  options: { feature: string },
  output: CliOutput,
): Promise<number> {
  const { db, freescout } = deps;
  const registration = await db
    .selectFrom('freescout_webhook_registration')
    .selectAll()
    .where('feature', '=', options.feature)
    .executeTakeFirst();
  if (!registration) {
    output.out(`no FreeScout webhook is registered for ${options.feature}: nothing to remove`);
    return 0;
  }
  const deleted = await freescout.deleteWebhook(registration.webhook_id);
  await db
    .deleteFrom('freescout_webhook_registration')
    .where('feature', '=', options.feature)
    .where('webhook_id', '=', registration.webhook_id)
    .execute();
  output.out(
    deleted
      ? `removed FreeScout webhook ${registration.webhook_id} (${registration.url})`
      : `FreeScout webhook ${registration.webhook_id} was already gone; forgotten`,
  );
  return 0;
}
