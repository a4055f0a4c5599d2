import type { Logger } from 'pino';
import type { AlertsSourceClient } from '../clients/alerts-source.ts';
import type { FreeScoutClient } from '../clients/freescout.ts';
import type { GitHubClient } from '../clients/github.ts';
import type { SlackClient } from '../clients/slack.ts';
import type { Config } from '../config.ts';
import type { Db } from '../db/database.ts';
import type { Clock } from './clock.ts';

/** External API clients; each is absent when its configuration is. */
export interface Clients {
  slack?: SlackClient;
  freescout?: FreeScoutClient;
  github?: GitHubClient;
  alertsSource?: AlertsSourceClient;
}

/** What every feature plugin is given by `buildApp`. */
export interface FeatureDeps {
  config: Config;
  db: Db;
  log: Logger;
  clock: Clock;
  clients: Clients;
  /** Calls between features, wired by the composition root (`buildApp`) so no feature imports another. */
  hooks?: FeatureHooks;
}

export interface FeatureHooks {
  /**
   * A FreeScout ticket the service itself created (and tagged): GitHub autolink evaluates it
   * at once instead of waiting for FreeScout's webhook. Queues durably; never does the work inline.
   */
  onTicketCreated?: (conversationId: number) => Promise<void>;
}

/**
 * What a service function or job takes: the parts of `FeatureDeps` it uses, named the same
 * everywhere, so a test passes real Postgres, loopback fakes and a manual clock.
 */
export type ServiceDeps = Pick<FeatureDeps, 'config' | 'db' | 'clients' | 'clock' | 'log'>;
