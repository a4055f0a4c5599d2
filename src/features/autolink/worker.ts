import type { ServiceDeps } from '../../lib/deps.ts';
import {
  busyRetryAt,
  type InboxRunSummary,
  type InboxWorker,
  runInboxWorker,
} from '../../lib/durable-inbox.ts';
import { processDelivery, TicketBusyError, WriteUnsettledError } from './service.ts';

/** Direction A's inbox: a FreeScout delivery links its ticket to an issue or comments on a close. */
export function autolinkWorker(deps: ServiceDeps): InboxWorker<'autolink_delivery'> {
  return {
    name: 'autolink-worker',
    logPrefix: 'autolink',
    table: 'autolink_delivery',
    leasedTables: ['autolink_link', 'autolink_close_comment'],
    maxAttempts: deps.config.autolink.maxAttempts,
    logFields: (delivery) => ({ conversationId: delivery.conversation_id }),
    process: (delivery, holder) => processDelivery(deps, delivery, holder),
    postpone(error, now) {
      if (error instanceof TicketBusyError) {
        return {
          nextAttemptAt: busyRetryAt(now),
          log: { level: 'debug', message: 'autolink: ticket busy elsewhere; delivery requeued' },
        };
      }
      if (error instanceof WriteUnsettledError) {
        // Waiting for GitHub to settle is not a failure: it costs no attempt and keeps no worker busy.
        const nextAttemptAt = new Date(Math.max(error.settlesAt.getTime(), now.getTime() + 1_000));
        return {
          nextAttemptAt,
          recordError: true,
          log: {
            level: 'info',
            fields: { nextAttemptAt },
            message: 'autolink: an earlier write is unsettled; searching again later',
          },
        };
      }
      return undefined;
    },
  };
}

/** One run of Direction A's worker, as its loop (jobs.ts) makes every second. */
export function runAutolinkWorker(deps: ServiceDeps, signal?: AbortSignal): Promise<InboxRunSummary> {
  return runInboxWorker(deps, autolinkWorker(deps), signal);
}
