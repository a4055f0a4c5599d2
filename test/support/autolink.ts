import { pino } from 'pino';
import { createClients } from '../../src/clients/index.ts';
import { loadConfig } from '../../src/config.ts';
import type { Db } from '../../src/db/database.ts';
import type { AutolinkDeps } from '../../src/features/autolink/service.ts';
import { runAutolinkWorker } from '../../src/features/autolink/worker.ts';
import type { Clock } from '../../src/lib/clock.ts';
import type { Clients } from '../../src/lib/deps.ts';
import { manualClock, startTestApp, type TestApp } from './app.ts';
import type { FakeConversation, FakeFreeScout } from './fake-freescout.ts';
import { startFakeFreeScout } from './fake-freescout.ts';
import { type FakeGitHub, startFakeGitHub } from './fake-github.ts';
import { sign as signFreescout } from './freescout-delivery.ts';

export const WEBHOOK_SECRET = 'autolink-webhook-secret';
export const ISSUE_URL_FIELD_ID = 7;
export const PUBLIC_URL = 'https://tickets.example.test';
/** The fake's one agent, whom the service writes its notes as. */
export const API_USER_ID = 1;
export const GITHUB_OWNER = 'raxx-app';
export const GITHUB_REPO = 'TradeMasterAPI';

export type ManualClock = ReturnType<typeof manualClock>;

/** FreeScout and GitHub fakes on loopback, sharing the test's clock (manual unless told). */
export interface AutolinkFakes<C extends Clock = ManualClock> {
  clock: C;
  github: FakeGitHub;
  freescout: FakeFreeScout;
  env(overrides?: Record<string, string | undefined>): Record<string, string | undefined>;
  close(): Promise<void>;
}

export function startAutolinkFakes(): Promise<AutolinkFakes>;
/** With a real clock, for tests where upstreams are slow in real time. */
export function startAutolinkFakes<C extends Clock>(options: { clock: C }): Promise<AutolinkFakes<C>>;
export async function startAutolinkFakes(options: { clock?: Clock } = {}): Promise<AutolinkFakes<Clock>> {
  const clock = options.clock ?? manualClock();
  const github = await startFakeGitHub({
    owner: GITHUB_OWNER,
    repo: GITHUB_REPO,
    token: 'ghp_autolink',
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
      FLAG_FREESCOUT_GITHUB_AUTOLINK: '1',
      FREESCOUT_WEBHOOK_SECRET: WEBHOOK_SECRET,
      GITHUB_REPO: `${GITHUB_OWNER}/${GITHUB_REPO}`,
      GITHUB_ISSUE_BOT_TOKEN: 'ghp_autolink',
      GITHUB_API_URL: github.url,
      FREESCOUT_API_URL: freescout.url,
      FREESCOUT_API_KEY: 'freescout-key',
      FREESCOUT_PUBLIC_URL: PUBLIC_URL,
      FREESCOUT_AUTOLINK_MAILBOX_IDS: '1,2',
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

/** One app instance: the HTTP routes, plus its worker's dependencies to drive it by hand. */
export interface AutolinkInstance {
  app: TestApp;
  clients: Clients;
  deps: AutolinkDeps;
  deliver(
    event: string,
    body: unknown,
    options?: { source?: 'ops' | 'support'; signature?: string },
  ): Promise<{ status: number; body: Record<string, unknown> }>;
  runWorker(): ReturnType<typeof runAutolinkWorker>;
  close(): Promise<void>;
}

export async function startAutolinkInstance(
  db: Db,
  fakes: AutolinkFakes<Clock>,
  envOverrides: Record<string, string | undefined> = {},
  options: { listen?: boolean } = {},
): Promise<AutolinkInstance> {
  const env = fakes.env(envOverrides);
  // The app and the test's hand-driven worker share one set of clients, as in the web process.
  const clients = createClients(loadConfig(env));
  const instance = await startTestApp({
    db,
    env,
    clock: fakes.clock,
    clients,
    listen: options.listen ?? false,
  });
  const deps: AutolinkDeps = {
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
    async deliver(event, body, options = {}) {
      const raw = typeof body === 'string' ? body : JSON.stringify(body);
      const response = await instance.app.inject({
        method: 'POST',
        url: `/api/webhooks/freescout/${options.source ?? 'ops'}`,
        headers: {
          'content-type': 'application/json',
          'x-freescout-event': event,
          'x-freescout-signature': options.signature ?? sign(raw),
        },
        payload: raw,
      });
      return { status: response.statusCode, body: response.json() };
    },
    runWorker: () => runAutolinkWorker(deps),
    async close() {
      await instance.close();
      await clients.freescout?.close();
    },
  };
}

/** Autolink's test deliveries are signed HMAC-SHA256 hex, with its webhook secret by default. */
export function sign(raw: string, secret = WEBHOOK_SECRET): string {
  return signFreescout(raw, secret, 'sha256-hex');
}

/** The conversation as FreeScout's webhook sends it: the API object with its threads, never its tags. */
export function webhookBody(conversation: FakeConversation): Record<string, unknown> {
  const { threads, tags: _tags, ...wire } = conversation;
  return { ...wire, threadsCount: threads.length, _embedded: { threads } };
}

/** Registers a FreeScout webhook (all conversation events) pointing at the instance's autolink route. */
export async function subscribe(fakes: AutolinkFakes<Clock>, instance: AutolinkInstance): Promise<void> {
  const events = [
    'convo.created',
    'convo.status',
    'convo.note.created',
    'convo.customer.reply.created',
    'convo.agent.reply.created',
    'convo.assigned',
  ];
  const answer = await fetch(`${fakes.freescout.url}/api/webhooks`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-freescout-api-key': 'freescout-key' },
    body: JSON.stringify({ url: `${instance.app.url}/api/webhooks/freescout/ops`, events }),
  });
  if (answer.status !== 201) throw new Error(`webhook registration answered ${answer.status}`);
}

/** Runs the worker, then jumps past every backoff, until nothing is left to do. */
export async function drain(instance: AutolinkInstance, clock: ManualClock, rounds = 12): Promise<void> {
  for (let round = 0; round < rounds; round++) {
    await instance.runWorker();
    const open = await instance.deps.db
      .selectFrom('autolink_delivery')
      .select('id')
      .where('status', 'in', ['pending', 'processing'])
      .execute();
    if (open.length === 0) return;
    clock.advance(2 * 60 * 60_000);
  }
  throw new Error('autolink deliveries still open after draining');
}

export const issuePosts = (github: FakeGitHub) =>
  github.requests.filter((request) => request.method === 'POST' && /\/issues$/.test(request.path));

export const notesOn = (freescout: FakeFreeScout, conversationId: number) =>
  freescout.state.conversation(conversationId)?.threads.filter((thread) => thread.type === 'note') ?? [];
