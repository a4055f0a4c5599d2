import type { Config } from '../../config.ts';
import { freescoutApiRequirements, type ReadinessSpec } from '../../lib/readiness.ts';

export function auditSpec(config: Config): ReadinessSpec {
  return {
    feature: 'freescout_audit',
    title: 'FreeScout audit webhook',
    flag: 'FLAG_FREESCOUT_WEBHOOK_RECEIVE',
    enabled: config.freescoutWebhooks.auditEnabled,
    required: [
      {
        name: 'FREESCOUT_AUDIT_WEBHOOK_SECRET',
        present: config.freescoutWebhooks.auditSecrets.length > 0,
        intake: true,
      },
    ],
    webhookRoutes: ['/api/internal/freescout-webhook/audit'],
  };
}

export function rbacSpec(config: Config): ReadinessSpec {
  return {
    feature: 'freescout_rbac',
    title: 'RBAC auto-revocation',
    flag: 'FLAG_FREESCOUT_RBAC_REVOKE',
    enabled: config.freescoutWebhooks.rbacEnabled,
    required: [
      {
        name: 'FREESCOUT_RBAC_WEBHOOK_SECRET',
        present: config.freescoutWebhooks.rbacSecrets.length > 0,
        intake: true,
      },
    ],
    webhookRoutes: ['/api/internal/freescout-webhook/rbac'],
  };
}

export function pollSpec(config: Config): ReadinessSpec {
  return {
    feature: 'freescout_poll',
    title: 'FreeScout cache poller',
    flag: 'FLAG_FREESCOUT_CACHE_POLL',
    enabled: config.freescoutWebhooks.pollEnabled,
    required: freescoutApiRequirements(config),
  };
}

export const readinessSpecs = (config: Config): ReadinessSpec[] => [
  auditSpec(config),
  rbacSpec(config),
  pollSpec(config),
];
