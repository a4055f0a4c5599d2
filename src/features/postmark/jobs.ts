import { runEvery } from '../../lib/background.ts';
import type { ServiceDeps } from '../../lib/deps.ts';
import type { Job } from '../../lib/jobs.ts';
import { acquireLease, releaseLease } from '../../lib/lease.ts';
import { prunePostmarkEvents, RETENTION_LEASE_NAME } from './retention.ts';

const RETENTION_INTERVAL_MS = 15 * 60_000;
const RETENTION_LEASE_MS = 10 * 60_000;

/**
 * The alert monitor is not a job: it is asked for a check by each stored event (the webhook
 * route owns it) and drains when the app closes.
 */
export function postmarkJobs(deps: ServiceDeps): Job[] {
  const { config, db, clock, log } = deps;
  return [
    {
      name: RETENTION_LEASE_NAME,
      feature: 'postmark',
      // Pruning keeps its promise whatever the flag: stored events still age out while the monitor is off.
      enabled: true,
      start() {
        const loop = runEvery(
          RETENTION_LEASE_NAME,
          RETENTION_INTERVAL_MS,
          async (signal) => {
            if (!(await acquireLease(db, RETENTION_LEASE_NAME, RETENTION_LEASE_MS, clock.now()))) return;
            const pruned = await prunePostmarkEvents(deps, {
              retentionDays: config.postmark.retentionDays,
              signal,
            });
            if (pruned.events > 0) log.info({ pruned }, 'postmark events pruned');
          },
          log,
        );
        return {
          async stop() {
            await loop.stop();
            await releaseLease(db, RETENTION_LEASE_NAME).catch(() => undefined);
          },
        };
      },
    },
  ];
}
