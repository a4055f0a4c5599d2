import { randomUUID } from 'node:crypto';
import type { ExpressionBuilder, Selectable } from 'kysely';
import { backoffMs, retryAfterOf } from '../clients/http.ts';
import type { Db } from '../db/database.ts';
import type { Database } from '../db/schema.ts';
import { type BackgroundJob, runEvery } from './background.ts';
import type { ServiceDeps } from './deps.ts';
import type { RowLease } from './lease.ts';

/**
 * The durable inbox of a webhook intake: each verified delivery is a row, and workers in any
 * number of processes work through the due rows, each delivery by one worker at a time:
 * - a worker claims one due row (`for update skip locked`) with a lock that expires with its
 *   holder, so a delivery left `processing` by a worker that died is due again;
 * - the work leases rows of its own (a ticket's link, an issue's claim), renewed with the claim;
 * - only the holder of the claim may record on or settle the row: a worker whose lock expired
 *   lost the delivery.
 * A feature says what its deliveries are and how one is processed (`InboxWorker`).
 */

/** Tables with the inbox's claim, retry and settle columns. Their ids come from one sequence. */
export const INBOX_TABLES = ['autolink_delivery', 'github_sync_delivery'] as const;
export type InboxTable = (typeof INBOX_TABLES)[number];

/** Rows a delivery's work leases (`lease_holder`, `lease_expires_at`). */
export type LeasedTable = 'autolink_link' | 'autolink_close_comment' | 'github_sync_issue';

/** What the worker itself reads of a claimed delivery. */
interface Claim {
  id: number;
  attempts: number;
  /** The claim's holder. */
  locked_by: string;
}

/** A delivery as its worker claimed it: the whole row of its table. */
export type InboxDelivery<T extends InboxTable> = Omit<Selectable<Database[T]>, keyof Claim> & Claim;

/**
 * How long a claim on a delivery, or a lease its work takes, outlives its holder's last sign of
 * life. The worker renews them every `LEASE_RENEW_MS` while it works, so a slow call keeps
 * them and a dead process gives them up within this time.
 */
export const LEASE_MS = 30_000;
const LEASE_RENEW_MS = 10_000;
const POLL_INTERVAL_MS = 1_000;
/** One run stops after this many deliveries, so a backlog never starves a clean shutdown. */
const MAX_DELIVERIES_PER_RUN = 50;
// Short first steps so a blip heals in seconds; ten attempts still span about 40 minutes.
const BACKOFF_BASE_MS = 5_000;
const BACKOFF_CAP_MS = 60 * 60_000;
const BUSY_RETRY_MS = 5_000;
const LAST_ERROR_MAX_CHARS = 2_000;

function leaseEnd(from: Date): Date {
  return new Date(from.getTime() + LEASE_MS);
}

/**
 * Claims the next due delivery of `table` for `holder`: a pending one whose time has come, or
 * one left `processing` by a holder whose lock has expired.
 */
export async function claimDueDelivery<T extends InboxTable>(
  deps: Pick<ServiceDeps, 'db' | 'clock'>,
  table: T,
  holder: string,
): Promise<InboxDelivery<T> | undefined> {
  const now = deps.clock.now();
  const lockedUntil = leaseEnd(now);
  const inbox: InboxTable = table;
  const claimed = await deps.db
    .updateTable(inbox)
    .set((eb) => ({
      status: 'processing',
      attempts: eb('attempts', '+', 1),
      locked_by: holder,
      locked_until: lockedUntil,
      updated_at: now,
    }))
    .where('id', 'in', (eb) =>
      eb
        .selectFrom(inbox)
        .select('id')
        .where((due) =>
          due.or([
            due.and([due('status', '=', 'pending'), due('next_attempt_at', '<=', now)]),
            due.and([due('status', '=', 'processing'), due('locked_until', '<', now)]),
          ]),
        )
        .orderBy('next_attempt_at')
        .orderBy('id')
        .limit(1)
        .forUpdate()
        .skipLocked(),
    )
    .returningAll()
    .executeTakeFirst();
  // The query is typed by the columns the inbox tables share; the row is one of `table`'s.
  return claimed as InboxDelivery<T> | undefined;
}

/** Only the holder of the claim may touch the row: a worker whose lock expired lost the delivery. */
export function heldBy(delivery: Pick<Claim, 'id' | 'locked_by'>) {
  return (eb: ExpressionBuilder<Database, InboxTable>) =>
    eb.and([
      eb('id', '=', delivery.id),
      eb('status', '=', 'processing'),
      eb('locked_by', '=', delivery.locked_by),
    ]);
}

/** A lease on a row the work takes for `holder`, as of now; renewed with the delivery's claim. */
export function workLease(deps: Pick<ServiceDeps, 'clock'>, holder: string): RowLease {
  const now = deps.clock.now();
  return { holder, now, expiresAt: leaseEnd(now) };
}

/** Keeps every lease `holder` took in `tables` from expiring, for another `LEASE_MS`. */
export async function renewLeases(
  deps: Pick<ServiceDeps, 'db' | 'clock'>,
  holder: string,
  tables: readonly LeasedTable[],
): Promise<void> {
  const expiresAt = leaseEnd(deps.clock.now());
  for (const table of tables) {
    await deps.db
      .updateTable(table)
      .set({ lease_expires_at: expiresAt })
      .where('lease_holder', '=', holder)
      .execute();
  }
}

/** Equal-jitter exponential backoff, never sooner than the service's Retry-After; `attempt` from 1. */
export function retryDelayMs(attempt: number, retryAfterSeconds?: number, random = Math.random): number {
  return backoffMs(
    attempt,
    { baseMs: BACKOFF_BASE_MS, capMs: BACKOFF_CAP_MS, jitter: 'equal' },
    retryAfterSeconds,
    random,
  );
}

/** When to try again a delivery whose ticket or issue another worker holds right now. */
export function busyRetryAt(now: Date): Date {
  return new Date(now.getTime() + BUSY_RETRY_MS * (1 + Math.random()));
}

/** A delivery that is not failing, only waiting: requeued at no attempt's cost. */
export interface Postponement {
  nextAttemptAt: Date;
  /** Keeps the error as the delivery's `last_error`, where an operator sees why it waits. */
  recordError?: boolean;
  /** Logged once the delivery is requeued. */
  log?: { level: 'debug' | 'info' | 'warn'; fields?: Record<string, unknown>; message: string };
}

/** What a feature says about its inbox; claiming, renewing, retrying and settling are shared. */
export interface InboxWorker<T extends InboxTable> {
  /** The loop's name. */
  name: string;
  /** Starts the worker's log lines. */
  logPrefix: string;
  table: T;
  /** Where the work leases rows; renewed with the claim while it works. */
  leasedTables: readonly LeasedTable[];
  /** A failing delivery stops (`failed`) after this many attempts, until an operator replays it. */
  maxAttempts: number;
  /** What the worker's log lines say of a delivery besides its id and attempt. */
  logFields(delivery: InboxDelivery<T>): Record<string, unknown>;
  /** Does the work of one delivery; answers its outcome, or throws for a retry. */
  process(delivery: InboxDelivery<T>, holder: string): Promise<string>;
  /** An error that only means "not yet"; undefined for a failure, which costs an attempt. */
  postpone(error: unknown, now: Date): Postponement | undefined;
}

export interface InboxRunSummary {
  processed: number;
  retried: number;
  failed: number;
}

/**
 * Works through due deliveries one claim at a time (`for update skip locked`, so any number of
 * workers on any number of instances share the queue), until none is due.
 */
export async function runInboxWorker<T extends InboxTable>(
  deps: Pick<ServiceDeps, 'db' | 'clock' | 'log'>,
  worker: InboxWorker<T>,
  signal?: AbortSignal,
): Promise<InboxRunSummary> {
  const summary: InboxRunSummary = { processed: 0, retried: 0, failed: 0 };
  const holder = randomUUID();
  for (let count = 0; count < MAX_DELIVERIES_PER_RUN && !signal?.aborted; count++) {
    const delivery = await claimDueDelivery(deps, worker.table, holder);
    if (!delivery) break;
    summary[await workOn(deps, worker, delivery, holder)] += 1;
  }
  return summary;
}

/** The worker loop, in the web process or alone (`npm run worker`). */
export function startInboxWorker<T extends InboxTable>(
  deps: Pick<ServiceDeps, 'db' | 'clock' | 'log'>,
  worker: InboxWorker<T>,
): BackgroundJob {
  return runEvery(worker.name, POLL_INTERVAL_MS, (signal) => runInboxWorker(deps, worker, signal), deps.log);
}

async function workOn<T extends InboxTable>(
  deps: Pick<ServiceDeps, 'db' | 'clock' | 'log'>,
  worker: InboxWorker<T>,
  delivery: InboxDelivery<T>,
  holder: string,
): Promise<keyof InboxRunSummary> {
  const { db, clock, log } = deps;
  const prefix = worker.logPrefix;
  const context = { deliveryId: delivery.id, ...worker.logFields(delivery), attempt: delivery.attempts };
  const heartbeat = setInterval(() => {
    Promise.all([
      whileHeld(db, worker.table, delivery)
        .set({ locked_until: leaseEnd(clock.now()) })
        .execute(),
      renewLeases(deps, holder, worker.leasedTables),
    ]).catch((error: unknown) =>
      log.warn({ ...context, err: error }, `${prefix}: could not renew the claims; they may expire`),
    );
  }, LEASE_RENEW_MS);
  try {
    const outcome = await worker.process(delivery, holder);
    await whileHeld(db, worker.table, delivery)
      .set({ status: 'done', outcome, locked_by: null, locked_until: null, updated_at: clock.now() })
      .execute();
    log.info({ ...context, outcome }, `${prefix}: delivery handled`);
    return 'processed';
  } catch (error) {
    const now = clock.now();
    const postponed = worker.postpone(error, now);
    if (postponed) {
      await requeue(db, worker.table, delivery, {
        nextAttemptAt: postponed.nextAttemptAt,
        ...(postponed.recordError ? { lastError: describeError(error) } : {}),
        countAttempt: false,
        now,
      });
      if (postponed.log) {
        const { level, fields, message } = postponed.log;
        log[level]({ ...context, ...fields }, message);
      }
      return 'retried';
    }
    const lastError = describeError(error);
    if (delivery.attempts >= worker.maxAttempts) {
      await whileHeld(db, worker.table, delivery)
        .set({
          status: 'failed',
          last_error: lastError,
          locked_by: null,
          locked_until: null,
          updated_at: now,
        })
        .execute();
      log.error({ ...context, err: error }, `${prefix}: delivery failed for good; replay it once fixed`);
      return 'failed';
    }
    const nextAttemptAt = new Date(now.getTime() + retryDelayMs(delivery.attempts, retryAfterOf(error)));
    await requeue(db, worker.table, delivery, { nextAttemptAt, lastError, countAttempt: true, now });
    log.warn({ ...context, err: error, nextAttemptAt }, `${prefix}: delivery failed; will retry`);
    return 'retried';
  } finally {
    clearInterval(heartbeat);
  }
}

/** An update of the delivery that does nothing once its claim is lost (`heldBy`). */
function whileHeld(db: Db, table: InboxTable, delivery: Pick<Claim, 'id' | 'locked_by'>) {
  return db.updateTable(table).where(heldBy(delivery));
}

/** Back to `pending` until `nextAttemptAt`; an attempt that was no failure is given back. */
async function requeue(
  db: Db,
  table: InboxTable,
  delivery: Pick<Claim, 'id' | 'locked_by'>,
  options: { nextAttemptAt: Date; lastError?: string; countAttempt: boolean; now: Date },
): Promise<void> {
  await whileHeld(db, table, delivery)
    .set((eb) => ({
      status: 'pending',
      next_attempt_at: options.nextAttemptAt,
      ...(options.lastError === undefined ? {} : { last_error: options.lastError }),
      attempts: options.countAttempt ? eb.ref('attempts') : eb('attempts', '-', 1),
      locked_by: null,
      locked_until: null,
      updated_at: options.now,
    }))
    .execute();
}

function describeError(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return text.slice(0, LAST_ERROR_MAX_CHARS);
}
