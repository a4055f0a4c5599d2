import { parseArgs } from 'node:util';
import { closeClients, createClients } from '../clients/index.ts';
import { ConfigError, loadConfig } from '../config.ts';
import { type Db, openDatabase } from '../db/database.ts';
import { migrateToLatest } from '../db/migrate.ts';
import { listMailboxesCommand } from './freescout-mailboxes.ts';
import {
  parseFeature,
  parsePublicBase,
  registerWebhookCommand,
  removeWebhookCommand,
} from './freescout-webhooks.ts';
import type { CliOutput } from './output.ts';
import { preflightCommand } from './preflight.ts';

const USAGE = `usage: npm run -s cli -- <command>

  freescout mailboxes               list FreeScout mailboxes: id, name, email
  freescout mailboxes --name NAME   print only the id of the mailbox named NAME
  freescout webhooks register --feature audit|rbac|autolink --url PUBLIC_BASE
                                    register (or replace) the feature's FreeScout webhook
  freescout webhooks remove --feature audit|rbac|autolink
                                    remove the feature's FreeScout webhook
  preflight                         check the prerequisites of every flag that is on (exit 1 on any ✗)`;

const COMMANDS = new Set([
  'freescout mailboxes',
  'freescout webhooks register',
  'freescout webhooks remove',
  'preflight',
]);

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
  if (!COMMANDS.has(command)) {
    output.err(`unknown command: ${command}`);
    output.err(USAGE);
    return 2;
  }
  if (values.name !== undefined && command !== 'freescout mailboxes') {
    output.err('--name only applies to freescout mailboxes');
    return 2;
  }
  const webhooks = command.startsWith('freescout webhooks ');
  if (!webhooks && (values.feature !== undefined || values.url !== undefined)) {
    output.err('--feature and --url only apply to freescout webhooks');
    return 2;
  }
  let feature = '';
  let publicBase = '';
  try {
    if (webhooks) feature = parseFeature(values.feature);
    if (command === 'freescout webhooks register') publicBase = parsePublicBase(values.url);
    else if (values.url !== undefined && webhooks) throw new Error('--url only applies to register');
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
    if (!clients.freescout) {
      output.err('FREESCOUT_API_URL and FREESCOUT_API_KEY must both be set');
      return 1;
    }
    if (webhooks) {
      const freescout = clients.freescout;
      return await withDatabase(config, options.db, (db) =>
        command === 'freescout webhooks register'
          ? registerWebhookCommand(
              { db, freescout, now: () => new Date() },
              {
                feature,
                publicBase,
                autolinkMailboxIds: config.autolink.mailboxIds,
              },
              output,
            )
          : removeWebhookCommand({ db, freescout }, { feature }, output),
      );
    }
    return await listMailboxesCommand(
      clients.freescout,
      values.name === undefined ? {} : { name: values.name },
      output,
    );
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
      help: { type: 'boolean', short: 'h' },
    },
  });
}

async function withDatabase<T>(
  config: ReturnType<typeof loadConfig>,
  given: Db | undefined,
  run: (db: Db) => Promise<T>,
): Promise<T> {
  if (given) return run(given);
  const database = await openDatabase(config.database);
  try {
    // The embedded database is migrated by whoever opens it; Postgres by the release phase.
    if (database.kind === 'pglite') await migrateToLatest(database.db);
    return await run(database.db);
  } finally {
    await database.close();
  }
}
