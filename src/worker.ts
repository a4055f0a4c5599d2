import closeWithGrace from 'close-with-grace';
import { closeClients, createClients } from './clients/index.ts';
import { ConfigError, loadConfig, processEnv } from './config.ts';
import { openDatabase } from './db/database.ts';
import { migrateToLatest } from './db/migrate.ts';
import { DatabaseInUseError } from './db/pglite-lock.ts';
import { startAutolinkSweep } from './features/autolink/sweep.ts';
import { startAutolinkWorker } from './features/autolink/worker.ts';
import { startGithubSyncWorker } from './features/github-sync/worker.ts';
import { systemClock } from './lib/clock.ts';
import { createLogger } from './lib/logger.ts';

/**
 * The background worker alone (Procfile `worker:`), for when the inbox needs more hands than
 * the web dynos give it. It shares the queue with them through `for update skip locked`.
 */
async function start(): Promise<void> {
  const config = loadConfig(processEnv());
  const log = createLogger({ level: config.logLevel, secretValues: config.secretValues });
  const database = await openDatabase(config.database);
  if (database.kind === 'pglite') await migrateToLatest(database.db);
  const clients = createClients(config, log);
  // Staying up while the flags are off keeps the dyno from crash-looping; a config change restarts it.
  const deps = { config, db: database.db, log, clock: systemClock, clients };
  // The sweep takes a lease, so running it here as well as on the web dynos sweeps once.
  const sweep = config.autolink.enabled ? startAutolinkSweep(deps) : undefined;
  const workers = [
    ...(config.autolink.enabled ? [startAutolinkWorker(deps)] : []),
    ...(sweep ? [sweep] : []),
    ...(config.githubSync.enabled ? [startGithubSyncWorker(deps)] : []),
  ];
  // An idle worker has nothing pending on the event loop; this keeps the process alive until a signal.
  const idle = workers.length > 0 ? undefined : setInterval(() => {}, 60 * 60_000);

  closeWithGrace({ delay: 10_000 }, async ({ signal, err }) => {
    if (err) log.error({ err }, 'worker shutting down after an uncaught error');
    else log.info({ signal }, 'worker shutting down');
    clearInterval(idle);
    await Promise.all(workers.map((worker) => worker.stop()));
    await closeClients(clients);
    await database.close();
  });
  // Said only once the signal handlers are in place: a SIGTERM before them would kill the process outright.
  log.info(
    { database: database.kind, autolink: config.autolink.enabled, githubSync: config.githubSync.enabled },
    workers.length > 0
      ? 'raptor worker running'
      : 'raptor worker idle: FLAG_FREESCOUT_GITHUB_AUTOLINK and FLAG_GITHUB_FREESCOUT_SYNC are off',
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
