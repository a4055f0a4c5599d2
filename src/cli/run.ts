import { parseArgs } from 'node:util';
import type { z } from 'zod';
import { closeClients, createClients } from '../clients/index.ts';
import { ConfigError, loadConfig } from '../config.ts';
import type { Db } from '../db/database.ts';
import { deliveriesQuerySchema } from '../features/ops/routes.ts';
import { ticketCacheQuerySchema } from '../features/ops/runbook-routes.ts';
import type { WebhookFeature } from '../features/ops/webhook-registrations.ts';
import { listMailboxesCommand } from './freescout-mailboxes.ts';
import {
  parseFeature,
  parsePublicBase,
  registerWebhookCommand,
  removeWebhookCommand,
} from './freescout-webhooks.ts';
import type { CliOutput } from './output.ts';
import { preflightCommand } from './preflight.ts';
import { openRunbookAccess } from './runbook-access.ts';
import { deliveriesCommand, ticketCacheCommand } from './runbook-checks.ts';

const USAGE = `usage: npm run -s cli -- <command>

  freescout mailboxes               list FreeScout mailboxes: id, name, email
  freescout mailboxes --name NAME   print only the id of the mailbox named NAME
  freescout webhooks register --feature audit|rbac|autolink --url PUBLIC_BASE
                                    register (or replace) the feature's FreeScout webhook
  freescout webhooks remove --feature audit|rbac|autolink
                                    remove the feature's FreeScout webhook
  freescout cache [--ticket ID] [--limit N]
                                    the ticket cache: that ticket's row (exit 1 if none), else the newest rows
  deliveries [--route ROUTE] [--status CODE|4xx|OUTCOME] [--limit N]
                                    the delivery log of inbound webhooks, newest first
  preflight                         check the prerequisites of every flag that is on (exit 1 on any ✗)

On the embedded database, a command that needs it while the server runs asks that server.`;

/** Each command and the options it takes. */
const COMMANDS = new Map<string, string[]>([
  ['freescout mailboxes', ['name']],
  ['freescout webhooks register', ['feature', 'url']],
  ['freescout webhooks remove', ['feature']],
  ['freescout cache', ['ticket', 'limit']],
  ['deliveries', ['route', 'status', 'limit']],
  ['preflight', []],
]);

/** The command-line flag a query field of an internal route comes from. */
const FLAG_OF: Record<string, string> = {
  ticket_id: '--ticket',
  limit: '--limit',
  route: '--route',
  status: '--status',
};

/** Validates options with the schema of the route that answers the same question. */
function parseQuery<T>(schema: z.ZodType<T>, input: Record<string, string | undefined>): T {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const field = String(issue?.path[0] ?? '');
  throw new Error(`${FLAG_OF[field] ?? field}: ${issue?.message ?? 'invalid value'}`);
}

/**
 * Runs one operator command against the configuration in `env`; resolves to the exit code.
 * Commands that remember something open the configured database, unless given one (tests).
 */
export async function runCli(
  argv: string[],
  env: Record<string, string | undefined>,
  output: CliOutput,
  options: { db?: Db } = {},
): Promise<number> {
  let parsed: ReturnType<typeof parseCommandLine>;
  try {
    parsed = parseCommandLine(argv);
  } catch (error) {
    output.err(error instanceof Error ? error.message : String(error));
    output.err(USAGE);
    return 2;
  }
  const { positionals, values } = parsed;
  const command = positionals.join(' ');
  if (values.help || command === 'help') {
    output.out(USAGE);
    return 0;
  }
  // No command is a usage error (a script that forgot its argument must not look successful).
  if (command === '') {
    output.err(USAGE);
    return 2;
  }
  const accepted = COMMANDS.get(command);
  if (!accepted) {
    output.err(`unknown command: ${command}`);
    output.err(USAGE);
    return 2;
  }
  const misplaced = Object.keys(values).find((option) => option !== 'help' && !accepted.includes(option));
  if (misplaced) {
    const owners = [...COMMANDS].filter(([, options]) => options.includes(misplaced)).map(([name]) => name);
    output.err(`--${misplaced} only applies to ${owners.join(', ')}`);
    return 2;
  }
  let feature: WebhookFeature = 'audit';
  let publicBase = '';
  let cacheQuery: z.output<typeof ticketCacheQuerySchema> = { limit: 50 };
  let deliveriesQuery: z.output<typeof deliveriesQuerySchema> = { limit: 50 };
  try {
    if (command.startsWith('freescout webhooks ')) feature = parseFeature(values.feature);
    if (command === 'freescout webhooks register') publicBase = parsePublicBase(values.url);
    if (command === 'freescout cache')
      cacheQuery = parseQuery(ticketCacheQuerySchema, { ticket_id: values.ticket, limit: values.limit });
    if (command === 'deliveries')
      deliveriesQuery = parseQuery(deliveriesQuerySchema, {
        route: values.route,
        status: values.status,
        limit: values.limit,
      });
  } catch (error) {
    output.err(error instanceof Error ? error.message : String(error));
    return 2;
  }

  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    output.err(error.message);
    return 1;
  }
  const clients = createClients(config);
  try {
    if (command === 'preflight') return await preflightCommand(config, clients, output);
    if (command === 'freescout mailboxes') {
      if (!clients.freescout) {
        output.err('FREESCOUT_API_URL and FREESCOUT_API_KEY must both be set');
        return 1;
      }
      return await listMailboxesCommand(
        clients.freescout,
        values.name === undefined ? {} : { name: values.name },
        output,
      );
    }
    const access = await openRunbookAccess(config, clients.freescout, options.db);
    try {
      if (access.via) output.err(access.via);
      if (command === 'freescout webhooks register')
        return await registerWebhookCommand(
          access,
          { feature, publicBase, autolinkMailboxIds: config.autolink.mailboxIds },
          output,
        );
      if (command === 'freescout webhooks remove')
        return await removeWebhookCommand(access, { feature }, output);
      if (command === 'freescout cache')
        return await ticketCacheCommand(
          access,
          { ticketId: cacheQuery.ticket_id, limit: cacheQuery.limit },
          output,
        );
      return await deliveriesCommand(access, deliveriesQuery, output);
    } finally {
      await access.close();
    }
  } catch (error) {
    output.err(error instanceof Error ? error.message : String(error));
    return 1;
  } finally {
    await closeClients(clients);
  }
}

function parseCommandLine(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      name: { type: 'string' },
      feature: { type: 'string' },
      url: { type: 'string' },
      ticket: { type: 'string' },
      limit: { type: 'string' },
      route: { type: 'string' },
      status: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}
