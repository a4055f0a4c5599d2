import type { Db } from '../../src/db/database.ts';
import { runAutolinkWorker } from '../../src/features/autolink/worker.ts';
import type { Clock } from '../../src/lib/clock.ts';
import { manualClock } from './app.ts';
import type { TestDatabase } from './db.ts';
import type { FakeConversation } from './fake-freescout.ts';
import type { FakeGitHub } from './fake-github.ts';
import { sign as signFreescout } from './freescout-delivery.ts';
import {
  type Delivered,
  drainInbox,
  type Env,
  FREESCOUT_API_KEY,
  type ManualClock,
  postWebhook,
  startUpstreamFakes,
  startUpstreamInstance,
  type UpstreamFakes,
  type UpstreamInstance,
  useUpstreams,
} from './freescout-github.ts';

export {
  ISSUE_URL_FIELD_ID,
  issueUrlShown,
  notesOn,
  OPERATIONS_ISSUE_URL_FIELD_ID,
  PUBLIC_URL,
} from './freescout-github.ts';

export const WEBHOOK_SECRET = 'autolink-webhook-secret';

/** FreeScout and GitHub fakes with autolink on, sharing the test's clock (manual unless told). */
export type AutolinkFakes<C extends Clock = ManualClock> = UpstreamFakes<C>;

export function startAutolinkFakes(): Promise<AutolinkFakes>;
/** With a real clock, for tests where upstreams are slow in real time. */
export function startAutolinkFakes<C extends Clock>(options: { clock: C }): Promise<AutolinkFakes<C>>;
export function startAutolinkFakes(options: { clock?: Clock } = {}): Promise<AutolinkFakes<Clock>> {
  return startUpstreamFakes({
    clock: options.clock ?? manualClock(),
    githubToken: 'ghp_autolink',
    featureEnv: {
      FLAG_FREESCOUT_GITHUB_AUTOLINK: '1',
      FREESCOUT_WEBHOOK_SECRET: WEBHOOK_SECRET,
      FREESCOUT_AUTOLINK_MAILBOX_IDS: '1,2',
    },
  });
}

export interface AutolinkInstance extends UpstreamInstance {
  deliver(
    event: string,
    body: unknown,
    options?: { source?: 'ops' | 'support'; signature?: string },
  ): Promise<Delivered>;
  runWorker(): ReturnType<typeof runAutolinkWorker>;
}

export async function startAutolinkInstance(
  db: Db,
  fakes: AutolinkFakes<Clock>,
  envOverrides: Env = {},
  options: { listen?: boolean } = {},
): Promise<AutolinkInstance> {
  const instance = await startUpstreamInstance(db, fakes, fakes.env(envOverrides), options);
  return {
    ...instance,
    async deliver(event, body, options = {}) {
      const raw = typeof body === 'string' ? body : JSON.stringify(body);
      const headers = {
        'x-freescout-event': event,
        'x-freescout-signature': options.signature ?? sign(raw),
      };
      return postWebhook(instance.app, `/api/webhooks/freescout/${options.source ?? 'ops'}`, headers, raw);
    },
    runWorker: () => runAutolinkWorker(instance.deps),
  };
}

interface AutolinkSetup<C extends Clock> {
  /** Settings over the fakes' `env()`; a function when they name a fake (its URL, its key). */
  env?: Env | ((fakes: AutolinkFakes<Clock>) => Env);
  /** Listen on a loopback port, for FreeScout's webhooks to reach the app. */
  listen?: boolean;
  clock?: C;
}

interface AutolinkFixtures<C extends Clock> {
  database: TestDatabase;
  fakes: AutolinkFakes<C>;
  instance: AutolinkInstance;
}

/**
 * A test file's setup: database, fakes and one autolink instance for the whole file; before each
 * test the features' tables are emptied and the fakes' request logs cleared.
 */
export function useAutolink(options?: AutolinkSetup<ManualClock>): AutolinkFixtures<ManualClock>;
/** With a real clock, for tests where upstreams are slow in real time. */
export function useAutolink<C extends Clock>(options: AutolinkSetup<C> & { clock: C }): AutolinkFixtures<C>;
export function useAutolink(options: AutolinkSetup<Clock> = {}): AutolinkFixtures<Clock> {
  const { env = {}, listen = false, clock = manualClock() } = options;
  return useUpstreams(
    () => startAutolinkFakes({ clock }),
    (db, fakes) => startAutolinkInstance(db, fakes, typeof env === 'function' ? env(fakes) : env, { listen }),
  );
}

/** Autolink's test deliveries are signed HMAC-SHA256 hex, with its webhook secret by default. */
export function sign(raw: string, secret = WEBHOOK_SECRET): string {
  return signFreescout(raw, secret, 'sha256-hex');
}

/** The conversation as FreeScout's webhook sends it: the API object with its threads, never its tags. */
export function webhookBody(conversation: FakeConversation): Record<string, unknown> {
  const { threads, tags: _tags, customFieldValues: _stored, ...wire } = conversation;
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
    headers: { 'content-type': 'application/json', 'x-freescout-api-key': FREESCOUT_API_KEY },
    body: JSON.stringify({ url: `${instance.app.url}/api/webhooks/freescout/ops`, events }),
  });
  if (answer.status !== 201) throw new Error(`webhook registration answered ${answer.status}`);
}

/** Runs the worker, then jumps past every backoff, until nothing is left to do. */
export function drain(instance: AutolinkInstance, clock: ManualClock, rounds = 12): Promise<void> {
  return drainInbox('autolink_delivery', instance, clock, rounds);
}

export const issuePosts = (github: FakeGitHub) =>
  github.requests.filter((request) => request.method === 'POST' && /\/issues$/.test(request.path));
