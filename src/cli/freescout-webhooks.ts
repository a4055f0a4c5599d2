import { WEBHOOK_FEATURES, type WebhookFeature } from '../features/ops/webhook-registrations.ts';
import type { CliOutput } from './output.ts';
import type { RunbookAccess } from './runbook-access.ts';

/**
 * `freescout webhooks register|remove --feature <name>`: the FreeScout webhook each feature
 * listens on (src/features/ops/webhook-registrations.ts), registered directly in the database,
 * or by the running server when it holds the embedded database.
 */

export function parseFeature(name: string | undefined): WebhookFeature {
  if (name === undefined) throw new Error('--feature is required (audit, rbac or autolink)');
  const feature = WEBHOOK_FEATURES.find((candidate) => candidate === name);
  if (!feature) throw new Error(`unknown --feature ${name}: expected audit, rbac or autolink`);
  return feature;
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

/** Registers (or replaces) the feature's webhook and says what FreeScout now has. */
export async function registerWebhookCommand(
  access: Pick<RunbookAccess, 'registerWebhook'>,
  options: { feature: WebhookFeature; publicBase: string; autolinkMailboxIds: number[] },
  output: CliOutput,
): Promise<number> {
  const registered = await access.registerWebhook(options.feature, options.publicBase);
  output.out(
    `registered FreeScout webhook ${registered.webhook_id} for ${registered.feature}: ${registered.url}`,
  );
  output.out(`events: ${registered.events.join(', ')}`);
  output.out('mailboxes: all (FreeScout sends this webhook for every mailbox; its API cannot limit one)');
  if (options.feature === 'autolink') {
    const served = options.autolinkMailboxIds.join(', ') || 'none (FREESCOUT_AUTOLINK_MAILBOX_IDS is unset)';
    output.out(
      `autolink acts on mailboxes ${served}; other mailboxes' events are answered 200 ignored on receipt`,
    );
  }
  const { replaced } = registered;
  if (replaced) {
    output.out(
      replaced.deleted
        ? `removed the webhook it replaces (${replaced.webhook_id})`
        : `the webhook it replaces (${replaced.webhook_id}) was already gone from FreeScout`,
    );
  }
  return 0;
}

/** Removes the feature's webhook from FreeScout and forgets it; nothing registered is not an error. */
export async function removeWebhookCommand(
  access: Pick<RunbookAccess, 'removeWebhook'>,
  options: { feature: WebhookFeature },
  output: CliOutput,
): Promise<number> {
  const { removed } = await access.removeWebhook(options.feature);
  if (!removed) {
    output.out(`no FreeScout webhook is registered for ${options.feature}: nothing to remove`);
    return 0;
  }
  output.out(
    removed.deleted
      ? `removed FreeScout webhook ${removed.webhook_id} (${removed.url})`
      : `FreeScout webhook ${removed.webhook_id} was already gone; forgotten`,
  );
  return 0;
}
