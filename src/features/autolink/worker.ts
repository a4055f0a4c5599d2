import { randomUUID } from 'node:crypto';
import { backoffMs } from '../../clients/http.ts';
import { type BackgroundJob, runEvery } from '../../lib/background.ts';
import { UpstreamError } from '../../lib/errors.ts';
import {
  type ClaimedDelivery,
  claimDueDeliveries,
  completeDelivery,
  failDelivery,
  renewDeliveryLock,
  rescheduleDelivery,
} from './inbox.ts';
import { renewLeases } from './links.ts';
import {
  type AutolinkDeps,
  LEASE_MS,
  LEASE_RENEW_MS,
  processDelivery,
  TicketBusyError,
  WriteUnsettledError,
} from './service.ts';

const POLL_INTERVAL_MS = 1_000;
/** One run stops after this many deliveries, so a backlog never starves a clean shutdown. */
const MAX_DELIVERIES_PER_RUN = 50;
// Short first steps so a blip heals in seconds; ten attempts still span about 40 minutes.
const BACKOFF_BASE_MS = 5_000;
const BACKOFF_CAP_MS = 60 * 60_000;
const BUSY_RETRY_MS = 5_000;
const LAST_ERROR_MAX_CHARS = 2_000;

/** Equal-jitter exponential backoff, never sooner than the service's Retry-After; `attempt` from 1. */
export function retryDelayMs(attempt: number, retryAfterSeconds?: number, random = Math.random): number {
  return backoffMs(
    attempt,
    { baseMs: BACKOFF_BASE_MS, capMs: BACKOFF_CAP_MS, jitter: 'equal' },
    retryAfterSeconds,
    random,
  );
}

export interface WorkerRunSummary {
  processed: number;
  retried: number;
  failed: number;
}

/**
 * Works through due deliveries one claim at a time (`for update skip locked`, so any number of
 * workers on any number of instances share the queue), until none is due.
 */
export async function runAutolinkWorker(deps: AutolinkDeps, signal?: AbortSignal): Promise<WorkerRunSummary> {
  const summary: WorkerRunSummary = { processed: 0, retried: 0, failed: 0 };
  const holder = randomUUID();
  for (let count = 0; count < MAX_DELIVERIES_PER_RUN && !signal?.aborted; count++) {
    const now = deps.clock.now();
    const [delivery] = await claimDueDeliveries(deps.db, {
      holder,
      now,
      lockedUntil: new Date(now.getTime() + LEASE_MS),
      limit: 1,
    });
    if (!delivery) break;
    const result = await workOn(deps, delivery, holder);
    summary[result] += 1;
  }
  return summary;
}

async function workOn(
  deps: AutolinkDeps,
  delivery: ClaimedDelivery,
  holder: string,
): Promise<keyof WorkerRunSummary> {
  const { db, clock, log, config } = deps;
  const context = {
    deliveryId: delivery.id,
    conversationId: delivery.conversation_id,
    attempt: delivery.attempts,
  };
  const heartbeat = setInterval(() => {
    const until = new Date(clock.now().getTime() + LEASE_MS);
    Promise.all([renewDeliveryLock(db, delivery, until), renewLeases(db, holder, until)]).catch(
      (error: unknown) =>
        log.warn({ ...context, err: error }, 'autolink: could not renew the claims; they may expire'),
    );
  }, LEASE_RENEW_MS);
  try {
    const outcome = await processDelivery(deps, delivery, holder);
    await completeDelivery(db, delivery, outcome, clock.now());
    log.info({ ...context, outcome }, 'autolink: delivery handled');
    return 'processed';
  } catch (error) {
    const now = clock.now();
    if (error instanceof TicketBusyError) {
      const nextAttemptAt = new Date(now.getTime() + BUSY_RETRY_MS * (1 + Math.random()));
      await rescheduleDelivery(db, delivery, { nextAttemptAt, countAttempt: false, now });
      log.debug({ ...context }, 'autolink: ticket busy elsewhere; delivery requeued');
      return 'retried';
    }
    if (error instanceof WriteUnsettledError) {
      // Waiting for GitHub to settle is not a failure: it costs no attempt and keeps no worker busy.
      const nextAttemptAt = new Date(Math.max(error.settlesAt.getTime(), now.getTime() + 1_000));
      await rescheduleDelivery(db, delivery, {
        nextAttemptAt,
        lastError: describeError(error),
        countAttempt: false,
        now,
      });
      log.info(
        { ...context, nextAttemptAt },
        'autolink: an earlier write is unsettled; searching again later',
      );
      return 'retried';
    }
    const lastError = describeError(error);
    if (delivery.attempts >= config.autolink.maxAttempts) {
      await failDelivery(db, delivery, lastError, now);
      log.error({ ...context, err: error }, 'autolink: delivery failed for good; replay it once fixed');
      return 'failed';
    }
    const retryAfter = error instanceof UpstreamError ? error.details.retryAfterSeconds : undefined;
    const nextAttemptAt = new Date(now.getTime() + retryDelayMs(delivery.attempts, retryAfter));
    await rescheduleDelivery(db, delivery, { nextAttemptAt, lastError, countAttempt: true, now });
    log.warn({ ...context, err: error, nextAttemptAt }, 'autolink: delivery failed; will retry');
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
export function startAutolinkWorker(deps: AutolinkDeps): BackgroundJob {
  return runEvery('autolink-worker', POLL_INTERVAL_MS, (signal) => runAutolinkWorker(deps, signal), deps.log);
}
