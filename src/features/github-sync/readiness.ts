import type { Config } from '../../config.ts';
import { freescoutApiRequirements, githubRequirements, type ReadinessSpec } from '../../lib/readiness.ts';

export function githubSyncSpec(config: Config): ReadinessSpec {
  return {
    feature: 'github_sync',
    title: 'GitHub sync (GitHub → FreeScout)',
    flag: 'FLAG_GITHUB_FREESCOUT_SYNC',
    enabled: config.githubSync.enabled,
    required: [
      { name: 'GITHUB_WEBHOOK_SECRET', present: config.githubSync.webhookSecrets.length > 0, intake: true },
      ...githubRequirements(config),
      ...freescoutApiRequirements(config),
      { name: 'FREESCOUT_API_USER_ID', present: config.freescout.apiUserId !== undefined },
    ],
    webhookRoutes: ['/api/webhooks/github'],
  };
}

export const readinessSpecs = (config: Config): ReadinessSpec[] => [githubSyncSpec(config)];
