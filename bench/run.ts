/**
 * `npm run bench`: measures Raptor against real Postgres on loopback and writes
 * docs/benchmarks.md. Needs DATABASE_URL (default: a `raptor_bench` database on the local
 * server, created if missing). Not part of `npm test`.
 */
import { readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import pg from 'pg';
import {
  freescoutDeliveries,
  githubDeliveries,
  type LoadResult,
  postmarkDeliveries,
  runLoad,
  sampleLatency,
  startService,
} from './support.ts';

const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/raptor_bench';
const SECRET = 'bench-audit-secret';
const CONNECTIONS = 32;
const DURATION_SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const TICKETS = 5_000;

async function ensureDatabase(url: string): Promise<void> {
  const target = new URL(url);
  const name = target.pathname.slice(1);
  const admin = new pg.Client({
    connectionString: Object.assign(new URL(url), { pathname: '/postgres' }).toString(),
  });
  await admin.connect();
  const exists = await admin.query('select 1 from pg_database where datname = $1', [name]);
  if (exists.rowCount === 0) await admin.query(`create database "${name.replace(/"/g, '""')}"`);
  await admin.end();
}

/** Raptor runs exactly as production starts it: package.json's start:prod command. */
const packageJson = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8'));
const RAPTOR_COMMAND: string[] = packageJson.scripts['start:prod'].split(' ');
const POSTMARK_TOKEN = 'bench-postmark-token';
const STORED_EVENTS = Number(process.env.BENCH_POSTMARK_EVENTS ?? 5_000_000);
const RECENT_EVENTS = Math.min(STORED_EVENTS, 1_000_000);

const GITHUB_SECRET = 'bench-github-secret';
const GITHUB_REPO = 'raxx-app/TradeMasterAPI';

const raptorEnv = {
  DATABASE_URL,
  FLAG_POSTMARK_DELIVERY_MONITOR: '1',
  POSTMARK_DELIVERY_WEBHOOK_SECRET: POSTMARK_TOKEN,
  LOG_LEVEL: process.env.RAPTOR_LOG_LEVEL ?? 'info',
  FLAG_FREESCOUT_WEBHOOK_RECEIVE: '1',
  FREESCOUT_AUDIT_WEBHOOK_SECRET: SECRET,
  // Direction B's ingest; FreeScout and GitHub are not configured, so its worker only reschedules.
  FLAG_GITHUB_FREESCOUT_SYNC: '1',
  GITHUB_WEBHOOK_SECRET: GITHUB_SECRET,
  GITHUB_REPO,
};

/** `raptor-no-log` is Raptor with the delivery log off, to measure what recording every webhook costs. */
async function auditWebhook(kind: 'floor' | 'raptor' | 'raptor-no-log', port: number) {
  const service =
    kind === 'floor'
      ? await startService(
          ['node', '--import', 'tsx', 'bench/floor-server.ts'],
          { DATABASE_URL, SECRET },
          port,
          '/',
        )
      : await startService(
          RAPTOR_COMMAND,
          kind === 'raptor' ? raptorEnv : { ...raptorEnv, DELIVERY_LOG_RETENTION_DAYS: '0' },
          port,
          '/readyz',
        );
  const path = kind === 'floor' ? '/' : '/api/internal/freescout-webhook/audit';
  const next = freescoutDeliveries(SECRET, TICKETS);
  await runLoad({ url: `${service.url}${path}`, connections: CONNECTIONS, durationSeconds: 2, next });
  const result = await runLoad({
    url: `${service.url}${path}`,
    connections: CONNECTIONS,
    durationSeconds: DURATION_SECONDS,
    next,
  });
  // The same Raptor process then takes GitHub deliveries, so both figures share one run.
  let github: LoadResult | undefined;
  if (kind === 'raptor') {
    const url = `${service.url}/api/webhooks/github`;
    const nextGithub = githubDeliveries(GITHUB_SECRET, GITHUB_REPO);
    await runLoad({ url, connections: CONNECTIONS, durationSeconds: 2, next: nextGithub });
    github = await runLoad({
      url,
      connections: CONNECTIONS,
      durationSeconds: DURATION_SECONDS,
      next: nextGithub,
    });
  }
  const rssMb = await service.peakRssMb();
  await service.stop();
  return { result, github, rssMb, startMs: service.startMs };
}

/**
 * Stores `total` events, `recent` of them spread over the last 24 hours and the rest older,
 * with the per-minute rollups the service would have written for the recent ones.
 */
async function seedPostmarkEvents(total: number, recent: number): Promise<void> {
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  await client.query('truncate postmark_event, postmark_event_rollup, postmark_alert_state restart identity');
  await client.query(
    `insert into postmark_event (event_key, event_type, message_id, recipient, tag, bounce_type, bounce_description,
       postmark_id, occurred_at, recorded_at, payload)
     select 'seed:' || n,
            case when n % 50 = 0 then 'Bounce' when n % 997 = 0 then 'SpamComplaint' else 'Delivery' end,
            'seed-' || n, 'user' || n || '@example.com', 'support-outbound',
            case when n % 50 = 0 then 'HardBounce' end, case when n % 50 = 0 then 'Unknown user' end,
            case when n % 50 = 0 then n end,
            t, t, '{"RecordType":"Delivery"}'::jsonb
     from generate_series(1, $1::bigint) as n,
          lateral (select case when n > $1::bigint - $2::bigint
                               then now() - (($1::bigint - n) * interval '86399 milliseconds' / $2::bigint)
                               else now() - interval '2 days' - (n * interval '1 second') end as t) as at`,
    [total, recent],
  );
  await client.query(
    `insert into postmark_event_rollup (minute, event_type, shard, count)
     select date_trunc('minute', recorded_at), event_type, (id % 4)::smallint, count(*)
     from postmark_event where recorded_at > now() - interval '25 hours' group by 1, 2, 3`,
  );
  // The hourly rollups the retention job would have compacted, for the page's 7-day chart.
  await client.query('truncate postmark_event_hourly');
  await client.query(
    `insert into postmark_event_hourly (hour, event_type, count)
     select date_trunc('hour', recorded_at), event_type, count(*)
     from postmark_event where recorded_at > now() - interval '8 days' group by 1, 2`,
  );
  await client.query('vacuum analyze postmark_event');
  await client.query('vacuum analyze postmark_event_rollup');
  await client.end();
}

async function postmarkIngest(port: number) {
  const service = await startService(RAPTOR_COMMAND, raptorEnv, port, '/readyz');
  const url = `${service.url}/webhooks/postmark/delivery`;
  const next = postmarkDeliveries(POSTMARK_TOKEN);
  await runLoad({ url, connections: CONNECTIONS, durationSeconds: 2, next });
  const result = await runLoad({ url, connections: CONNECTIONS, durationSeconds: DURATION_SECONDS, next });
  await service.stop();
  return result;
}

/** The operator page's summary and a Prometheus scrape, each from one sequential client (as a page or a scraper is). */
async function opsLatency(port: number) {
  const service = await startService(RAPTOR_COMMAND, raptorEnv, port, '/readyz');
  const summaryUrl = `${service.url}/api/_internal/ops/summary`;
  const metricsUrl = `${service.url}/metrics`;
  await sampleLatency(summaryUrl, {}, 50, 1);
  const summary = await sampleLatency(summaryUrl, {}, 500, 1);
  await sampleLatency(metricsUrl, {}, 50, 1);
  const metrics = await sampleLatency(metricsUrl, {}, 1_000, 1);
  const sample = (await (await fetch(summaryUrl)).json()) as {
    postmark: { rates: { messages_24h: number } };
    recent_deliveries: unknown[];
  };
  await service.stop();
  return { summary, metrics, messages24h: sample.postmark.rates.messages_24h };
}

async function deliveryLogRows(): Promise<number> {
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  const { rows } = await client.query<{ n: string }>('select count(*) as n from delivery_log');
  await client.end();
  return Number(rows[0]?.n ?? 0);
}

async function recentDeliveriesLatency(port: number) {
  const service = await startService(RAPTOR_COMMAND, raptorEnv, port, '/readyz');
  const url = `${service.url}/api/_internal/postmark/recent-deliveries?limit=50`;
  await sampleLatency(url, {}, 100, 4);
  const latency = await sampleLatency(url, {}, 2_000, 4);
  const sample = (await (await fetch(url)).json()) as { total_24h: number };
  await service.stop();
  return { ...latency, total24h: sample.total_24h };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[middle] ?? 0) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

const row = (name: string, result: LoadResult) =>
  `| ${name} | ${Math.round(result.rps)} | ${result.p50} | ${result.p99} | ${result.requests} | ${result.non2xx + result.errors} |`;

async function main(): Promise<void> {
  await ensureDatabase(DATABASE_URL);
  const floor: LoadResult[] = [];
  const raptor: LoadResult[] = [];
  const raptorNoLog: LoadResult[] = [];
  const github: LoadResult[] = [];
  const rss: number[] = [];
  const startMs: number[] = [];
  // Interleaved rounds, so drift in the shared machine's load hits both sides alike.
  for (let round = 0; round < ROUNDS; round++) {
    floor.push((await auditWebhook('floor', 3101)).result);
    raptorNoLog.push((await auditWebhook('raptor-no-log', 3106)).result);
    const measured = await auditWebhook('raptor', 3102);
    raptor.push(measured.result);
    if (measured.github) github.push(measured.github);
    rss.push(measured.rssMb);
    startMs.push(measured.startMs);
    console.log(
      `round ${round + 1}: floor ${Math.round(floor.at(-1)?.rps ?? 0)} req/s, raptor ${Math.round(measured.result.rps)} req/s, github ingest ${Math.round(measured.github?.rps ?? 0)} req/s`,
    );
  }
  const ratio = median(raptor.map((r) => r.rps)) / median(floor.map((r) => r.rps));
  const logRatio = median(raptor.map((r) => r.rps)) / median(raptorNoLog.map((r) => r.rps));
  const loggedRows = await deliveryLogRows();

  await seedPostmarkEvents(0, 0);
  const ingestEmpty = await postmarkIngest(3103);
  console.log(
    `postmark ingest, empty table: ${Math.round(ingestEmpty.rps)} req/s; seeding ${STORED_EVENTS} events…`,
  );
  await seedPostmarkEvents(STORED_EVENTS, RECENT_EVENTS);
  const ingestFull = await postmarkIngest(3104);
  console.log(`postmark ingest, ${STORED_EVENTS} stored: ${Math.round(ingestFull.rps)} req/s`);
  const recent = await recentDeliveriesLatency(3105);
  const ops = await opsLatency(3107);
  const ingestRatio = ingestFull.rps / ingestEmpty.rps;
  const report = `# Benchmarks

Written by \`npm run bench\` (bench/run.ts) on ${new Date().toISOString().slice(0, 10)}.
Machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version},
PostgreSQL on loopback. The machine is shared and noisy: read the ratios, not only the absolute figures.

Re-run: \`DATABASE_URL=postgres://postgres@127.0.0.1:5432/raptor_bench npm run bench\`
(\`BENCH_SECONDS\`, \`BENCH_ROUNDS\` to lengthen it).

## 1. FreeScout audit webhook vs the floor server

Signed ~2 KB conversation deliveries over ${TICKETS} tickets, each newer than the last (every request
writes), ${CONNECTIONS} connections, ${DURATION_SECONDS} s per run after a 2 s warm-up, ${ROUNDS} interleaved rounds.
The floor (\`bench/floor-server.ts\`) is plain \`node:http\` + HMAC + one \`pg\` upsert.

| server | req/s | p50 ms | p99 ms | requests | non-2xx/errors |
|---|---|---|---|---|---|
${floor.map((result, index) => row(`floor, round ${index + 1}`, result)).join('\n')}
${raptor.map((result, index) => row(`raptor, round ${index + 1}`, result)).join('\n')}
${raptorNoLog.map((result, index) => row(`raptor, delivery log off, round ${index + 1}`, result)).join('\n')}

**Raptor / floor (median req/s): ${ratio.toFixed(2)}×** (target ≥ 1.0×); Raptor p99 median ${median(raptor.map((r) => r.p99))} ms (target ≤ 50 ms).

**Delivery log on / off (median req/s): ${logRatio.toFixed(2)}×** (target ≥ 0.90×, i.e. recording every
webhook costs under 10 %). \`delivery_log\` held ${loggedRows.toLocaleString('en')} rows after the runs.

### GitHub webhook ingest (Direction B), same Raptor process, right after each audit run

Signed \`issues.labeled\` deliveries built from GitHub's example payload (\`@octokit/webhooks-examples\`,
~12 KB), a trigger label and a fresh \`X-GitHub-Delivery\` each, so every request is verified and stored (202);
${CONNECTIONS} connections, ${DURATION_SECONDS} s after a 2 s warm-up.

| server | req/s | p50 ms | p99 ms | requests | non-2xx/errors |
|---|---|---|---|---|---|
${github.map((result, index) => row(`raptor github ingest, round ${index + 1}`, result)).join('\n')}

GitHub ingest median ${Math.round(median(github.map((r) => r.rps)))} req/s, p99 median ${median(github.map((r) => r.p99))} ms,
next to the audit webhook's ${Math.round(median(raptor.map((r) => r.rps)))} req/s and ${median(raptor.map((r) => r.p99))} ms.
Each GitHub delivery is a new row (its own \`X-GitHub-Delivery\`) with a body six times the audit
delivery's, where the audit webhook updates one of ${TICKETS} cached tickets; a repository's
webhook sends a few deliveries a minute.

## 2. Postmark ingest, empty table vs ${STORED_EVENTS.toLocaleString('en')} stored events

Unique Delivery/Bounce/SpamComplaint webhooks (98/1/1 %), ${CONNECTIONS} connections, ${DURATION_SECONDS} s after a 2 s warm-up.
The stored events are seeded with \`generate_series\` (${RECENT_EVENTS.toLocaleString('en')} in the last 24 h, with their rollups).

| table | req/s | p50 ms | p99 ms | requests | non-2xx/errors |
|---|---|---|---|---|---|
${row('empty', ingestEmpty)}
${row(`${STORED_EVENTS.toLocaleString('en')} events`, ingestFull)}

**Full / empty: ${ingestRatio.toFixed(2)}×** (target ≥ 0.9×).

## 3. recent-deliveries with ${STORED_EVENTS.toLocaleString('en')} events (${RECENT_EVENTS.toLocaleString('en')} in the last 24 h)

2,000 \`GET /api/_internal/postmark/recent-deliveries?limit=50\` over 4 keep-alive loops, after 100 warm-up requests;
exact percentiles. \`total_24h\` answered: ${recent.total24h.toLocaleString('en')}.

| p50 ms | p95 ms | p99 ms |
|---|---|---|
| ${recent.p50} | ${recent.p95} | ${recent.p99} |

Target p95 ≤ 20 ms.

## 4. Operator page and metrics with ${STORED_EVENTS.toLocaleString('en')} events

One sequential client (a browser, a Prometheus scraper), exact percentiles, after warm-up; the
delivery log holds the rows the audit runs above wrote. \`messages_24h\` answered: ${ops.messages24h.toLocaleString('en')}.

| request | p50 ms | p95 ms | p99 ms | target p95 |
|---|---|---|---|---|
| \`GET /api/_internal/ops/summary\` (500) | ${ops.summary.p50} | ${ops.summary.p95} | ${ops.summary.p99} | ≤ 50 ms |
| \`GET /metrics\` (1,000) | ${ops.metrics.p50} | ${ops.metrics.p95} | ${ops.metrics.p99} | ≤ 20 ms |

## 5. Process

- Peak RSS under the webhook load (VmHWM): ${Math.max(...rss)} MB (target ≤ 150 MB).
- Process start to \`/readyz\` 200 on Postgres: ${Math.round(median(startMs))} ms median (target ≤ 2 s).
`;
  await writeFile(new URL('../docs/benchmarks.md', import.meta.url), report);
  console.log(report);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
