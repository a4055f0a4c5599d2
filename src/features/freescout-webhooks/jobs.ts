import { runEvery } from '../../lib/background.ts';
import type { ServiceDeps } from '../../lib/deps.ts';
import type { Job } from '../../lib/jobs.ts';
import { releaseLease } from '../../lib/lease.ts';
import { readinessOf } from '../../lib/readiness.ts';
import { deliverSecurityNotifications } from './notifications.ts';
import { POLL_LEASE_NAME, pollFreescoutChanges } from './poller.ts';
import { pollSpec } from './readiness.ts';

const FEATURE = 'freescout-webhooks';
const NOTIFICATION_RETRY_INTERVAL_MS = 15_000;

export function freescoutWebhookJobs(deps: ServiceDeps): Job[] {
  const { config, db, log } = deps;
  const settings = config.freescoutWebhooks;
  const { freescout } = deps.clients;
  const pollMissing = readinessOf(pollSpec(config)).missing;
  return [
    {
      // The Slack outbox: path-B notifications until Slack accepts each one.
      name: 'security-notifications',
      feature: FEATURE,
      enabled: settings.auditEnabled || settings.rbacEnabled,
      start: () =>
        runEvery(
          'security-notifications',
          NOTIFICATION_RETRY_INTERVAL_MS,
          () => deliverSecurityNotifications(deps),
          log,
        ),
    },
    {
      name: POLL_LEASE_NAME,
      feature: FEATURE,
      enabled: settings.pollEnabled,
      ...(pollMissing.length === 0 && freescout
        ? {}
        : {
            notConfigured: `FLAG_FREESCOUT_CACHE_POLL is on but ${pollMissing.join(' / ')} are not set: not polling`,
          }),
      start() {
        const loop = runEvery(
          POLL_LEASE_NAME,
          settings.pollIntervalSeconds * 1000,
          () => pollFreescoutChanges(deps),
          log,
        );
        return {
          async stop() {
            await loop.stop();
            await releaseLease(db, POLL_LEASE_NAME).catch(() => undefined);
          },
        };
      },
    },
  ];
}
