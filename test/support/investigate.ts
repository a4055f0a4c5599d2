import { createFreeScoutClient } from '../../src/clients/freescout.ts';
import type { Db } from '../../src/db/database.ts';
import type { Clock } from '../../src/lib/clock.ts';
import { startTestApp, type TestApp } from './app.ts';
import type { FakeFreeScout } from './fake-freescout.ts';
import { useFixture } from './setup.ts';

export const API_KEY = 'investigate-freescout-key';
export const CONSOLE_TOKEN = 'console-internal-token';
export const OPERATIONS_MAILBOX_ID = 2;
export const PUBLIC_URL = 'https://tickets.raxx.test';
export const INVESTIGATE_PATH = '/api/console/status/investigate';

export function investigateEnv(fake: FakeFreeScout, overrides: Record<string, string | undefined> = {}) {
  return {
    INTERNAL_API_TOKEN: CONSOLE_TOKEN,
    FLAG_CONSOLE_INVESTIGATE_FROM_STATUS: 'true',
    FREESCOUT_API_URL: fake.url,
    FREESCOUT_API_KEY: API_KEY,
    FREESCOUT_PUBLIC_URL: PUBLIC_URL,
    FREESCOUT_OPERATIONS_MAILBOX_ID: String(OPERATIONS_MAILBOX_ID),
    ...overrides,
  };
}

export interface InvestigateAppOptions {
  db: Db;
  fake: FakeFreeScout;
  clock?: Clock;
  timeoutMs?: number;
  env?: Record<string, string | undefined>;
}

/** The real app against the fake FreeScout, with a short client timeout so timeouts are cheap to provoke. */
export async function startInvestigateApp(options: InvestigateAppOptions): Promise<TestApp> {
  const freescout = createFreeScoutClient({
    baseUrl: options.fake.url,
    apiKey: API_KEY,
    timeoutMs: options.timeoutMs ?? 2_000,
  });
  const app = await startTestApp({
    db: options.db,
    env: investigateEnv(options.fake, options.env),
    clients: { freescout },
    ...(options.clock ? { clock: options.clock } : {}),
  });
  return {
    ...app,
    async close() {
      await app.close();
      await freescout.close();
    },
  };
}

/**
 * `startInvestigateApp` as the file's app (see `useTestApp`): options may be a function, read
 * when the app starts, so they can name the database and the fake opened before it.
 */
export function useInvestigateApp(options: InvestigateAppOptions | (() => InvestigateAppOptions)): TestApp {
  return useFixture(() => startInvestigateApp(typeof options === 'function' ? options() : options));
}

export interface Click {
  surface: string;
  state: string;
  tile_url?: string;
  detail?: string;
  requested_by?: string;
}

export async function clickInvestigate(app: TestApp, body: Click | Record<string, unknown>) {
  const response = await app.app.inject({
    method: 'POST',
    url: INVESTIGATE_PATH,
    headers: { authorization: `Bearer ${CONSOLE_TOKEN}` },
    payload: body,
  });
  return { status: response.statusCode, body: response.json() };
}

export const creates = (fake: FakeFreeScout) =>
  fake.requests.filter((request) => request.method === 'POST' && request.path === '/api/conversations');

export const CREATE_PATH = /^\/api\/conversations$/;
