import type { Config } from '../../config.ts';
import { freescoutApiRequirements, githubRequirements, type ReadinessSpec } from '../../lib/readiness.ts';

export function autolinkSpec(config: Config): ReadinessSpec {
  const settings = config.autolink;
  return {
    feature: 'autolink',
    title: 'GitHub autolink (FreeScout → GitHub)',
    flag: 'FLAG_FREESCOUT_GITHUB_AUTOLINK',
    enabled: settings.enabled,
    required: [
      { name: 'FREESCOUT_WEBHOOK_SECRET', present: settings.webhookSecrets.length > 0, intake: true },
      ...githubRequirements(config),
      ...freescoutApiRequirements(config),
      // Every link ends with an internal note, which FreeScout refuses without a user.
      { name: 'FREESCOUT_API_USER_ID', present: config.freescout.apiUserId !== undefined, intake: true },
      { name: 'FREESCOUT_AUTOLINK_MAILBOX_IDS', present: settings.mailboxIds.length > 0 },
    ],
    webhookRoutes: ['/api/webhooks/freescout/ops', '/api/webhooks/freescout/support'],
  };
}

export const readinessSpecs = (config: Config): ReadinessSpec[] => [autolinkSpec(config)];
