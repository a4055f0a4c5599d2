import { sql } from 'kysely';
import type { Db } from '../../db/database.ts';
import type { ServiceDeps } from '../../lib/deps.ts';
import { type PostmarkRate, readPostmarkRates } from '../../lib/postmark-rates.ts';
import { DAY_MS, HOUR_MS } from './events.ts';

export type AlertKind = 'bounce_rate' | 'spam_rate';

export interface PostmarkAlert {
  kind: AlertKind;
  /** Events of the kind ÷ messages (Delivery + Bounce + SpamComplaint events) in the window. */
  rate: number;
  threshold: number;
  events: number;
  messages: number;
  windowMs: number;
  detectedAt: Date;
}

const WINDOW_LABEL: Record<number, string> = { [HOUR_MS]: 'the last hour', [DAY_MS]: 'the last 24 hours' };

/** The alerts whose rate is over its threshold with at least the minimum volume, read from the rollups. */
export async function findAlertsOverThreshold({
  db,
  clock,
  config,
}: Pick<ServiceDeps, 'db' | 'clock' | 'config'>): Promise<PostmarkAlert[]> {
  const settings = config.postmark;
  const now = clock.now();
  const rates = await readPostmarkRates(db, now, settings.bounceAlertTypes);
  const candidates: PostmarkAlert[] = [
    alertOf('bounce_rate', rates.bounce),
    alertOf('spam_rate', rates.spam),
  ];
  return candidates.filter(
    (alert) => alert.messages >= settings.alertMinVolume && alert.rate > alert.threshold,
  );

  function alertOf(kind: AlertKind, rate: PostmarkRate): PostmarkAlert {
    const threshold = kind === 'bounce_rate' ? settings.bounceAlertRate : settings.spamAlertRate;
    return { kind, ...rate, threshold, detectedAt: now };
  }
}

/**
 * Claims the right to send this alert: true for exactly one caller per kind per window, across
 * every instance, because the claim is one conditional upsert of the kind's state row.
 */
export async function claimAlert(db: Db, alert: PostmarkAlert): Promise<boolean> {
  const windowStart = new Date(alert.detectedAt.getTime() - alert.windowMs);
  // The history row is written in the same statement, so it lists exactly the alerts claimed.
  const { rows } = await sql<{ kind: string }>`
    with claimed as (
      insert into postmark_alert_state (kind, alerted_at, rate, events, messages)
      values (${alert.kind}, ${alert.detectedAt}, ${alert.rate}, ${alert.events}, ${alert.messages})
      on conflict (kind) do update set
        alerted_at = excluded.alerted_at, rate = excluded.rate,
        events = excluded.events, messages = excluded.messages
      where postmark_alert_state.alerted_at <= ${windowStart}
      returning kind, alerted_at, rate, events, messages
    )
    insert into postmark_alert_sent (kind, alerted_at, rate, threshold, events, messages)
    select kind, alerted_at, rate, ${alert.threshold}, events, messages from claimed
    returning kind`.execute(db);
  return rows.length === 1;
}

function percent(rate: number): string {
  return `${(rate * 100).toFixed(2)}%`;
}

function describeAlert(alert: PostmarkAlert): string {
  const what = alert.kind === 'bounce_rate' ? 'bounce rate' : 'spam-complaint rate';
  const noun = alert.kind === 'bounce_rate' ? 'bounces' : 'spam complaints';
  return (
    `Postmark ${what} ${percent(alert.rate)} over ${WINDOW_LABEL[alert.windowMs]} ` +
    `(${alert.events} ${noun} of ${alert.messages} messages; threshold ${percent(alert.threshold)}).`
  );
}

/** The JSON the console alerts bell receives at ALERTS_SOURCE_URL. */
function alertSourceBody(alert: PostmarkAlert) {
  return {
    source: 'postmark',
    kind: alert.kind,
    severity: 'warning',
    message: describeAlert(alert),
    rate: alert.rate,
    threshold: alert.threshold,
    events: alert.events,
    messages: alert.messages,
    window_seconds: alert.windowMs / 1000,
    detected_at: alert.detectedAt.toISOString(),
  };
}

/** Sends to every configured destination; a failure is logged, never thrown (alerting is best effort). */
export async function sendAlert(
  { clients, config, log }: Pick<ServiceDeps, 'clients' | 'config' | 'log'>,
  alert: PostmarkAlert,
): Promise<void> {
  const { slack, alertsSource } = clients;
  const channel = config.slack.operatorChannel;
  const sends: Array<[string, Promise<unknown>]> = [];
  if (slack) sends.push(['slack', slack.postMessage({ channel, text: `:warning: ${describeAlert(alert)}` })]);
  if (alertsSource) sends.push(['alerts_source', alertsSource.post(alertSourceBody(alert))]);
  const results = await Promise.allSettled(sends.map(([, send]) => send));
  results.forEach((result, index) => {
    const destination = sends[index]?.[0];
    if (result.status === 'rejected') {
      log.error({ err: result.reason, alert: alert.kind, destination }, 'postmark alert not delivered');
    } else {
      log.info({ alert: alert.kind, rate: alert.rate, destination }, 'postmark alert sent');
    }
  });
}

export type AlertMonitorDeps = Pick<ServiceDeps, 'db' | 'clock' | 'log' | 'config' | 'clients'>;

export interface AlertMonitor {
  /** Asks for a threshold check soon; returns at once. */
  request(): void;
  /** Resolves once no check or send is in progress. */
  idle(): Promise<void>;
}

/**
 * Checks thresholds after stored events, off the webhook's path. At most one check runs per
 * process; requests arriving meanwhile fold into one more check, so a burst of webhooks costs
 * a couple of rollup reads, not one each. Sends are not awaited by the check loop: a hanging
 * Slack delays nothing but its own alert.
 */
export function createAlertMonitor(deps: AlertMonitorDeps): AlertMonitor {
  const hasDestination = deps.clients.slack !== undefined || deps.clients.alertsSource !== undefined;
  const inFlight = new Set<Promise<void>>();
  let checking: Promise<void> | undefined;
  let again = false;

  const track = (work: Promise<void>) => {
    inFlight.add(work);
    void work.finally(() => inFlight.delete(work));
  };

  async function checkOnce(): Promise<void> {
    const alerts = await findAlertsOverThreshold(deps);
    for (const alert of alerts) {
      if (await claimAlert(deps.db, alert)) track(sendAlert(deps, alert));
    }
  }

  async function checkUntilQuiet(): Promise<void> {
    do {
      again = false;
      try {
        await checkOnce();
      } catch (error) {
        deps.log.error({ err: error }, 'postmark alert check failed');
      }
    } while (again);
  }

  return {
    request() {
      if (!hasDestination) return;
      if (checking) {
        again = true;
        return;
      }
      checking = checkUntilQuiet().finally(() => {
        checking = undefined;
      });
      track(checking);
    },
    async idle() {
      while (inFlight.size > 0) await Promise.all(inFlight);
    },
  };
}
