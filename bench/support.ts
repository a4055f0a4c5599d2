import { type ChildProcess, spawn } from 'node:child_process';
import { createHmac, randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import autocannon from 'autocannon';

export interface LoadResult {
  requests: number;
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
}

export interface LoadOptions {
  url: string;
  method?: 'GET' | 'POST';
  connections: number;
  durationSeconds: number;
  /** Called per request; returns the body and headers to send. */
  next?: () => { body: string; headers: Record<string, string> };
  headers?: Record<string, string>;
}

/** Runs autocannon in-process against a loopback URL and keeps the figures the report needs. */
export async function runLoad(options: LoadOptions): Promise<LoadResult & { p97_5: number }> {
  const next = options.next;
  const result = await autocannon({
    url: options.url,
    method: options.method ?? 'POST',
    connections: options.connections,
    duration: options.durationSeconds,
    headers: options.headers ?? {},
    requests: next
      ? [
          {
            setupRequest: (request: Record<string, unknown>) => {
              const { body, headers } = next();
              return { ...request, body, headers: { ...(request.headers as object), ...headers } };
            },
          },
        ]
      : undefined,
  });
  return {
    requests: result.requests.total,
    rps: result.requests.average,
    p50: result.latency.p50,
    p97_5: result.latency.p97_5 ?? result.latency.p99,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  };
}

export interface Service {
  process: ChildProcess;
  url: string;
  /** Peak resident set size so far, in MB (VmHWM). */
  peakRssMb(): Promise<number>;
  stop(): Promise<void>;
}

export async function startService(
  command: string[],
  env: Record<string, string>,
  port: number,
  readyPath: string,
): Promise<Service & { startMs: number }> {
  const started = performance.now();
  const [bin = 'node', ...args] = command;
  const child = spawn(bin, args, {
    env: { ...process.env, ...env, PORT: String(port) },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${command.join(' ')} exited with ${child.exitCode}`);
    try {
      const response = await fetch(`${url}${readyPath}`, {
        method: readyPath === '/readyz' ? 'GET' : 'POST',
      });
      if (readyPath !== '/readyz' || response.ok) break;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const startMs = performance.now() - started;
  return {
    process: child,
    url,
    startMs,
    async peakRssMb() {
      const status = await readFile(`/proc/${child.pid}/status`, 'utf8');
      const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
      return Math.round(kb / 1024);
    },
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** Signed ~2 KB FreeScout conversation deliveries over `tickets` tickets, each newer than the last. */
/**
 * GitHub `issues.labeled` deliveries built from GitHub's own example payload
 * (@octokit/webhooks-examples), one issue each, labelled with a trigger label so every
 * request is verified, stored and answered 202; a fresh X-GitHub-Delivery per request.
 */
export function githubDeliveries(secret: string, repo: string) {
  const definitions = createRequire(import.meta.url)('@octokit/webhooks-examples') as Array<{
    name: string;
    examples: Array<Record<string, unknown> & { action?: string }>;
  }>;
  const example = definitions
    .find((definition) => definition.name === 'issues')
    ?.examples.find((candidate) => candidate.action === 'labeled');
  if (!example) throw new Error('no issues.labeled example in @octokit/webhooks-examples');
  const [owner = '', name = ''] = repo.split('/');
  const payload = structuredClone(example) as Record<string, Record<string, unknown>>;
  payload.issue = { ...payload.issue, number: 424242, html_url: `https://github.com/${repo}/issues/424242` };
  payload.label = { ...payload.label, name: 'customer-reported' };
  payload.repository = { ...payload.repository, name, full_name: repo, owner: { login: owner } };
  // Built once and stamped per request: the load generator shares the CPUs with the server.
  const [head = '', middle = '', tail = ''] = JSON.stringify(payload).split('424242');
  let sequence = 0;
  return () => {
    sequence++;
    const body = `${head}${sequence}${middle}${sequence}${tail}`;
    return {
      body,
      headers: {
        'content-type': 'application/json',
        'x-github-event': 'issues',
        'x-github-delivery': randomUUID(),
        'x-hub-signature-256': `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`,
      },
    };
  };
}

export function freescoutDeliveries(secret: string, tickets: number) {
  let sequence = 0;
  const filler = 'Customer reports the export stalls at 80% and retries do not help. '.repeat(18);
  const start = Date.parse('2026-01-01T00:00:00Z');
  return () => {
    sequence++;
    const id = (sequence % tickets) + 1;
    const body = JSON.stringify({
      id,
      number: 10_000 + id,
      threadsCount: 3,
      type: 'email',
      folderId: 4,
      status: sequence % 3 === 0 ? 'closed' : 'active',
      state: 'published',
      subject: `Export stalls for workspace ${id}`,
      preview: filler,
      mailboxId: 1,
      assignee: { id: 7, type: 'user', firstName: 'Sam', lastName: 'Ops', email: 'sam@example.com' },
      createdBy: { id: 12, type: 'customer', email: 'dana@example.com' },
      createdAt: '2026-01-01T00:00:00Z',
      updatedAt: new Date(start + sequence * 1000).toISOString().replace('.000Z', 'Z'),
      customer: { id: 12, type: 'customer', firstName: 'Dana', lastName: 'Reyes', email: 'dana@example.com' },
      tags: [
        { id: 3, name: 'billing' },
        { id: 9, name: 'export' },
      ],
      customFields: [{ id: 4, name: 'github_issue_url', value: '', text: '' }],
    });
    const signature = createHmac('sha1', secret).update(body).digest('base64');
    return {
      body,
      headers: {
        'content-type': 'application/json',
        'x-freescout-event': 'convo.status',
        'x-freescout-signature': signature,
      },
    };
  };
}

/** Postmark webhooks as Postmark sends them: mostly deliveries, some bounces and complaints, each unique. */
export function postmarkDeliveries(token: string) {
  let sequence = 0;
  const run = Date.now();
  return () => {
    sequence++;
    const headers = { 'content-type': 'application/json', 'x-postmark-webhook-token': token };
    const messageId = `${run.toString(16)}-${sequence.toString(16).padStart(10, '0')}`;
    if (sequence % 50 === 0 || sequence % 51 === 0) {
      const spam = sequence % 51 === 0;
      return {
        headers,
        body: JSON.stringify({
          RecordType: spam ? 'SpamComplaint' : 'Bounce',
          ID: run * 1000 + sequence,
          Type: spam ? 'SpamComplaint' : 'HardBounce',
          TypeCode: spam ? 512 : 1,
          Name: spam ? 'Spam complaint' : 'Hard bounce',
          Tag: 'support-outbound',
          MessageID: messageId,
          ServerID: 23,
          MessageStream: 'outbound',
          Description: 'The server was unable to deliver your message (ex: unknown user, mailbox not found).',
          Details: 'smtp;550 5.1.1 The email account that you tried to reach does not exist.',
          Email: `user${sequence}@example.com`,
          From: 'support@raxx.app',
          BouncedAt: new Date().toISOString(),
          DumpAvailable: true,
          Inactive: true,
          CanActivate: true,
          Subject: 'Re: your ticket',
          Metadata: { ticket: String(sequence) },
        }),
      };
    }
    return {
      headers,
      body: JSON.stringify({
        RecordType: 'Delivery',
        ServerID: 23,
        MessageStream: 'outbound',
        MessageID: messageId,
        Recipient: `user${sequence}@example.com`,
        Tag: 'support-outbound',
        DeliveredAt: new Date().toISOString(),
        Details: 'Test delivery webhook details',
        Metadata: { ticket: String(sequence) },
      }),
    };
  };
}

/** Exact latency percentiles of `count` GETs over `concurrency` keep-alive loops. */
export async function sampleLatency(
  url: string,
  headers: Record<string, string>,
  count: number,
  concurrency: number,
) {
  const timings: number[] = [];
  let remaining = count;
  async function loop() {
    while (remaining-- > 0) {
      const started = performance.now();
      const response = await fetch(url, { headers });
      await response.arrayBuffer();
      if (!response.ok) throw new Error(`${url} answered ${response.status}`);
      timings.push(performance.now() - started);
    }
  }
  await Promise.all(Array.from({ length: concurrency }, loop));
  timings.sort((a, b) => a - b);
  const at = (q: number) =>
    Number((timings[Math.min(timings.length - 1, Math.floor(q * timings.length))] ?? 0).toFixed(1));
  return { p50: at(0.5), p95: at(0.95), p99: at(0.99) };
}
