import { processEnv } from '../config.ts';
import { processOutput } from './output.ts';
import { runCli } from './run.ts';

/** `npm run cli -- <command>`: operator commands (see README). */
process.exitCode = await runCli(process.argv.slice(2), processEnv(), processOutput);
