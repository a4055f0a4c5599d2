import { sql } from 'kysely';
import type { Config } from '../../config.ts';
import type { Db } from '../../db/database.ts';
import type { CachedTicketStatus, DeliveryOutcome, PostmarkEventType } from '../../db/schema.ts';
import type { ServiceDeps } from '../../lib/deps.ts';
import { readPostmarkRates } from '../../lib/postmark-rates.ts';
import type { FeatureReadiness } from '../../lib/readiness.ts';
import { type LoggedDelivery, listLoggedDeliveries } from './deliveries.ts';

const HOUR_MS = 60 * 60_000;
const DAY_MS = 24 * HOUR_MS;
const LIST_LIMIT = 10;
const FAILED_WORK_LIMIT = 25;
const RECENT_DELIVERIES = 15;
/** The poller's cursor row and lease (features/freescout-webhooks/poller.ts). */
const POLL_CURSOR = 'conversations';
const POLL_LEASE = 'freescout-cache-poll';
const CACHE_STATUSES: CachedTicketStatus[] = ['active', 'pending', 'closed', 'spam', 'deleted'];

export interface LastDelivery {
  received_at: string;
  event: string | null;
  status: number;
  outcome: DeliveryOutcome;
  detail: string | null;
}

export interface RouteHealth {
  route: string;
  last_delivery: LastDelivery | null;
  rejected_last_hour: number;
  failed_last_hour: number;
  signature_failures_24h: number;
}

export interface HourlyCounts {
  hour: string;
  delivered: number;
  bounced: number;
  spam_complaint: number;
}

export interface OpsSummary {
  generated_at: string;
  health: Array<
    FeatureReadiness & { last_delivery: (LastDelivery & { route: string }) | null; errors_last_hour: number }
  >;
  webhooks: RouteHealth[];
  recent_deliveries: LoggedDelivery[];
  postmark: {
    thresholds: { bounce_rate: number; spam_rate: number; min_volume: number };
    rates: {
      bounce_rate_1h: number;
      bounced_1h: number;
      messages_1h: number;
      spam_rate_24h: number;
      spam_24h: number;
      messages_24h: number;
    };
    hourly_24h: HourlyCounts[];
    hourly_7d: HourlyCounts[];
    latest_problems: Array<{
      id: number;
      event_type: PostmarkEventType;
      recipient: string | null;
      bounce_type: string | null;
      bounce_description: string | null;
      recorded_at: string;
    }>;
    alerts_sent: Array<{
      kind: string;
      alerted_at: string;
      rate: number;
      threshold: number;
      events: number;
      messages: number;
    }>;
  };
  freescout: {
    cache: {
      by_status: Record<CachedTicketStatus, number>;
      total: number;
      expired: number;
      newest_update: string | null;
      newest_refresh: string | null;
    };
    poller: {
      enabled: boolean;
      interval_seconds: number;
      last_run_at: string | null;
      lag_seconds: number | null;
      cursor: string | null;
      lease_expires_at: string | null;
    };
    signature_failures_24h: Array<{ route: string; count: number }>;
  };
  github: {
    links: Array<{
      ticket_id: number;
      issue_number: number | null;
      issue_url: string | null;
      direction: 'freescout_to_github' | 'github_to_freescout' | 'manual';
      linked_at: string | null;
    }>;
    work: { pending: number; processing: number; failed: number; oldest_pending_age_seconds: number | null };
    failed: Array<{
      id: number;
      source: string;
      event: string;
      conversation_id: number | null;
      issue_number: number | null;
      attempts: number;
      last_error: string | null;
      updated_at: string;
    }>;
  };
  investigate: {
    tickets: Array<{
      surface: string;
      console_state: string;
      requested_by: string | null;
      conversation_id: number | null;
      ticket_url: string | null;
      opened_at: string | null;
      clicks_absorbed: number;
    }>;
  };
}

/** What the composition root knows about every feature (no feature imports another). */
export interface SummaryInputs {
  /** Every feature's readiness. */
  readiness: readonly FeatureReadiness[];
  /** The route patterns webhooks are received on, whose deliveries the log records. */
  webhookRoutes: readonly string[];
}

const iso = (value: Date | string | null | undefined) =>
  value === null || value === undefined ? null : new Date(value).toISOString();
const hourOf = (time: Date) => new Date(Math.floor(time.getTime() / HOUR_MS) * HOUR_MS);

/**
 * Everything the operator page shows, read from small tables, rollups and indexed tails only:
 * its cost does not grow with the number of stored Postmark events or logged deliveries.
 */
export async function readOpsSummary(
  { db, config, clock }: Pick<ServiceDeps, 'db' | 'config' | 'clock'>,
  { readiness, webhookRoutes }: SummaryInputs,
): Promise<OpsSummary> {
  // One reading of the clock: every window and age on the page is measured from the same instant.
  const now = clock.now();
  const [webhooks, recentDeliveries, postmark, freescout, github, investigate] = await Promise.all([
    readWebhookHealth(db, webhookRoutes, now),
    listLoggedDeliveries(db, { limit: RECENT_DELIVERIES }),
    readPostmark(db, config.postmark, now),
    readFreescout(db, config.freescoutWebhooks, now),
    readGithub(db, now),
    readInvestigate(db, config.freescout.publicUrl),
  ]);
  const health = readiness.map((feature) => {
    const routes = webhooks.filter((route) => feature.webhookRoutes.includes(route.route));
    const last = routes
      .filter((route) => route.last_delivery !== null)
      .sort((a, b) =>
        (b.last_delivery?.received_at ?? '').localeCompare(a.last_delivery?.received_at ?? ''),
      )[0];
    return {
      ...feature,
      last_delivery: last?.last_delivery ? { route: last.route, ...last.last_delivery } : null,
      errors_last_hour: routes.reduce(
        (sum, route) => sum + route.rejected_last_hour + route.failed_last_hour,
        0,
      ),
    };
  });
  return {
    generated_at: now.toISOString(),
    health,
    webhooks,
    recent_deliveries: recentDeliveries,
    postmark,
    freescout: {
      ...freescout,
      signature_failures_24h: webhooks
        .filter((route) => route.route.includes('freescout'))
        .map((route) => ({ route: route.route, count: route.signature_failures_24h })),
    },
    github,
    investigate,
  };
}

async function readWebhookHealth(
  db: Db,
  webhookRoutes: readonly string[],
  now: Date,
): Promise<RouteHealth[]> {
  if (webhookRoutes.length === 0) return [];
  const routes = [...webhookRoutes];
  const { rows: latest } = await sql<{
    route: string;
    received_at: Date | null;
    event: string | null;
    status: number | null;
    outcome: DeliveryOutcome | null;
    detail: string | null;
  }>`
    select r.route, d.received_at, d.event, d.status, d.outcome, d.detail
    from unnest(${routes}::text[]) as r(route)
    left join lateral (
      select received_at, event, status, outcome, detail from delivery_log
      where route = r.route order by id desc limit 1
    ) d on true`.execute(db);
  // The partial index on problem rows keeps these counts cheap however busy the webhooks are.
  const { rows: problems } = await sql<{
    route: string;
    rejected: number;
    failed: number;
    signature: number;
  }>`
    select route,
      count(*) filter (where status < 500 and received_at > ${new Date(now.getTime() - HOUR_MS)}) as rejected,
      count(*) filter (where status >= 500 and received_at > ${new Date(now.getTime() - HOUR_MS)}) as failed,
      count(*) filter (where status = 401 and (detail like 'invalid_signature%' or detail like 'unauthorized%')) as signature
    from delivery_log
    where status >= 400 and received_at > ${new Date(now.getTime() - DAY_MS)}
    group by route`.execute(db);
  return routes.map((route) => {
    const last = latest.find((row) => row.route === route);
    const problem = problems.find((row) => row.route === route);
    return {
      route,
      last_delivery:
        last?.received_at && last.status !== null && last.outcome !== null
          ? {
              received_at: new Date(last.received_at).toISOString(),
              event: last.event,
              status: last.status,
              outcome: last.outcome,
              detail: last.detail,
            }
          : null,
      rejected_last_hour: Number(problem?.rejected ?? 0),
      failed_last_hour: Number(problem?.failed ?? 0),
      signature_failures_24h: Number(problem?.signature ?? 0),
    };
  });
}

function emptyHours(from: Date, count: number): Map<number, HourlyCounts> {
  const hours = new Map<number, HourlyCounts>();
  for (let index = 0; index < count; index++) {
    const hour = new Date(from.getTime() + index * HOUR_MS);
    hours.set(hour.getTime(), { hour: hour.toISOString(), delivered: 0, bounced: 0, spam_complaint: 0 });
  }
  return hours;
}

function addCount(
  hours: Map<number, HourlyCounts>,
  hour: Date | string,
  type: PostmarkEventType,
  count: number,
) {
  const bucket = hours.get(new Date(hour).getTime());
  if (!bucket) return;
  if (type === 'Delivery') bucket.delivered += Number(count);
  else if (type === 'Bounce') bucket.bounced += Number(count);
  else bucket.spam_complaint += Number(count);
}

async function readPostmark(
  db: Db,
  settings: Config['postmark'],
  now: Date,
): Promise<OpsSummary['postmark']> {
  const currentHour = hourOf(now);
  const start24 = new Date(currentHour.getTime() - 23 * HOUR_MS);
  const start7d = new Date(currentHour.getTime() - (7 * 24 - 1) * HOUR_MS);

  // The last 24 hours come from the minute rollups (the current hour included); older hours
  // from the hourly ones the retention job compacts before pruning minutes.
  const { rows: recent } = await sql<{ hour: Date; event_type: PostmarkEventType; total: number }>`
    select date_trunc('hour', minute) as hour, event_type, sum(count) as total
    from postmark_event_rollup where minute >= ${start24} group by 1, 2`.execute(db);
  const older = await db
    .selectFrom('postmark_event_hourly')
    .select(['hour', 'event_type', 'count'])
    .where('hour', '>=', start7d)
    .where('hour', '<', start24)
    .execute();
  // The rates the alerts compare (the bounce rate counts POSTMARK_BOUNCE_ALERT_TYPES only).
  const { bounce, spam } = await readPostmarkRates(db, now, settings.bounceAlertTypes);
  const problems = await db
    .selectFrom('postmark_event')
    .select(['id', 'event_type', 'recipient', 'bounce_type', 'bounce_description', 'recorded_at'])
    .where('event_type', '<>', 'Delivery')
    .orderBy('id', 'desc')
    .limit(LIST_LIMIT)
    .execute();
  const alerts = await db
    .selectFrom('postmark_alert_sent')
    .select(['kind', 'alerted_at', 'rate', 'threshold', 'events', 'messages'])
    .orderBy('id', 'desc')
    .limit(LIST_LIMIT)
    .execute();

  const day = emptyHours(start24, 24);
  const week = emptyHours(start7d, 7 * 24);
  for (const row of recent) {
    addCount(day, row.hour, row.event_type, row.total);
    addCount(week, row.hour, row.event_type, row.total);
  }
  for (const row of older) addCount(week, row.hour, row.event_type, row.count);

  return {
    thresholds: {
      bounce_rate: settings.bounceAlertRate,
      spam_rate: settings.spamAlertRate,
      min_volume: settings.alertMinVolume,
    },
    rates: {
      bounce_rate_1h: bounce.rate,
      bounced_1h: bounce.events,
      messages_1h: bounce.messages,
      spam_rate_24h: spam.rate,
      spam_24h: spam.events,
      messages_24h: spam.messages,
    },
    hourly_24h: [...day.values()],
    hourly_7d: [...week.values()],
    latest_problems: problems.map((row) => ({
      ...row,
      recorded_at: new Date(row.recorded_at).toISOString(),
    })),
    alerts_sent: alerts.map((row) => ({
      ...row,
      alerted_at: new Date(row.alerted_at).toISOString(),
      rate: Number(row.rate),
      threshold: Number(row.threshold),
    })),
  };
}

async function readFreescout(
  db: Db,
  poll: Config['freescoutWebhooks'],
  now: Date,
): Promise<Omit<OpsSummary['freescout'], 'signature_failures_24h'>> {
  const { rows } = await sql<{
    status: CachedTicketStatus;
    total: number;
    expired: number;
    newest_update: Date | null;
    newest_refresh: Date | null;
  }>`
    select status, count(*) as total, count(*) filter (where ttl_expires <= ${now}) as expired,
      max(updated_at) as newest_update, max(refreshed_at) as newest_refresh
    from freescout_ticket_cache group by status`.execute(db);
  const cursor = await db
    .selectFrom('freescout_poll_cursor')
    .select(['updated_since', 'last_polled_at'])
    .where('name', '=', POLL_CURSOR)
    .executeTakeFirst();
  const lease = await db
    .selectFrom('job_lease')
    .select('expires_at')
    .where('name', '=', POLL_LEASE)
    .executeTakeFirst();

  const byStatus = Object.fromEntries(CACHE_STATUSES.map((status) => [status, 0])) as Record<
    CachedTicketStatus,
    number
  >;
  let newestUpdate: Date | null = null;
  let newestRefresh: Date | null = null;
  for (const row of rows) {
    byStatus[row.status] = Number(row.total);
    const update = row.newest_update && new Date(row.newest_update);
    const refresh = row.newest_refresh && new Date(row.newest_refresh);
    if (update && (!newestUpdate || update > newestUpdate)) newestUpdate = update;
    if (refresh && (!newestRefresh || refresh > newestRefresh)) newestRefresh = refresh;
  }
  const lastRun = cursor?.last_polled_at ? new Date(cursor.last_polled_at) : null;
  return {
    cache: {
      by_status: byStatus,
      total: rows.reduce((sum, row) => sum + Number(row.total), 0),
      expired: rows.reduce((sum, row) => sum + Number(row.expired), 0),
      newest_update: iso(newestUpdate),
      newest_refresh: iso(newestRefresh),
    },
    poller: {
      enabled: poll.pollEnabled,
      interval_seconds: poll.pollIntervalSeconds,
      last_run_at: iso(lastRun),
      lag_seconds: lastRun ? Math.max(0, Math.round((now.getTime() - lastRun.getTime()) / 1000)) : null,
      cursor: iso(cursor?.updated_since),
      lease_expires_at: iso(lease?.expires_at),
    },
  };
}

async function readGithub(db: Db, now: Date): Promise<OpsSummary['github']> {
  const links = await db
    .selectFrom('autolink_link')
    .select(['conversation_id', 'issue_number', 'issue_url', 'direction', 'linked_at'])
    .where('issue_url', 'is not', null)
    .where('linked_at', 'is not', null)
    .orderBy('linked_at', 'desc')
    .limit(LIST_LIMIT)
    .execute();
  // Both directions' inboxes: one id sequence, retried through the same operator route.
  const { rows: work } = await sql<{ status: string; total: number; oldest: Date | null }>`
    select status, sum(total) as total, min(oldest) as oldest from (
      select status, count(*) as total, min(received_at) as oldest
      from autolink_delivery where status in ('pending', 'processing', 'failed') group by status
      union all
      select status, count(*) as total, min(received_at) as oldest
      from github_sync_delivery where status in ('pending', 'processing', 'failed') group by status
    ) as inboxes group by status`.execute(db);
  const { rows: failed } = await sql<
    Omit<OpsSummary['github']['failed'][number], 'updated_at'> & { updated_at: Date }
  >`
    select * from (
      (select id, source, event, conversation_id, null::integer as issue_number, attempts, last_error, updated_at
       from autolink_delivery where status = 'failed' order by id desc limit ${FAILED_WORK_LIMIT})
      union all
      (select id, 'github' as source, event || '.' || action as event, null::integer as conversation_id,
         issue_number, attempts, last_error, updated_at
       from github_sync_delivery where status = 'failed' order by id desc limit ${FAILED_WORK_LIMIT})
    ) as failed order by id desc limit ${FAILED_WORK_LIMIT}`.execute(db);
  const countOf = (status: string) => Number(work.find((row) => row.status === status)?.total ?? 0);
  const oldest = work.find((row) => row.status === 'pending')?.oldest;
  return {
    links: links.map((link) => ({
      ticket_id: link.conversation_id,
      issue_number: link.issue_number,
      issue_url: link.issue_url,
      direction: link.direction,
      linked_at: iso(link.linked_at),
    })),
    work: {
      pending: countOf('pending'),
      processing: countOf('processing'),
      failed: countOf('failed'),
      oldest_pending_age_seconds: oldest
        ? Math.max(0, Math.round((now.getTime() - new Date(oldest).getTime()) / 1000))
        : null,
    },
    failed: failed.map((row) => ({
      ...row,
      id: Number(row.id),
      attempts: Number(row.attempts),
      updated_at: new Date(row.updated_at).toISOString(),
    })),
  };
}

async function readInvestigate(db: Db, publicUrl: string | undefined): Promise<OpsSummary['investigate']> {
  const rows = await db
    .selectFrom('investigate_attempt')
    .select(['surface', 'console_state', 'requested_by', 'conversation_id', 'finished_at', 'clicks_absorbed'])
    .where('outcome', '=', 'created')
    .orderBy('finished_at', 'desc')
    .limit(LIST_LIMIT)
    .execute();
  return {
    tickets: rows.map((row) => ({
      surface: row.surface,
      console_state: row.console_state,
      requested_by: row.requested_by,
      conversation_id: row.conversation_id,
      ticket_url:
        publicUrl && row.conversation_id !== null ? `${publicUrl}/conversation/${row.conversation_id}` : null,
      opened_at: iso(row.finished_at),
      clicks_absorbed: row.clicks_absorbed,
    })),
  };
}
