import { sql } from 'kysely';
import { Gauge, type Registry } from 'prom-client';
import type { Db } from '../../db/database.ts';
import type { Clock } from '../../lib/clock.ts';

interface Snapshot {
  work: Array<{ queue: string; status: string; total: number; oldest: Date | null }>;
  alerts: Array<{ kind: string; total: number }>;
  cache: Array<{ status: string; total: number; expired: number; newest_update: Date | null }>;
  lastPoll: Date | null;
}

/**
 * Gauges read from the database at scrape time, with a handful of cheap queries (indexed
 * work queues, the small cache and alert tables) shared by every gauge of one scrape.
 */
export function registerDatabaseGauges(registry: Registry, deps: { db: Db; clock: Clock }): void {
  let inflight: Promise<Snapshot | undefined> | undefined;
  const snapshot = () => {
    inflight ??= readSnapshot(deps.db, deps.clock.now())
      .catch(() => undefined)
      .finally(() => {
        inflight = undefined;
      });
    return inflight;
  };
  const ageSeconds = (time: Date | null) =>
    time === null ? 0 : Math.max(0, (deps.clock.now().getTime() - new Date(time).getTime()) / 1000);

  new Gauge({
    name: 'raptor_database_up',
    help: '1 when the scrape could read the database, else 0 (the database gauges are then absent).',
    registers: [registry],
    async collect() {
      this.set((await snapshot()) ? 1 : 0);
    },
  });
  /** A gauge filled from the scrape's snapshot; absent while the database cannot be read. */
  const snapshotGauge = <Label extends string>(
    meta: { name: string; help: string; labelNames?: readonly Label[] },
    fill: (gauge: Gauge<Label>, data: Snapshot) => void,
  ) =>
    new Gauge<Label>({
      ...meta,
      registers: [registry],
      async collect() {
        this.reset();
        const data = await snapshot();
        if (data) fill(this, data);
      },
    });

  snapshotGauge(
    {
      name: 'raptor_work_items',
      help: 'Queued background work by queue and status (pending, processing, failed).',
      labelNames: ['queue', 'status'],
    },
    (gauge, data) => {
      for (const queue of ['autolink', 'security_notification']) {
        for (const status of queue === 'autolink' ? ['pending', 'processing', 'failed'] : ['pending']) {
          const row = data.work.find((item) => item.queue === queue && item.status === status);
          gauge.set({ queue, status }, Number(row?.total ?? 0));
        }
      }
    },
  );
  snapshotGauge(
    {
      name: 'raptor_work_oldest_pending_age_seconds',
      help: 'Age of the oldest pending work item by queue (0 when none is pending).',
      labelNames: ['queue'],
    },
    (gauge, data) => {
      for (const queue of ['autolink', 'security_notification']) {
        const row = data.work.find((item) => item.queue === queue && item.status === 'pending');
        gauge.set({ queue }, ageSeconds(row?.oldest ?? null));
      }
    },
  );
  snapshotGauge(
    {
      name: 'raptor_alerts_sent',
      help: 'Postmark threshold alerts sent so far, by kind (from the alert history table).',
      labelNames: ['kind'],
    },
    (gauge, data) => {
      for (const kind of ['bounce_rate', 'spam_rate']) {
        gauge.set({ kind }, Number(data.alerts.find((row) => row.kind === kind)?.total ?? 0));
      }
    },
  );
  snapshotGauge(
    {
      name: 'raptor_freescout_cache_rows',
      help: 'Rows of freescout_ticket_cache by status.',
      labelNames: ['status'],
    },
    (gauge, data) => {
      for (const status of ['active', 'pending', 'closed', 'spam', 'deleted']) {
        gauge.set({ status }, Number(data.cache.find((row) => row.status === status)?.total ?? 0));
      }
    },
  );
  snapshotGauge(
    {
      name: 'raptor_freescout_cache_expired_rows',
      help: 'Cache rows past ttl_expires (they read as `none`).',
    },
    (gauge, data) => gauge.set(data.cache.reduce((sum, row) => sum + Number(row.expired), 0)),
  );
  snapshotGauge(
    {
      name: 'raptor_freescout_cache_newest_update_age_seconds',
      help: 'Seconds since the newest FreeScout change the cache holds (staleness).',
    },
    (gauge, data) => {
      const newest = data.cache
        .map((row) => row.newest_update && new Date(row.newest_update))
        .filter((time): time is Date => Boolean(time))
        .sort((a, b) => b.getTime() - a.getTime())[0];
      if (newest) gauge.set(ageSeconds(newest));
    },
  );
  snapshotGauge(
    {
      name: 'raptor_freescout_poll_last_run_age_seconds',
      help: 'Seconds since the FreeScout poller last finished a cycle (absent before its first).',
    },
    (gauge, data) => {
      if (data.lastPoll) gauge.set(ageSeconds(data.lastPoll));
    },
  );
}

async function readSnapshot(db: Db, now: Date): Promise<Snapshot> {
  const { rows: work } = await sql<Snapshot['work'][number]>`
    select 'autolink' as queue, status, count(*) as total, min(received_at) as oldest
    from autolink_delivery where status in ('pending', 'processing', 'failed') group by status
    union all
    select 'security_notification', 'pending', count(*), min(created_at)
    from security_notification where delivered_at is null`.execute(db);
  const { rows: alerts } = await sql<Snapshot['alerts'][number]>`
    select kind, count(*) as total from postmark_alert_sent group by kind`.execute(db);
  const { rows: cache } = await sql<Snapshot['cache'][number]>`
    select status, count(*) as total, count(*) filter (where ttl_expires <= ${now}) as expired,
      max(updated_at) as newest_update
    from freescout_ticket_cache group by status`.execute(db);
  const poll = await db
    .selectFrom('freescout_poll_cursor')
    .select('last_polled_at')
    .where('name', '=', 'conversations')
    .executeTakeFirst();
  return { work, alerts, cache, lastPoll: poll?.last_polled_at ? new Date(poll.last_polled_at) : null };
}
