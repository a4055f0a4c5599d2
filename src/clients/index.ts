import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import type { Clients } from '../lib/deps.ts';
import { createAlertsSourceClient } from './alerts-source.ts';
import { createFreeScoutClient } from './freescout.ts';
import { createGitHubClient } from './github.ts';
import { createSlackClient } from './slack.ts';

/** One client per configured external API; an unconfigured one is left out. */
export function createClients(config: Config, log?: Logger): Clients {
  const clients: Clients = {};
  if (config.slack.token)
    clients.slack = createSlackClient({ apiUrl: config.slack.apiUrl, token: config.slack.token });
  if (config.freescout.api) clients.freescout = createFreeScoutClient(config.freescout.api);
  if (config.postmark.alertsSourceUrl)
    clients.alertsSource = createAlertsSourceClient(config.postmark.alertsSourceUrl);
  const github = createGitHubClient(config.github, log);
  if (github) clients.github = github;
  return clients;
}

export async function closeClients(clients: Clients): Promise<void> {
  await Promise.all([clients.slack?.close(), clients.freescout?.close(), clients.alertsSource?.close()]);
}
