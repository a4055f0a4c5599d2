import diagnostics from 'node:diagnostics_channel';
import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';

export interface Upstream {
  /** `freescout`, `github`, `slack`, … */
  name: string;
  url: string;
}

export interface Metrics {
  registry: Registry;
  httpRequests: Counter<'method' | 'route' | 'status'>;
  signatureFailures: Counter<'route'>;
  /** Stops watching outbound calls. */
  close(): void;
}

type UpstreamOutcome = 'ok' | 'http_4xx' | 'http_5xx' | 'error';

/** What undici publishes on its diagnostics channels (the npm package and Node's own fetch alike). */
interface UndiciRequest {
  origin?: string | URL;
}
interface UndiciMessage {
  request: UndiciRequest;
  response?: { statusCode: number };
}

/**
 * One registry per app (tests build many): Node's default process metrics, requests by route
 * and status, signature failures, and every call to FreeScout, GitHub and Slack by outcome
 * with its duration. Outbound calls are observed on undici's diagnostics channels, which both
 * the undici clients and the global fetch under Octokit publish to, so no client is wrapped;
 * a call is attributed to the upstream whose configured origin it went to.
 */
export function createMetrics(upstreams: Upstream[]): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  const httpRequests = new Counter({
    name: 'raptor_http_requests_total',
    help: 'Requests answered, by method, route pattern and status code.',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const signatureFailures = new Counter({
    name: 'raptor_webhook_signature_failures_total',
    help: 'Webhook deliveries refused for a missing or wrong signature or token, by route.',
    labelNames: ['route'] as const,
    registers: [registry],
  });
  const upstreamCalls = new Counter({
    name: 'raptor_upstream_requests_total',
    help: 'Calls to external APIs, by upstream and outcome (ok, http_4xx, http_5xx, error).',
    labelNames: ['upstream', 'outcome'] as const,
    registers: [registry],
  });
  const upstreamDuration = new Histogram({
    name: 'raptor_upstream_request_duration_seconds',
    help: 'Time from sending a call to an external API until its response headers (or its failure).',
    labelNames: ['upstream', 'outcome'] as const,
    buckets: [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  for (const upstream of upstreams) {
    for (const outcome of ['ok', 'http_4xx', 'http_5xx', 'error'] as const) {
      upstreamCalls.inc({ upstream: upstream.name, outcome }, 0);
    }
  }

  const byOrigin = new Map<string, string>();
  for (const upstream of upstreams) {
    const origin = new URL(upstream.url).origin;
    if (!byOrigin.has(origin)) byOrigin.set(origin, upstream.name);
  }
  const started = new WeakMap<UndiciRequest, { upstream: string; at: number }>();
  const finish = (request: UndiciRequest, outcome: UpstreamOutcome) => {
    const call = started.get(request);
    if (!call) return;
    started.delete(request);
    const labels = { upstream: call.upstream, outcome };
    upstreamCalls.inc(labels);
    upstreamDuration.observe(labels, (performance.now() - call.at) / 1000);
  };
  const onCreate = (message: unknown) => {
    const { request } = message as UndiciMessage;
    const origin = request.origin === undefined ? undefined : new URL(String(request.origin)).origin;
    const upstream = origin === undefined ? undefined : byOrigin.get(origin);
    if (upstream) started.set(request, { upstream, at: performance.now() });
  };
  const onHeaders = (message: unknown) => {
    const { request, response } = message as UndiciMessage;
    const status = response?.statusCode ?? 0;
    finish(request, status >= 500 ? 'http_5xx' : status >= 400 ? 'http_4xx' : 'ok');
  };
  const onError = (message: unknown) => finish((message as UndiciMessage).request, 'error');
  const channels: Array<[string, (message: unknown) => void]> = [
    ['undici:request:create', onCreate],
    ['undici:request:headers', onHeaders],
    ['undici:request:error', onError],
  ];
  if (byOrigin.size > 0) for (const [name, listener] of channels) diagnostics.subscribe(name, listener);

  return {
    registry,
    httpRequests,
    signatureFailures,
    close() {
      for (const [name, listener] of channels) diagnostics.unsubscribe(name, listener);
    },
  };
}
