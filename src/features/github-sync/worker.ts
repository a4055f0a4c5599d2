import type { ServiceDeps } from '../../lib/deps.ts';
import {
  busyRetryAt,
  type InboxRunSummary,
  type InboxWorker,
  runInboxWorker,
} from '../../lib/durable-inbox.ts';
import { CreateUnsettledError, IssueBusyError, processSyncDelivery } from './service.ts';

/** Direction B's inbox: a GitHub delivery opens a ticket for its issue or notes on the linked one. */
export function githubSyncWorker(deps: ServiceDeps): InboxWorker<'github_sync_delivery'> {
  return {
    name: 'github-sync-worker',
    logPrefix: 'github-sync',
    table: 'github_sync_delivery',
    leasedTables: ['github_sync_issue'],
    maxAttempts: deps.config.githubSync.maxAttempts,
    logFields: (delivery) => ({ issueNumber: delivery.issue_number }),
    process: (delivery, holder) => processSyncDelivery(deps, delivery, holder),
    postpone(error, now) {
      if (error instanceof IssueBusyError) return { nextAttemptAt: busyRetryAt(now) };
      if (error instanceof CreateUnsettledError) {
        return {
          nextAttemptAt: error.settlesAt,
          recordError: true,
          log: {
            level: 'warn',
            fields: { settlesAt: error.settlesAt },
            message: 'github-sync: ticket create of unknown outcome',
          },
        };
      }
      return undefined;
    },
  };
}

/** One run of Direction B's worker, as its loop (jobs.ts) makes every second. */
export function runGithubSyncWorker(deps: ServiceDeps, signal?: AbortSignal): Promise<InboxRunSummary> {
  return runInboxWorker(deps, githubSyncWorker(deps), signal);
}
