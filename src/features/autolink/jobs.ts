import type { ServiceDeps } from '../../lib/deps.ts';
import { startInboxWorker } from '../../lib/durable-inbox.ts';
import type { Job } from '../../lib/jobs.ts';
import { startAutolinkSweep } from './sweep.ts';
import { autolinkWorker } from './worker.ts';

export function autolinkJobs(deps: ServiceDeps): Job[] {
  const settings = deps.config.autolink;
  return [
    {
      name: 'autolink-worker',
      feature: 'autolink',
      enabled: settings.enabled,
      ...(settings.mailboxIds.length === 0
        ? {
            warning: 'autolink: FREESCOUT_AUTOLINK_MAILBOX_IDS is empty, so no ticket qualifies for an issue',
          }
        : {}),
      start: () => startInboxWorker(deps, autolinkWorker(deps)),
    },
    {
      // Takes a lease, so running it on several processes sweeps once.
      name: 'autolink-sweep',
      feature: 'autolink',
      // FREESCOUT_AUTOLINK_SWEEP_SECONDS=0 switches it off.
      enabled: settings.enabled && settings.sweepSeconds > 0,
      start: () => startAutolinkSweep(deps),
    },
  ];
}
