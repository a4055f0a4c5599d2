import { createHmac, randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import type { WebhookDefinition } from '@octokit/webhooks-examples';
import { pino } from 'pino';
import { createFreeScoutClient } from '../../src/clients/freescout.ts';
import { createClients } from '../../src/clients/index.ts';
import { loadConfig } from '../../src/config.ts';
import type { Db } from '../../src/db/database.ts';
import type { SyncDeps } from '../../src/features/github-sync/service.ts';
import { runGithubSyncWorker } from '../../src/features/github-sync/worker.ts';
import type { Clients } from '../../src/lib/deps.ts';
import { manualClock, startTestApp, type TestApp } from './app.ts';
import { type FakeFreeScout, startFakeFreeScout } from './fake-freescout.ts';
import { type FakeGitHub, startFakeGitHub } from './fake-github.ts';

// The package is JSON behind a CommonJS main: required, not imported.
const examples = createRequire(import.meta.url)('@octokit/webhooks-examples') as WebhookDefinition[];

export const GITHUB_WEBHOOK_SECRET = 'github-webhook-secret';
export const OWNER = 'raxx-app';
export const REPO = 'TradeMasterAPI';
export const ISSUE_URL_FIELD_ID = 7;
export const OPERATIONS_MAILBOX_ID = 2;
export const API_USER_ID = 1;
export const PUBLIC_URL = 'https://tickets.example.test';
export const BOT_LOGIN = 'raptor-bot';

export type ManualClock = ReturnType<typeof manualClock>;

export interface SyncFakes {
  clock: ManualClock;
  github: FakeGitHub;
  freescout: FakeFreeScout;
  env(overrides?: Record<string, string | undefined>): Record<string, string | undefined>;
  close(): Promise<void>;
}

export async function startSyncFakes(): Promise<SyncFakes> {
  const clock = manualClock();
  const github = await startFakeGitHub({
    owner: OWNER,
    repo: REPO,
    token: 'ghp_sync',
    login: BOT_LOGIN,
    clock,
  });
  const freescout = await startFakeFreeScout({
    apiKey: 'freescout-key',
    clock,
    customFieldNames: { [ISSUE_URL_FIELD_ID]: 'github_issue_url' },
  });
  return {
    clock,
    github,
    freescout,
    env: (overrides = {}) => ({
      LOG_LEVEL: 'silent',
      FLAG_GITHUB_FREESCOUT_SYNC: '1',
      GITHUB_WEBHOOK_SECRET,
      GITHUB_REPO: `${OWNER}/${REPO}`,
      GITHUB_ISSUE_BOT_TOKEN: 'ghp_sync',
      GITHUB_API_URL: github.url,
      FREESCOUT_API_URL: freescout.url,
      FREESCOUT_API_KEY: 'freescout-key',
      FREESCOUT_PUBLIC_URL: PUBLIC_URL,
      FREESCOUT_OPERATIONS_MAILBOX_ID: String(OPERATIONS_MAILBOX_ID),
      FREESCOUT_GITHUB_ISSUE_URL_FIELD_ID: String(ISSUE_URL_FIELD_ID),
      FREESCOUT_API_USER_ID: String(API_USER_ID),
      ...overrides,
    }),
    async close() {
      await github.close();
      await freescout.close();
    },
  };
}

export interface Delivered {
  status: number;
  body: Record<string, unknown>;
}

export interface SyncInstance {
  app: TestApp;
  clients: Clients;
  deps: SyncDeps;
  /** POSTs a payload the way GitHub does: JSON, signed with the secret, with a delivery GUID. */
  deliver(
    event: string,
    payload: unknown,
    options?: { guid?: string; signature?: string | null; secret?: string },
  ): Promise<Delivered>;
  runWorker(): ReturnType<typeof runGithubSyncWorker>;
  close(): Promise<void>;
}

export async function startSyncInstance(
  db: Db,
  fakes: SyncFakes,
  envOverrides: Record<string, string | undefined> = {},
  clientOptions: { freescoutTimeoutMs?: number } = {},
): Promise<SyncInstance> {
  const env = fakes.env(envOverrides);
  const config = loadConfig(env);
  const clients = createClients(config);
  if (clientOptions.freescoutTimeoutMs !== undefined && config.freescout.api) {
    await clients.freescout?.close();
    clients.freescout = createFreeScoutClient({
      ...config.freescout.api,
      timeoutMs: clientOptions.freescoutTimeoutMs,
    });
  }
  const instance = await startTestApp({ db, env, clock: fakes.clock, clients });
  const deps: SyncDeps = {
    db,
    clients,
    clock: fakes.clock,
    log: pino({ level: 'silent' }),
    config: instance.config,
  };
  return {
    app: instance,
    clients,
    deps,
    async deliver(event, payload, options = {}) {
      const raw = typeof payload === 'string' ? payload : JSON.stringify(payload);
      const secret = options.secret ?? GITHUB_WEBHOOK_SECRET;
      const signature = options.signature === undefined ? signGitHub(raw, secret) : options.signature;
      const response = await instance.app.inject({
        method: 'POST',
        url: '/api/webhooks/github',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'GitHub-Hookshot/044aadd',
          'x-github-event': event,
          'x-github-delivery': options.guid ?? randomUUID(),
          'x-github-hook-id': '292430182',
          ...(signature === null ? {} : { 'x-hub-signature-256': signature }),
        },
        payload: raw,
      });
      return { status: response.statusCode, body: response.json() };
    },
    runWorker: () => runGithubSyncWorker(deps),
    async close() {
      await instance.close();
      await clients.freescout?.close();
    },
  };
}

/** `sha256=<hex HMAC-SHA256 of the raw body>`, as GitHub computes it. */
export function signGitHub(raw: string, secret = GITHUB_WEBHOOK_SECRET): string {
  return `sha256=${createHmac('sha256', secret).update(raw).digest('hex')}`;
}

type Example = Record<string, unknown> & {
  action: string;
  issue: Record<string, unknown>;
  repository: Record<string, unknown>;
  sender: Record<string, unknown>;
};

/** GitHub's own example payload of one event and action (`@octokit/webhooks-examples`), copied. */
export function githubExample(event: string, action?: string): Example {
  const definition = examples.find((candidate) => candidate.name === event);
  const example = definition?.examples.find(
    (candidate) => action === undefined || (candidate as { action?: string }).action === action,
  );
  if (!example) throw new Error(`no GitHub example for ${event}.${action ?? ''}`);
  return structuredClone(example) as unknown as Example;
}

export function issueUrl(number: number): string {
  return `https://github.com/${OWNER}/${REPO}/issues/${number}`;
}

/**
 * GitHub's `issues` example turned into an event on our repository: the issue number, its
 * title and labels, the sender, and (labeled) the label just added.
 */
export function issuesEvent(
  action: 'labeled' | 'unlabeled' | 'closed' | 'reopened' | 'opened' | 'edited',
  options: {
    number: number;
    label?: string;
    labels?: string[];
    title?: string;
    sender?: string;
    senderType?: 'User' | 'Bot';
    repo?: string;
  },
): Example {
  // GitHub's examples have no `closed`: a `reopened` one with the state turned is the same shape.
  const base = githubExample('issues', action === 'closed' ? 'reopened' : action);
  const fullName = options.repo ?? `${OWNER}/${REPO}`;
  const [owner = OWNER, name = REPO] = fullName.split('/');
  const labels = [...new Set([...(options.labels ?? []), ...(options.label ? [options.label] : [])])];
  const labelObject = (labelName: string) => ({
    id: 1362934389,
    node_id: 'MDU6TGFiZWwxMzYyOTM0Mzg5',
    url: `https://api.github.com/repos/${fullName}/labels/${encodeURIComponent(labelName)}`,
    name: labelName,
    color: 'f29513',
    default: false,
    description: null,
  });
  const event: Example = {
    ...base,
    action,
    issue: {
      ...base.issue,
      number: options.number,
      title: options.title ?? `Checkout fails for EU customers (${options.number})`,
      html_url: `https://github.com/${fullName}/issues/${options.number}`,
      url: `https://api.github.com/repos/${fullName}/issues/${options.number}`,
      state: action === 'closed' ? 'closed' : 'open',
      labels: labels.map(labelObject),
    },
    repository: {
      ...base.repository,
      name,
      full_name: fullName,
      owner: { ...(base.repository.owner as Record<string, unknown>), login: owner },
    },
    sender: {
      ...base.sender,
      login: options.sender ?? 'octo-engineer',
      type: options.senderType ?? 'User',
    },
  };
  if (action === 'labeled' || action === 'unlabeled') event.label = labelObject(options.label ?? 'bug');
  else delete event.label;
  return event;
}

/** Runs the worker, then jumps past every backoff, until nothing is left to do. */
export async function drainSync(instance: SyncInstance, clock: ManualClock, rounds = 12): Promise<void> {
  for (let round = 0; round < rounds; round++) {
    await instance.runWorker();
    const open = await instance.deps.db
      .selectFrom('github_sync_delivery')
      .select('id')
      .where('status', 'in', ['pending', 'processing'])
      .execute();
    if (open.length === 0) return;
    clock.advance(2 * 60 * 60_000);
  }
  throw new Error('GitHub sync deliveries still open after draining');
}

export const ticketCreates = (freescout: FakeFreeScout) =>
  freescout.requests.filter((request) => request.method === 'POST' && request.path === '/api/conversations');

export const linkComments = (github: FakeGitHub, number: number) =>
  github.state.issue(number)?.comments.filter((comment) => comment.body.startsWith('[freescout-autolink]')) ??
  [];

export const notesOn = (freescout: FakeFreeScout, conversationId: number) =>
  freescout.state.conversation(conversationId)?.threads.filter((thread) => thread.type === 'note') ?? [];
