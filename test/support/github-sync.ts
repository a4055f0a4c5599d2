import { createHmac, randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import type { WebhookDefinition } from '@octokit/webhooks-examples';
import { createFreeScoutClient } from '../../src/clients/freescout.ts';
import { createClients } from '../../src/clients/index.ts';
import { loadConfig } from '../../src/config.ts';
import type { Db } from '../../src/db/database.ts';
import { runGithubSyncWorker } from '../../src/features/github-sync/worker.ts';
import { manualClock } from './app.ts';
import type { TestDatabase } from './db.ts';
import type { FakeFreeScout } from './fake-freescout.ts';
import type { FakeGitHub } from './fake-github.ts';
import {
  type Delivered,
  drainInbox,
  type Env,
  type ManualClock,
  OWNER,
  postWebhook,
  REPO,
  startUpstreamFakes,
  startUpstreamInstance,
  type UpstreamFakes,
  type UpstreamInstance,
  useUpstreams,
} from './freescout-github.ts';

export {
  API_USER_ID,
  BOT_LOGIN,
  ISSUE_URL_FIELD_ID,
  issueUrlShown,
  notesOn,
  OPERATIONS_ISSUE_URL_FIELD_ID,
  OWNER,
  PUBLIC_URL,
  REPO,
} from './freescout-github.ts';

// The package is JSON behind a CommonJS main: required, not imported.
const examples = createRequire(import.meta.url)('@octokit/webhooks-examples') as WebhookDefinition[];

export const GITHUB_WEBHOOK_SECRET = 'github-webhook-secret';
export const OPERATIONS_MAILBOX_ID = 2;

/** FreeScout and GitHub fakes with GitHub sync on, sharing the test's manual clock. */
export type SyncFakes = UpstreamFakes;

export function startSyncFakes(): Promise<SyncFakes> {
  return startUpstreamFakes({
    clock: manualClock(),
    githubToken: 'ghp_sync',
    featureEnv: {
      FLAG_GITHUB_FREESCOUT_SYNC: '1',
      GITHUB_WEBHOOK_SECRET,
      FREESCOUT_OPERATIONS_MAILBOX_ID: String(OPERATIONS_MAILBOX_ID),
    },
  });
}

export interface SyncInstance extends UpstreamInstance {
  /** POSTs a payload the way GitHub does: JSON, signed with the secret, with a delivery GUID. */
  deliver(
    event: string,
    payload: unknown,
    options?: { guid?: string; signature?: string | null; secret?: string },
  ): Promise<Delivered>;
  runWorker(): ReturnType<typeof runGithubSyncWorker>;
}

export async function startSyncInstance(
  db: Db,
  fakes: SyncFakes,
  envOverrides: Env = {},
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
  const instance = await startUpstreamInstance(db, fakes, env, { clients });
  return {
    ...instance,
    async deliver(event, payload, options = {}) {
      const raw = typeof payload === 'string' ? payload : JSON.stringify(payload);
      const secret = options.secret ?? GITHUB_WEBHOOK_SECRET;
      const signature = options.signature === undefined ? signGitHub(raw, secret) : options.signature;
      const headers = {
        'user-agent': 'GitHub-Hookshot/044aadd',
        'x-github-event': event,
        'x-github-delivery': options.guid ?? randomUUID(),
        'x-github-hook-id': '292430182',
        ...(signature === null ? {} : { 'x-hub-signature-256': signature }),
      };
      return postWebhook(instance.app, '/api/webhooks/github', headers, raw);
    },
    runWorker: () => runGithubSyncWorker(instance.deps),
  };
}

/**
 * A test file's setup: database, fakes and one GitHub sync instance for the whole file; before
 * each test the features' tables are emptied and the fakes' request logs cleared.
 */
export function useGitHubSync(): { database: TestDatabase; fakes: SyncFakes; instance: SyncInstance } {
  return useUpstreams(startSyncFakes, (db, fakes) => startSyncInstance(db, fakes));
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
export function drainSync(instance: SyncInstance, clock: ManualClock, rounds = 12): Promise<void> {
  return drainInbox('github_sync_delivery', instance, clock, rounds);
}

export const ticketCreates = (freescout: FakeFreeScout) =>
  freescout.requests.filter((request) => request.method === 'POST' && request.path === '/api/conversations');

export const linkComments = (github: FakeGitHub, number: number) =>
  github.state.issue(number)?.comments.filter((comment) => comment.body.startsWith('[freescout-autolink]')) ??
  [];
