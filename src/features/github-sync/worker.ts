import { randomUUID } from 'node:crypto';
import { backoffMs } from '../../clients/http.ts';
import { type BackgroundJob, runEvery } from '../../lib/background.ts';
import { UpstreamError } from '../../lib/errors.ts';
import {
  type ClaimedSyncDelivery,
  claimDueSyncDeliveries,
  completeSyncDelivery,
  failSyncDelivery,
  renewSyncDeliveryLock,
  rescheduleSyncDelivery,
} from './inbox.ts';
import { renewIssueLeases } from './links.ts';
import {
  CreateUnsettledError,
  IssueBusyError,
  LEASE_MS,
  LEASE_RENEW_MS,
  processSyncDelivery,
  type SyncDeps,
} from './service.ts';

const POLL_INTERVAL_MS = 1_000;
/** One run stops after this many deliveries, so a backlog never starves a clean shutdown. */
const MAX_DELIVERIES_PER_RUN = 50;
// The same curve as Direction A: seconds for a blip, ten attempts span about 40 minutes.
const BACKOFF_BASE_MS = 5_000;
const BACKOFF_CAP_MS = 60 * 60_000;
const BUSY_RETRY_MS = 5_000;
const LAST_ERROR_MAX_CHARS = 2_000;

/** Exponential backoff with equal jitter, never sooner than the service's Retry-After. */
function retryDelayMs(attempt: number, retryAfterSeconds?: number): number {
  return backoffMs(
    attempt,
    { baseMs: BACKOFF_BASE_MS, capMs: BACKOFF_CAP_MS, jitter: 'equal' },
    retryAfterSeconds,
  );
}

export interface SyncRunSummary {
  processed: number;
  retried: number;
  failed: number;
}

/** Works through due GitHub deliveries one claim at a time until none is due. */
export async function runGithubSyncWorker(deps: SyncDeps, signal?: AbortSignal): Promise<SyncRunSummary> {
  const summary: SyncRunSummary = { processed: 0, retried: 0, failed: 0 };
  const holder = randomUUID();
  for (let count = 0; count < MAX_DELIVERIES_PER_RUN && !signal?.aborted; count++) {
    const now = deps.clock.now();
    const [delivery] = await claimDueSyncDeliveries(deps.db, {
      holder,
      now,
      lockedUntil: new Date(now.getTime() + LEASE_MS),
      limit: 1,
    });
    if (!delivery) break;
    summary[await workOn(deps, delivery, holder)] += 1;
  }
  return summary;
}

async function workOn(
  deps: SyncDeps,
  delivery: ClaimedSyncDelivery,
  holder: string,
): Promise<keyof SyncRunSummary> {
  const { db, clock, log, config } = deps;
  const context = { deliveryId: delivery.id, issueNumber: delivery.issue_number, attempt: delivery.attempts };
  const heartbeat = setInterval(() => {
    const until = new Date(clock.now().getTime() + LEASE_MS);
    Promise.all([renewSyncDeliveryLock(db, delivery, until), renewIssueLeases(db, holder, until)]).catch(
      (error: unknown) => log.warn({ ...context, err: error }, 'github-sync: could not renew the claims'),
    );
  }, LEASE_RENEW_MS);
  try {
    const outcome = await processSyncDelivery(deps, delivery, holder);
    await completeSyncDelivery(db, delivery, outcome, clock.now());
    log.info({ ...context, outcome }, 'github-sync: delivery handled');
    return 'processed';
  } catch (error) {
    const now = clock.now();
    if (error instanceof IssueBusyError) {
      const nextAttemptAt = new Date(now.getTime() + BUSY_RETRY_MS * (1 + Math.random()));
      await rescheduleSyncDelivery(db, delivery, { nextAttemptAt, countAttempt: false, now });
      return 'retried';
    }
    if (error instanceof CreateUnsettledError) {
      await rescheduleSyncDelivery(db, delivery, {
        nextAttemptAt: error.settlesAt,
        lastError: describeError(error),
        countAttempt: false,
        now,
      });
      log.warn({ ...context, settlesAt: error.settlesAt }, 'github-sync: ticket create of unknown outcome');
      return 'retried';
    }
    const lastError = describeError(error);
    if (delivery.attempts >= config.githubSync.maxAttempts) {
      await failSyncDelivery(db, delivery, lastError, now);
      log.error({ ...context, err: error }, 'github-sync: delivery failed for good; retry it once fixed');
      return 'failed';
    }
    const retryAfter = error instanceof UpstreamError ? error.details.retryAfterSeconds : undefined;
    const nextAttemptAt = new Date(now.getTime() + retryDelayMs(delivery.attempts, retryAfter));
    await rescheduleSyncDelivery(db, delivery, { nextAttemptAt, lastError, countAttempt: true, now });
    log.warn({ ...context, err: error, nextAttemptAt }, 'github-sync: delivery failed; will retry');
    return 'retried';
  } finally {
    clearInterval(heartbeat);
  }
}

function describeError(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return text.slice(0, LAST_ERROR_MAX_CHARS);
}

/** The worker loop, in the web process or alone (`npm run worker`). */
export function startGithubSyncWorker(deps: SyncDeps): BackgroundJob {
  return runEvery(
    'github-sync-worker',
    POLL_INTERVAL_MS,
    (signal) => runGithubSyncWorker(deps, signal),
    deps.log,
  );
}
