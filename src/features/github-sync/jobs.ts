import type { ServiceDeps } from '../../lib/deps.ts';
import { startInboxWorker } from '../../lib/durable-inbox.ts';
import type { Job } from '../../lib/jobs.ts';
import { githubSyncWorker } from './worker.ts';

export function githubSyncJobs(deps: ServiceDeps): Job[] {
  const settings = deps.config.githubSync;
  return [
    {
      name: 'github-sync-worker',
      feature: 'github-sync',
      enabled: settings.enabled,
      ...(settings.mailboxId === undefined
        ? {
            warning:
              'github-sync: no GITHUB_SYNC_MAILBOX_ID nor FREESCOUT_OPERATIONS_MAILBOX_ID; using the mailbox named Operations',
          }
        : {}),
      start: () => startInboxWorker(deps, githubSyncWorker(deps)),
    },
  ];
}
