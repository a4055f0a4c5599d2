import type { Config } from '../../config.ts';
import type { ReadinessSpec } from '../../lib/readiness.ts';

export const readinessSpecs = (config: Config): ReadinessSpec[] => [
  {
    feature: 'postmark',
    title: 'Postmark delivery monitor',
    flag: 'FLAG_POSTMARK_DELIVERY_MONITOR',
    enabled: config.postmark.enabled,
    required: [
      {
        name: 'POSTMARK_DELIVERY_WEBHOOK_SECRET',
        present: config.postmark.webhookSecrets.length > 0,
        intake: true,
      },
    ],
    webhookRoutes: ['/webhooks/postmark/delivery'],
  },
];
