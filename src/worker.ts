import closeWithGrace from 'close-with-grace';
import { closeClients, createClients } from './clients/index.ts';
import { ConfigError, loadConfig, processEnv } from './config.ts';
import { openDatabase } from './db/database.ts';
import { migrateToLatest } from './db/migrate.ts';
import { DatabaseInUseError } from './db/pglite-lock.ts';
import { systemClock } from './lib/clock.ts';
import { startJobs, unknownJobNames } from './lib/jobs.ts';
import { createLogger } from './lib/logger.ts';
import { allJobs } from './registry.ts';

/**
 * Background jobs alone (Procfile `worker:`), for when they need more hands than the web dynos
 * give them. `WORKER_JOBS` picks which (default: `autolink-worker,autolink-sweep,
 * github-sync-worker`); every job shares its queue or lease with the web dynos' copy
 * (`for update skip locked`, `job_lease`), so running one in both places does it once.
 */
async function start(): Promise<void> {
  // The production entry points (start:prod, worker:prod, the Docker image) pass --production.
  const config = loadConfig(processEnv(), { production: process.argv.includes('--production') });
  const log = createLogger({ level: config.logLevel, secretValues: config.secretValues });
  const database = await openDatabase(config.database);
  if (database.kind === 'pglite') await migrateToLatest(database.db);
  const clients = createClients(config, log);
  const jobs = allJobs({ config, db: database.db, log, clock: systemClock, clients });
  const unknown = config.jobs.worker === 'all' ? [] : unknownJobNames(jobs, config.jobs.worker);
  if (unknown.length > 0) {
    await closeClients(clients);
    await database.close();
    throw new ConfigError(`invalid configuration: WORKER_JOBS: no job named ${unknown.join(', ')}`);
  }
  // Staying up while the flags are off keeps the dyno from crash-looping; a config change restarts it.
  const running = startJobs(jobs, config.jobs.worker, log);
  // An idle worker has nothing pending on the event loop; this keeps the process alive until a signal.
  const idle = running.names.length > 0 ? undefined : setInterval(() => {}, 60 * 60_000);

  closeWithGrace({ delay: 10_000 }, async ({ signal, err }) => {
    if (err) log.error({ err }, 'worker shutting down after an uncaught error');
    else log.info({ signal }, 'worker shutting down');
    clearInterval(idle);
    await running.stop();
    await closeClients(clients);
    await database.close();
  });
  // Said only once the signal handlers are in place: a SIGTERM before them would kill the process outright.
  log.info(
    { database: database.kind, jobs: running.names },
    running.names.length > 0
      ? 'raptor worker running'
      : 'raptor worker idle: none of WORKER_JOBS is on (their feature flags are off)',
  );
}

start().catch((error: unknown) => {
  if (error instanceof ConfigError || error instanceof DatabaseInUseError) {
    console.error(error.message);
  } else {
    console.error(
      'raptor worker failed to start:',
      error instanceof Error ? (error.stack ?? error.message) : error,
    );
  }
  process.exit(1);
});
