import type { Config } from '../config.ts';

/** One feature as the operator page, its summary and preflight see it. */
export interface FeatureReadiness {
  feature: string;
  title: string;
  flag: string;
  enabled: boolean;
  /** Flag on and nothing required missing. */
  ready: boolean;
  /** Names of the environment variables still needed: never their values. */
  missing: string[];
  /** The webhook routes (route patterns) this feature receives on. */
  webhookRoutes: string[];
}

interface FeatureSpec {
  feature: string;
  title: string;
  flag: string;
  enabled: boolean;
  required: Array<[name: string, present: boolean]>;
  webhookRoutes?: string[];
}

/**
 * Derives each feature's flag and whether its configuration is complete from `Config`
 * alone: cheap, side-effect free, and the same answer on every instance.
 */
export function featureReadiness(config: Config): FeatureReadiness[] {
  const freescoutApi: Array<[string, boolean]> = [
    ['FREESCOUT_API_URL', config.freescout.api !== undefined],
    ['FREESCOUT_API_KEY', config.freescout.api !== undefined],
  ];
  const github = config.github;
  const specs: FeatureSpec[] = [
    {
      feature: 'freescout_audit',
      title: 'FreeScout audit webhook',
      flag: 'FLAG_FREESCOUT_WEBHOOK_RECEIVE',
      enabled: config.freescoutWebhooks.auditEnabled,
      required: [['FREESCOUT_AUDIT_WEBHOOK_SECRET', config.freescoutWebhooks.auditSecrets.length > 0]],
      webhookRoutes: ['/api/internal/freescout-webhook/audit'],
    },
    {
      feature: 'freescout_rbac',
      title: 'RBAC auto-revocation',
      flag: 'FLAG_FREESCOUT_RBAC_REVOKE',
      enabled: config.freescoutWebhooks.rbacEnabled,
      required: [['FREESCOUT_RBAC_WEBHOOK_SECRET', config.freescoutWebhooks.rbacSecrets.length > 0]],
      webhookRoutes: ['/api/internal/freescout-webhook/rbac'],
    },
    {
      feature: 'freescout_poll',
      title: 'FreeScout cache poller',
      flag: 'FLAG_FREESCOUT_CACHE_POLL',
      enabled: config.freescoutWebhooks.pollEnabled,
      required: freescoutApi,
    },
    {
      feature: 'postmark',
      title: 'Postmark delivery monitor',
      flag: 'FLAG_POSTMARK_DELIVERY_MONITOR',
      enabled: config.postmark.enabled,
      required: [['POSTMARK_DELIVERY_WEBHOOK_SECRET', config.postmark.webhookSecrets.length > 0]],
      webhookRoutes: ['/webhooks/postmark/delivery'],
    },
    {
      feature: 'investigate',
      title: 'Investigate from status',
      flag: 'FLAG_CONSOLE_INVESTIGATE_FROM_STATUS',
      enabled: config.investigate.enabled,
      required: [
        ...freescoutApi,
        ['FREESCOUT_OPERATIONS_MAILBOX_ID', config.investigate.operationsMailboxId !== undefined],
      ],
    },
    {
      feature: 'autolink',
      title: 'GitHub autolink (FreeScout → GitHub)',
      flag: 'FLAG_FREESCOUT_GITHUB_AUTOLINK',
      enabled: config.autolink.enabled,
      required: [
        ['FREESCOUT_WEBHOOK_SECRET', config.autolink.webhookSecrets.length > 0],
        ['GITHUB_REPO', github.repo !== undefined],
        ['GITHUB_ISSUE_BOT_TOKEN or GITHUB_APP_*', github.token !== undefined || github.app !== undefined],
        ...freescoutApi,
        ['FREESCOUT_API_USER_ID', config.freescout.apiUserId !== undefined],
        ['FREESCOUT_GITHUB_ISSUE_URL_FIELD_ID', config.autolink.issueUrlFieldId !== undefined],
        ['FREESCOUT_AUTOLINK_MAILBOX_IDS', config.autolink.mailboxIds.length > 0],
      ],
      webhookRoutes: ['/api/webhooks/freescout/ops', '/api/webhooks/freescout/support'],
    },
    {
      feature: 'github_sync',
      title: 'GitHub sync (GitHub → FreeScout)',
      flag: 'FLAG_GITHUB_FREESCOUT_SYNC',
      enabled: config.githubSync.enabled,
      required: [
        ['GITHUB_WEBHOOK_SECRET', config.githubSync.webhookSecrets.length > 0],
        ['GITHUB_REPO', github.repo !== undefined],
        ['GITHUB_ISSUE_BOT_TOKEN or GITHUB_APP_*', github.token !== undefined || github.app !== undefined],
        ...freescoutApi,
        ['FREESCOUT_API_USER_ID', config.freescout.apiUserId !== undefined],
      ],
      webhookRoutes: ['/api/webhooks/github'],
    },
  ];
  return specs.map((spec) => {
    const missing = spec.required.filter(([, present]) => !present).map(([name]) => name);
    return {
      feature: spec.feature,
      title: spec.title,
      flag: spec.flag,
      enabled: spec.enabled,
      ready: spec.enabled && missing.length === 0,
      missing,
      webhookRoutes: spec.webhookRoutes ?? [],
    };
  });
}
