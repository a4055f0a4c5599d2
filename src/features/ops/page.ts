import { renderPostmarkChart } from './charts.ts';
import type { OpsSummary } from './summary.ts';

const escapeHtml = (value: unknown) =>
  String(value ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');

const percent = (rate: number) => `${(rate * 100).toFixed(2)}%`;

function ago(iso: string | null, now: Date): string {
  if (!iso) return '—';
  const seconds = Math.round((now.getTime() - new Date(iso).getTime()) / 1000);
  const text =
    seconds < 90
      ? `${seconds} s`
      : seconds < 90 * 60
        ? `${Math.round(seconds / 60)} min`
        : seconds < 36 * 3600
          ? `${Math.round(seconds / 3600)} h`
          : `${Math.round(seconds / 86400)} d`;
  return `<time datetime="${escapeHtml(iso)}" title="${escapeHtml(iso)}">${seconds < 0 ? 'in the future' : `${text} ago`}</time>`;
}

const stamp = (iso: string | null) => (iso ? `${iso.slice(0, 19).replace('T', ' ')}Z` : '—');

/** A number the browser test and a reader can find: `data-k` names what it counts. */
const figure = (key: string, value: number | string) =>
  `<b data-k="${escapeHtml(key)}">${escapeHtml(value)}</b>`;

/** Each cell carries its column's name (`data-label`): a narrow screen shows rows as stacked cards. */
function table(headers: string[], rows: string[][], empty: string, id?: string): string {
  if (rows.length === 0) return `<p class="empty"${id ? ` data-table="${id}"` : ''}>${escapeHtml(empty)}</p>`;
  return `<table${id ? ` data-table="${id}"` : ''}><thead><tr>${headers.map((header) => `<th>${escapeHtml(header)}</th>`).join('')}</tr></thead><tbody>${rows
    .map(
      (row) =>
        `<tr>${row.map((cell, index) => `<td data-label="${escapeHtml(headers[index] ?? '')}"><div>${cell}</div></td>`).join('')}</tr>`,
    )
    .join('')}</tbody></table>`;
}

const plural = (count: number, one: string, many = `${one}s`) => `${count} ${count === 1 ? one : many}`;

function statusBadge(status: number | null | undefined): string {
  if (status === null || status === undefined) return '—';
  const tone = status >= 500 ? 'bad' : status >= 400 ? 'warn' : 'ok';
  return `<span class="badge ${tone}">${status}</span>`;
}

/**
 * A feature's rejected and failed deliveries of the last hour read as a warning whatever its
 * readiness says, with what they were.
 */
function renderErrors(feature: OpsSummary['health'][number], webhooks: OpsSummary['webhooks']): string {
  const count = feature.errors_last_hour;
  if (count === 0) return `<div>errors last hour: ${figure('errors', count)}</div>`;
  const routes = webhooks.filter((route) => feature.webhookRoutes.includes(route.route));
  const rejected = routes.reduce((sum, route) => sum + route.rejected_last_hour, 0);
  const failed = routes.reduce((sum, route) => sum + route.failed_last_hour, 0);
  const what = [
    rejected > 0 ? `${plural(rejected, 'delivery', 'deliveries')} rejected (4xx)` : '',
    failed > 0 ? `${failed} failed (5xx)` : '',
  ]
    .filter(Boolean)
    .join(', ');
  return `<div class="warn" data-k="errors-line">errors last hour: ${figure('errors', count)}
<span class="reason" data-k="errors-reason">${escapeHtml(what)} — see Webhook deliveries</span></div>`;
}

function renderHealth(summary: OpsSummary, now: Date): string {
  const cards = summary.health.map((feature) => {
    const state = !feature.enabled ? 'off' : feature.ready ? 'ok' : 'bad';
    const tone = state === 'ok' && feature.errors_last_hour > 0 ? 'warn' : state;
    const label = !feature.enabled ? 'flag off' : feature.ready ? 'ready' : 'not ready';
    const last = feature.last_delivery;
    return `<div class="card tone-${tone}" data-feature="${escapeHtml(feature.feature)}">
<h3>${escapeHtml(feature.title)}</h3>
<div class="flag"><code>${escapeHtml(feature.flag)}</code> <span class="badge ${state}" data-k="state">${label}</span></div>
${feature.missing.length > 0 ? `<div class="missing">missing: ${feature.missing.map((name) => `<code data-k="missing">${escapeHtml(name)}</code>`).join(' ')}</div>` : ''}
${
  feature.webhookRoutes.length > 0
    ? `<div>last delivery: ${last ? `${ago(last.received_at, now)} ${statusBadge(last.status)} <span class="muted">${escapeHtml(last.event ?? '')} ${escapeHtml(last.outcome)}</span>` : '<span class="muted">none yet</span>'}</div>
${renderErrors(feature, summary.webhooks)}`
    : ''
}
</div>`;
  });
  return `<section id="health"><h2>Health</h2><div class="cards">${cards.join('')}</div></section>`;
}

function renderEmail(summary: OpsSummary): string {
  const { postmark } = summary;
  const thresholds = { bounceRate: postmark.thresholds.bounce_rate, spamRate: postmark.thresholds.spam_rate };
  const minVolume = postmark.thresholds.min_volume;
  // Over the threshold reads as a warning even when too few messages were sent for the alert
  // rule to fire; the reason says which.
  const verdict = (key: string, rate: number, threshold: number, volume: number) => {
    const [tone, reason] =
      volume === 0
        ? ['none', 'no messages']
        : rate <= threshold
          ? ['ok', `below the ${percent(threshold)} alert threshold`]
          : volume >= minVolume
            ? ['bad', `above the ${percent(threshold)} threshold: alerting`]
            : [
                'warn',
                `above the ${percent(threshold)} threshold; not alerting: volume ${volume} < minimum ${minVolume}`,
              ];
    return { tone, reason: `<span class="reason" data-k="${key}-reason">${escapeHtml(reason)}</span>` };
  };
  const totals24 = postmark.hourly_24h.reduce(
    (sum, hour) => ({
      delivered: sum.delivered + hour.delivered,
      bounced: sum.bounced + hour.bounced,
      spam: sum.spam + hour.spam_complaint,
    }),
    { delivered: 0, bounced: 0, spam: 0 },
  );
  const { rates } = postmark;
  const bounce = verdict('bounce', rates.bounce_rate_1h, thresholds.bounceRate, rates.messages_1h);
  const spam = verdict('spam', rates.spam_rate_24h, thresholds.spamRate, rates.messages_24h);
  return `<section id="email"><h2>Email (Postmark)</h2>
<div class="rates">
<div class="rate tone-${bounce.tone}" data-k="bounce-box">bounce rate, last hour: ${figure('bounce-rate', percent(rates.bounce_rate_1h))}
<span class="muted">${figure('bounced-1h', rates.bounced_1h)} of ${figure('messages-1h', rates.messages_1h)}</span>
${bounce.reason}</div>
<div class="rate tone-${spam.tone}" data-k="spam-box">spam rate, last 24 h: ${figure('spam-rate', percent(rates.spam_rate_24h))}
<span class="muted">${figure('spam-24h', rates.spam_24h)} of ${figure('messages-24h', rates.messages_24h)}</span>
${spam.reason}</div>
<div class="rate">charted 24 h: ${figure('delivered-24h', totals24.delivered)} delivered, ${figure('bounced-24h', totals24.bounced)} bounced, ${figure('spam-chart-24h', totals24.spam)} spam
<span class="reason">no alert below ${minVolume} messages</span></div>
</div>
<div class="charts">
<figure><figcaption>Last 24 hours</figcaption>${renderPostmarkChart('postmark-24h', 'Postmark, last 24 hours, hourly', postmark.hourly_24h, thresholds)}</figure>
<figure><figcaption>Last 7 days</figcaption>${renderPostmarkChart('postmark-7d', 'Postmark, last 7 days, hourly', postmark.hourly_7d, thresholds)}</figure>
</div>
<div class="legend"><i class="sw delivered"></i>delivered <i class="sw bounced"></i>bounced <i class="sw spam"></i>spam complaint · dashed: alert thresholds</div>
<h3>Latest bounces and complaints</h3>
${table(
  ['when', 'type', 'recipient', 'description'],
  postmark.latest_problems.map((event) => [
    stamp(event.recorded_at),
    escapeHtml(event.event_type === 'Bounce' ? (event.bounce_type ?? 'Bounce') : 'SpamComplaint'),
    escapeHtml(event.recipient ?? ''),
    escapeHtml(event.bounce_description ?? ''),
  ]),
  'No bounce or complaint stored.',
  'postmark-problems',
)}
<h3>Alerts sent</h3>
${table(
  ['when', 'alert', 'rate', 'threshold', 'events / messages'],
  postmark.alerts_sent.map((alert) => [
    stamp(alert.alerted_at),
    escapeHtml(alert.kind),
    percent(alert.rate),
    percent(alert.threshold),
    `${alert.events} / ${alert.messages}`,
  ]),
  'No alert sent.',
  'postmark-alerts',
)}
</section>`;
}

function renderFreescout(summary: OpsSummary, now: Date): string {
  const { cache, poller, signature_failures_24h } = summary.freescout;
  const statuses = Object.entries(cache.by_status)
    .map(
      ([status, count]) =>
        `<div class="stat"><span>${escapeHtml(status)}</span>${figure(`cache-${status}`, count)}</div>`,
    )
    .join('');
  const lagState =
    poller.lag_seconds === null ? '' : poller.lag_seconds > poller.interval_seconds * 3 ? 'bad' : 'ok';
  return `<section id="freescout"><h2>FreeScout</h2>
<h3>Ticket cache</h3>
<div class="stats">${statuses}<div class="stat"><span>total</span>${figure('cache-total', cache.total)}</div><div class="stat"><span>expired</span>${figure('cache-expired', cache.expired)}</div></div>
<p>newest update: ${stamp(cache.newest_update)} (${ago(cache.newest_update, now)}) · newest refresh: ${ago(cache.newest_refresh, now)}</p>
<h3>Poller</h3>
<p>${poller.enabled ? '<span class="badge ok">on</span>' : '<span class="badge off">off</span>'}
every ${poller.interval_seconds} s · last run: ${stamp(poller.last_run_at)} ·
lag: <span class="${lagState}">${poller.lag_seconds === null ? '—' : figure('poll-lag', `${poller.lag_seconds} s`)}</span>
· cursor: ${stamp(poller.cursor)}</p>
<h3>Signature failures, last 24 h</h3>
${table(
  ['route', 'failures'],
  signature_failures_24h.map((route) => [
    `<code>${escapeHtml(route.route)}</code>`,
    `<span class="${route.count > 0 ? 'bad' : ''}">${figure(`sigfail:${route.route}`, route.count)}</span>`,
  ]),
  'No FreeScout webhook route.',
  'signature-failures',
)}
</section>`;
}

function renderGithub(summary: OpsSummary, now: Date): string {
  const { links, work, failed } = summary.github;
  return `<section id="github"><h2>GitHub links</h2>
<div class="stats">
<div class="stat"><span>pending</span>${figure('work-pending', work.pending)}</div>
<div class="stat"><span>in progress</span>${figure('work-processing', work.processing)}</div>
<div class="stat${work.failed > 0 ? ' tone-warn' : ''}"><span>failed</span>${figure('work-failed', work.failed)}</div>
<div class="stat"><span>oldest pending</span>${work.oldest_pending_age_seconds === null ? '<b>—</b>' : figure('work-oldest', `${work.oldest_pending_age_seconds} s`)}</div>
</div>
<h3>Failed work</h3>
${table(
  ['id', 'route', 'event', 'ticket', 'attempts', 'last error', 'updated', ''],
  failed.map((item) => [
    String(item.id),
    escapeHtml(item.source),
    escapeHtml(item.event),
    item.conversation_id !== null ? `#${item.conversation_id}` : `issue #${item.issue_number ?? '—'}`,
    String(item.attempts),
    `<span class="error">${escapeHtml(item.last_error ?? '')}</span>`,
    ago(item.updated_at, now),
    `<button type="button" data-retry="${item.id}">Retry</button>`,
  ]),
  'Nothing failed.',
  'failed-work',
)}
<h3>Recent links</h3>
${table(
  ['ticket', 'issue', 'direction', 'linked'],
  links.map((link) => [
    String(link.ticket_id),
    link.issue_url
      ? `<a href="${escapeHtml(link.issue_url)}" rel="noreferrer">#${escapeHtml(link.issue_number)}</a>`
      : '—',
    link.direction === 'freescout_to_github' ? 'FreeScout → GitHub' : 'GitHub → FreeScout',
    ago(link.linked_at, now),
  ]),
  'No link yet.',
  'links',
)}
</section>`;
}

function renderInvestigate(summary: OpsSummary, now: Date): string {
  return `<section id="investigate"><h2>Investigate</h2>
${table(
  ['surface', 'state', 'ticket', 'opened', 'clicks absorbed', 'by'],
  summary.investigate.tickets.map((ticket) => [
    `<code>${escapeHtml(ticket.surface)}</code>`,
    escapeHtml(ticket.console_state),
    ticket.ticket_url
      ? `<a href="${escapeHtml(ticket.ticket_url)}" rel="noreferrer">#${escapeHtml(ticket.conversation_id)}</a>`
      : escapeHtml(ticket.conversation_id ?? '—'),
    ago(ticket.opened_at, now),
    String(ticket.clicks_absorbed),
    escapeHtml(ticket.requested_by ?? ''),
  ]),
  'No Investigate ticket yet.',
  'investigate-tickets',
)}
</section>`;
}

function renderDeliveries(summary: OpsSummary, now: Date): string {
  return `<section id="deliveries"><h2>Webhook deliveries</h2>
${table(
  ['route', 'last delivery', 'answer', 'rejected / failed last hour', 'signature failures 24 h'],
  summary.webhooks.map((route) => [
    `<code>${escapeHtml(route.route)}</code>`,
    route.last_delivery
      ? `${ago(route.last_delivery.received_at, now)} <span class="muted">${escapeHtml(route.last_delivery.event ?? '')}</span>`
      : '—',
    route.last_delivery
      ? `${statusBadge(route.last_delivery.status)} ${escapeHtml(route.last_delivery.outcome)}`
      : '—',
    `<span class="${route.rejected_last_hour + route.failed_last_hour > 0 ? 'warn' : ''}">${route.rejected_last_hour} / ${route.failed_last_hour}</span>`,
    String(route.signature_failures_24h),
  ]),
  'No webhook route.',
  'webhook-routes',
)}
<h3>Latest</h3>
${table(
  ['when', 'route', 'event', 'delivery id', 'answer', 'ms', 'outcome'],
  summary.recent_deliveries.map((delivery) => [
    stamp(delivery.received_at),
    `<code>${escapeHtml(delivery.route)}</code>`,
    escapeHtml(delivery.event ?? ''),
    escapeHtml(delivery.delivery_id ?? ''),
    statusBadge(delivery.status),
    delivery.duration_ms.toFixed(1),
    `${escapeHtml(delivery.outcome)} <span class="muted">${escapeHtml(delivery.detail ?? '')}</span>`,
  ]),
  'No delivery logged yet.',
  'recent-deliveries',
)}
</section>`;
}

/** The part of the page the refresh script replaces. */
export function renderOpsMain(summary: OpsSummary): string {
  const now = new Date(summary.generated_at);
  return `<p class="muted">data as of <time data-k="generated-at" datetime="${summary.generated_at}">${stamp(summary.generated_at)}</time></p>
${renderHealth(summary, now)}
${renderEmail(summary)}
${renderFreescout(summary, now)}
${renderGithub(summary, now)}
${renderInvestigate(summary, now)}
${renderDeliveries(summary, now)}`;
}

// Narrow screens (phones, a split window): grids and charts shrink to the width, charts draw
// their labels larger (they scale with the chart), and tables become one card per row.
const STYLE = `
:root{font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1d2433;background:#f5f6f8}
*,*::before,*::after{box-sizing:border-box}
body{margin:0}header{background:#1d2433;color:#fff;padding:10px 20px;display:flex;justify-content:space-between;align-items:center;gap:10px}
header h1{font-size:18px;margin:0}header form{margin:0}main{padding:8px 20px 40px;max-width:1500px}
section{background:#fff;border-radius:6px;padding:6px 16px 14px;margin:14px 0;box-shadow:0 1px 2px #0001}
h2{font-size:16px;margin:8px 0}h3{font-size:13px;margin:14px 0 6px;color:#4a5468}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(260px,100%),1fr));gap:10px}
.card{border:1px solid #dde1e8;border-left:5px solid #aab;border-radius:5px;padding:6px 10px;min-width:0}
.card.tone-off{opacity:.75}.card h3{margin:2px 0 4px;color:#1d2433}.missing{color:#b3261e}
.badge{display:inline-block;border-radius:3px;padding:0 6px;font-size:12px;background:#e3e6eb}
.badge.ok{background:#d5f0dc;color:#17663a}.badge.bad{background:#fadad7;color:#a0221b}.badge.warn{background:#fdebd3;color:#8a4b08}
.badge.off{background:#e3e6eb;color:#555}
.bad{color:#b3261e}.ok{color:#17663a}.warn{color:#8a4b08}.warn b{color:#a35400}
.muted{color:#6b7385;font-size:12px}.reason{display:block;color:#4a5468;font-size:12px}.warn .reason{color:#8a4b08}
.error{color:#a0221b;font-family:ui-monospace,monospace;font-size:12px}
.rates{display:flex;gap:12px;flex-wrap:wrap}.rate{border:1px solid #dde1e8;border-left-width:5px;border-radius:5px;padding:6px 10px;max-width:100%}
.rate.tone-warn .reason{color:#8a4b08;font-weight:600}.rate.tone-bad .reason{color:#a0221b;font-weight:600}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(420px,100%),1fr));gap:12px}
figure{margin:8px 0;min-width:0}figcaption{font-weight:600;font-size:13px}.chart{display:block;background:#fafbfc;border:1px solid #e6e9ee}
.chart .axis{font-size:10px;fill:#6b7385}.chart .threshold-label.bounce{fill:#a85a00}.chart .threshold-label.spam{fill:#b3261e}
.legend{font-size:12px;color:#4a5468}.sw{display:inline-block;width:10px;height:10px;margin:0 4px 0 10px}
.sw.delivered{background:#4c8bf5}.sw.bounced{background:#f29d38}.sw.spam{background:#d9413a}
.stats{display:flex;gap:10px;flex-wrap:wrap}.stat{border:1px solid #dde1e8;border-radius:5px;padding:4px 12px;min-width:80px}
.stat.tone-warn{border-left-width:5px}.stat span{display:block;font-size:12px;color:#6b7385}.stat b{font-size:18px}
table{border-collapse:collapse;width:100%;font-size:13px}th,td{text-align:left;padding:3px 8px;border-bottom:1px solid #eceef2;vertical-align:top}
th{color:#4a5468;font-weight:600}code{font-size:12px;overflow-wrap:anywhere}.empty{color:#6b7385;font-style:italic}
button{font:inherit;padding:2px 10px;border-radius:4px;border:1px solid #8893a6;background:#fff;cursor:pointer}
button:disabled{opacity:.6;cursor:default}
.tone-ok{border-left-color:#2f9e55}.tone-warn{border-left-color:#e08a00;background:#fff8ec}.tone-bad{border-left-color:#d9413a;background:#fdf1f0}
@media (max-width:640px){
main{padding:6px 8px 30px}section{padding:6px 10px 12px}header{padding:8px 10px}
.chart .axis{font-size:22px}
table,tbody,tr,td{display:block}thead{display:none}
tr{border:1px solid #dde1e8;border-radius:5px;margin:0 0 8px;padding:4px 0}
td{display:grid;grid-template-columns:minmax(0,35%) minmax(0,1fr);gap:8px;border:0;padding:2px 8px;overflow-wrap:anywhere}
td::before{content:attr(data-label);color:#6b7385;font-size:12px}
}
`;

/**
 * Replaces the data every 30 seconds without reloading the page, and sends the Retry clicks.
 * Same origin only (the CSP allows nothing else); the session cookie or Cloudflare Access
 * authenticates both.
 */
const SCRIPT = `
(function () {
  var main = document.getElementById('ops-main');
  function refresh() {
    return fetch('/ops?part=main', { credentials: 'same-origin' }).then(function (response) {
      if (response.ok) return response.text().then(function (html) { main.innerHTML = html; });
    }).catch(function () {});
  }
  setInterval(refresh, 30000);
  document.addEventListener('click', function (event) {
    var button = event.target.closest('button[data-retry]');
    if (!button) return;
    button.disabled = true;
    fetch('/api/_internal/autolink/deliveries/' + button.dataset.retry + '/retry', {
      method: 'POST', credentials: 'same-origin'
    }).then(function (response) {
      button.textContent = response.status === 202 ? 'Queued' : 'Failed (' + response.status + ')';
      if (response.status === 202) setTimeout(refresh, 1000);
    }).catch(function () { button.textContent = 'Failed'; });
  });
})();
`;

export function renderOpsPage(summary: OpsSummary, nonce: string, signOut: boolean): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Raptor operations</title><link rel="icon" href="data:,">
<style nonce="${nonce}">${STYLE}</style></head>
<body><header><h1>Raptor operations</h1>${signOut ? '<form method="post" action="/ops/sign-out"><button type="submit">Sign out</button></form>' : ''}</header>
<main id="ops-main">${renderOpsMain(summary)}</main>
<script nonce="${nonce}">${SCRIPT}</script>
</body></html>`;
}

export function renderSignIn(nonce: string, error?: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Raptor operations: sign in</title><link rel="icon" href="data:,">
<style nonce="${nonce}">${STYLE} .signin{max-width:380px;margin:60px auto}.signin input{width:100%;box-sizing:border-box;padding:6px;margin:6px 0 10px}</style></head>
<body><header><h1>Raptor operations</h1></header>
<main><section class="signin"><h2>Sign in</h2>
${error ? `<p class="bad" role="alert">${escapeHtml(error)}</p>` : ''}
<form method="post" action="/ops/sign-in">
<label for="token">Internal API token</label>
<input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
<button type="submit">Sign in</button>
</form>
<p class="muted">Behind Cloudflare Access the page opens without this form.</p>
</section></main></body></html>`;
}
