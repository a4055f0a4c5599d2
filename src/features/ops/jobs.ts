import { runEvery } from '../../lib/background.ts';
import type { ServiceDeps } from '../../lib/deps.ts';
import type { Job } from '../../lib/jobs.ts';
import { acquireLease, releaseLease } from '../../lib/lease.ts';
import { DELIVERY_LOG_RETENTION_LEASE, pruneDeliveryLog } from './deliveries.ts';

const RETENTION_INTERVAL_MS = 15 * 60_000;
const RETENTION_LEASE_MS = 10 * 60_000;

export function opsJobs(deps: ServiceDeps): Job[] {
  const { config, db, clock, log } = deps;
  const retentionDays = config.ops.deliveryLogRetentionDays;
  return [
    {
      name: DELIVERY_LOG_RETENTION_LEASE,
      feature: 'ops',
      // 0 switches the delivery log off: nothing is recorded, so nothing to prune.
      enabled: retentionDays > 0,
      start() {
        const loop = runEvery(
          DELIVERY_LOG_RETENTION_LEASE,
          RETENTION_INTERVAL_MS,
          async (signal) => {
            if (!(await acquireLease(db, DELIVERY_LOG_RETENTION_LEASE, RETENTION_LEASE_MS, clock.now()))) {
              return;
            }
            const pruned = await pruneDeliveryLog(deps, { retentionDays, signal });
            if (pruned > 0) log.info({ pruned }, 'delivery log pruned');
          },
          log,
        );
        return {
          async stop() {
            await loop.stop();
            await releaseLease(db, DELIVERY_LOG_RETENTION_LEASE).catch(() => undefined);
          },
        };
      },
    },
  ];
}
