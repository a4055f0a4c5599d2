import { parseArgs } from 'node:util';
import { closeClients, createClients } from '../clients/index.ts';
import { ConfigError, loadConfig } from '../config.ts';
import { listMailboxesCommand } from './freescout-mailboxes.ts';
import type { CliOutput } from './output.ts';
import { preflightCommand } from './preflight.ts';

const USAGE = `usage: npm run -s cli -- <command>

  freescout mailboxes               list FreeScout mailboxes: id, name, email
  freescout mailboxes --name NAME   print only the id of the mailbox named NAME
  preflight                         check the prerequisites of every flag that is on (exit 1 on any ✗)`;

/** Runs one operator command against the configuration in `env`; resolves to the exit code. */
export async function runCli(
  argv: string[],
  env: Record<string, string | undefined>,
  output: CliOutput,
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
  if (command !== 'freescout mailboxes' && command !== 'preflight') {
    output.err(`unknown command: ${command}`);
    output.err(USAGE);
    return 2;
  }
  if (values.name !== undefined && command !== 'freescout mailboxes') {
    output.err('--name only applies to freescout mailboxes');
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
    options: { name: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
}
