import { Writable } from 'node:stream';
import { type App, buildApp } from '../../src/app.ts';
import { closeClients, createClients } from '../../src/clients/index.ts';
import { type Config, loadConfig } from '../../src/config.ts';
import type { Db } from '../../src/db/database.ts';
import { type Clock, systemClock } from '../../src/lib/clock.ts';
import type { Clients } from '../../src/lib/deps.ts';
import { startJobs } from '../../src/lib/jobs.ts';
import { createLogger } from '../../src/lib/logger.ts';
import { allJobs } from '../../src/registry.ts';

export interface TestApp {
  app: App;
  config: Config;
  /** Every log line the app wrote, parsed. */
  logs: Array<Record<string, unknown>>;
  /** Raw log text, to prove a secret never appears anywhere in it. */
  logText(): string;
  /** Base URL when started with `listen: true`. */
  url: string;
  close(): Promise<void>;
}

export interface TestAppOptions {
  db: Db;
  env?: Record<string, string | undefined>;
  clock?: Clock;
  clients?: Clients;
  /** Starts every job whose feature is on, as `server.ts` does; off by default so tests drive jobs directly. */
  backgroundJobs?: boolean;
  /** Listen on a loopback port, for tests that need real sockets. */
  listen?: boolean;
  /** The port to listen on (any free one unless told), for a restart that callers must find again. */
  port?: number;
}

/** Builds the real app over a test database, with config from `env` only (never the process's). */
export async function startTestApp(options: TestAppOptions): Promise<TestApp> {
  const config = loadConfig({ LOG_LEVEL: 'info', ...options.env });
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  const log = createLogger({ level: config.logLevel, secretValues: config.secretValues }, sink);
  const clients = options.clients ?? createClients(config, log);
  const app = await buildApp({
    config,
    db: options.db,
    log,
    clients,
    ...(options.clock ? { clock: options.clock } : {}),
  });
  const jobs = options.backgroundJobs
    ? startJobs(
        allJobs({ config, db: options.db, log, clients, clock: options.clock ?? systemClock }),
        'all',
        log,
      )
    : undefined;
  let url = '';
  if (options.listen) url = await app.listen({ port: options.port ?? 0, host: '127.0.0.1' });
  else await app.ready();
  return {
    app,
    config,
    get logs() {
      return lines.flatMap((line) => line.split('\n').filter(Boolean)).map((line) => JSON.parse(line));
    },
    logText: () => lines.join(''),
    url,
    async close() {
      await jobs?.stop();
      await app.close();
      if (!options.clients) await closeClients(clients);
    },
  };
}

/** A clock the test moves by hand. */
export function manualClock(start = new Date('2026-11-24T12:00:00Z')) {
  let now = start.getTime();
  return {
    now: () => new Date(now),
    advance(ms: number) {
      now += ms;
    },
    set(date: Date) {
      now = date.getTime();
    },
  };
}
