import type { Config } from '../../config.ts';
import { freescoutApiRequirements, type ReadinessSpec } from '../../lib/readiness.ts';

export function investigateSpec(config: Config): ReadinessSpec {
  return {
    feature: 'investigate',
    title: 'Investigate from status',
    flag: 'FLAG_CONSOLE_INVESTIGATE_FROM_STATUS',
    enabled: config.investigate.enabled,
    // Every one is needed before a request is taken: the route answers 503 without them.
    required: [
      ...freescoutApiRequirements(config),
      {
        name: 'FREESCOUT_OPERATIONS_MAILBOX_ID',
        present: config.investigate.operationsMailboxId !== undefined,
      },
    ].map((requirement) => ({ ...requirement, intake: true })),
  };
}

export const readinessSpecs = (config: Config): ReadinessSpec[] => [investigateSpec(config)];
