import { pino } from 'pino';
import { beforeEach } from 'vitest';
import { createClients } from '../../src/clients/index.ts';
import { loadConfig } from '../../src/config.ts';
import type { Db } from '../../src/db/database.ts';
import type { Clock } from '../../src/lib/clock.ts';
import type { Clients, ServiceDeps } from '../../src/lib/deps.ts';
import { type manualClock, startTestApp, type TestApp } from './app.ts';
import { type TestDatabase, truncate } from './db.ts';
import { type FakeFreeScout, startFakeFreeScout } from './fake-freescout.ts';
import { type FakeGitHub, startFakeGitHub } from './fake-github.ts';
import { useFixture, useTestDatabase } from './setup.ts';

/*
 * What the tests of the two features between FreeScout and GitHub share — autolink (ticket to
 * issue) and GitHub sync (issue to ticket): one repository and helpdesk, the two fakes standing
 * for them, an app instance wired to both, and a test file's setup. Each feature's module
 * (`autolink.ts`, `github-sync.ts`) adds its own flag, webhook and worker on top.
 */

export const OWNER = 'raxx-app';
export const REPO = 'TradeMasterAPI';
/** The user the GitHub token belongs to (`GET /user`). */
export const BOT_LOGIN = 'raptor-bot';
export const FREESCOUT_API_KEY = 'freescout-key';
/**
 * `github_issue_url` is a field of one mailbox, as in FreeScout: Support's (mailbox 1, where
 * conversations land unless told) and Operations' (mailbox 2, where Direction B opens tickets).
 */
export const ISSUE_URL_FIELD_ID = 7;
export const OPERATIONS_ISSUE_URL_FIELD_ID = 8;
export const ISSUE_URL_FIELDS = [
  { id: ISSUE_URL_FIELD_ID, mailboxId: 1, name: 'github_issue_url' },
  { id: OPERATIONS_ISSUE_URL_FIELD_ID, mailboxId: 2, name: 'github_issue_url' },
];
/** The fake's one agent, whom the service writes its notes as. */
export const API_USER_ID = 1;
export const PUBLIC_URL = 'https://tickets.example.test';

export type ManualClock = ReturnType<typeof manualClock>;

export type Env = Record<string, string | undefined>;

/** FreeScout and GitHub fakes on loopback, sharing the test's clock, and the env that points the app at them. */
export interface UpstreamFakes<C extends Clock = ManualClock> {
  clock: C;
  github: FakeGitHub;
  freescout: FakeFreeScout;
  env(overrides?: Env): Env;
  close(): Promise<void>;
}

/** `featureEnv` turns the feature on; `env()` adds it to the upstreams' settings, overrides last. */
export async function startUpstreamFakes<C extends Clock>(options: {
  clock: C;
  githubToken: string;
  featureEnv: Env;
}): Promise<UpstreamFakes<C>> {
  const { clock, githubToken } = options;
  const github = await startFakeGitHub({
    owner: OWNER,
    repo: REPO,
    token: githubToken,
    login: BOT_LOGIN,
    clock,
  });
  const freescout = await startFakeFreeScout({
    apiKey: FREESCOUT_API_KEY,
    clock,
    customFields: ISSUE_URL_FIELDS,
  });
  return {
    clock,
    github,
    freescout,
    env: (overrides = {}) => ({
      LOG_LEVEL: 'silent',
      ...options.featureEnv,
      GITHUB_REPO: `${OWNER}/${REPO}`,
      GITHUB_ISSUE_BOT_TOKEN: githubToken,
      GITHUB_API_URL: github.url,
      FREESCOUT_API_URL: freescout.url,
      FREESCOUT_API_KEY,
      FREESCOUT_PUBLIC_URL: PUBLIC_URL,
      FREESCOUT_API_USER_ID: String(API_USER_ID),
      ...overrides,
    }),
    async close() {
      await github.close();
      await freescout.close();
    },
  };
}

/** One app instance: the HTTP routes, plus the dependencies its worker takes, to drive that by hand. */
export interface UpstreamInstance {
  app: TestApp;
  clients: Clients;
  deps: ServiceDeps;
  close(): Promise<void>;
}

/** `clients` defaults to the ones `env` configures; the app and the test's worker share them, as in the web process. */
export async function startUpstreamInstance(
  db: Db,
  fakes: UpstreamFakes<Clock>,
  env: Env,
  options: { listen?: boolean; clients?: Clients } = {},
): Promise<UpstreamInstance> {
  const clients = options.clients ?? createClients(loadConfig(env));
  const app = await startTestApp({ db, env, clock: fakes.clock, clients, listen: options.listen ?? false });
  return {
    app,
    clients,
    deps: { db, clients, clock: fakes.clock, log: pino({ level: 'silent' }), config: app.config },
    async close() {
      await app.close();
      await clients.freescout?.close();
    },
  };
}

export interface Delivered {
  status: number;
  body: Record<string, unknown>;
}

/** POSTs a raw JSON body to one of the app's webhook routes with the upstream's headers, and reads the answer. */
export async function postWebhook(
  app: TestApp,
  url: string,
  headers: Record<string, string>,
  raw: string,
): Promise<Delivered> {
  const response = await app.app.inject({
    method: 'POST',
    url,
    headers: { 'content-type': 'application/json', ...headers },
    payload: raw,
  });
  return { status: response.statusCode, body: response.json() };
}

/** Runs the worker, then jumps past every backoff, until its inbox holds nothing pending or in hand. */
export async function drainInbox(
  inbox: 'autolink_delivery' | 'github_sync_delivery',
  instance: { deps: ServiceDeps; runWorker(): Promise<unknown> },
  clock: ManualClock,
  rounds: number,
): Promise<void> {
  for (let round = 0; round < rounds; round++) {
    await instance.runWorker();
    const open = await instance.deps.db
      .selectFrom(inbox)
      .select('id')
      .where('status', 'in', ['pending', 'processing'])
      .execute();
    if (open.length === 0) return;
    clock.advance(2 * 60 * 60_000);
  }
  throw new Error(`${inbox} rows still open after draining`);
}

/** Every table autolink, GitHub sync and the links they make write to. */
const FEATURE_TABLES = [
  'autolink_delivery',
  'autolink_link',
  'autolink_close_comment',
  'autolink_sweep_cursor',
  'github_sync_delivery',
  'github_sync_issue',
  'github_issue_detail',
  'job_lease',
];

/**
 * A test file's database, fakes and app instance, opened before its first test and closed after
 * its last. Before each test, webhooks the fake still owes are delivered (so none lands late),
 * the features' tables are emptied and both fakes' request logs cleared; their state stays.
 */
export function useUpstreams<F extends UpstreamFakes<Clock>, I extends UpstreamInstance>(
  startFakes: () => Promise<F>,
  startInstance: (db: Db, fakes: F) => Promise<I>,
): { database: TestDatabase; fakes: F; instance: I } {
  const database = useTestDatabase();
  const fakes = useFixture(startFakes);
  const instance = useFixture(() => startInstance(database.db, fakes));
  beforeEach(async () => {
    await fakes.freescout.state.flushWebhooks();
    await truncate(database, ...FEATURE_TABLES);
    fakes.github.clearRequests();
    fakes.freescout.clearRequests();
  });
  return { database, fakes, instance };
}

/** What the ticket's `github_issue_url` shows: its own mailbox's field, as FreeScout's API, webhooks and UI show it. */
export const issueUrlShown = (freescout: FakeFreeScout, conversationId: number) =>
  freescout.state
    .conversation(conversationId)
    ?.customFields.find((field) => field.name === 'github_issue_url')?.value ?? '';

export const notesOn = (freescout: FakeFreeScout, conversationId: number) =>
  freescout.state.conversation(conversationId)?.threads.filter((thread) => thread.type === 'note') ?? [];
