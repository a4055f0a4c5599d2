import closeWithGrace from 'close-with-grace';
import { ConfigError, loadConfig, processEnv } from './config.ts';
import { openDatabase } from './db/database.ts';
import { migrateToLatest } from './db/migrate.ts';
import { DatabaseInUseError } from './db/pglite-lock.ts';
import { systemClock } from './lib/clock.ts';
import { loopbackUrl, newLocalToken, publishLocalServer } from './lib/local-server.ts';
import { createLogger } from './lib/logger.ts';

/** The service itself, loaded while the database opens (below). */
async function loadService() {
  const [app, clients, jobs, registry] = await Promise.all([
    import('./app.ts'),
    import('./clients/index.ts'),
    import('./lib/jobs.ts'),
    import('./registry.ts'),
  ]);
  return { ...app, ...clients, ...jobs, ...registry };
}

async function start(): Promise<void> {
  // The production entry points (start:prod, worker:prod, the Docker image) pass --production.
  const config = loadConfig(processEnv(), { production: process.argv.includes('--production') });
  const log = createLogger({ level: config.logLevel, secretValues: config.secretValues });
  // Opening the embedded database is a second of WebAssembly, loading the service's modules
  // another: done side by side, they cost the start the longer of the two, not the sum.
  const [database, { buildApp, createClients, closeClients, allJobs, startJobs, unknownJobNames }] =
    await Promise.all([openDatabase(config.database), loadService()]);
  // The release phase (`npm run migrate`) migrates Postgres; doing it here too makes a bare
  // `npm start` work on a fresh database. kysely's migration lock serialises instances. On
  // Postgres a failure is not fatal: /readyz answers 503 until the database is migrated.
  await migrateToLatest(database.db).catch((error: unknown) => {
    if (database.kind === 'pglite') throw error;
    log.error({ err: error }, 'migrations failed at start; /readyz stays 503 until they are applied');
  });
  const clients = createClients(config, log);
  const jobs = allJobs({ config, db: database.db, log, clients, clock: systemClock });
  const unknown = config.jobs.web === 'all' ? [] : unknownJobNames(jobs, config.jobs.web);
  if (unknown.length > 0)
    throw new ConfigError(`invalid configuration: WEB_JOBS: no job named ${unknown.join(', ')}`);
  // On an embedded database the CLI cannot open the files while we hold them: it asks us instead.
  const embeddedDir =
    database.kind === 'pglite' &&
    config.database.kind === 'pglite' &&
    !config.database.dataDir.startsWith('memory://')
      ? config.database.dataDir
      : undefined;
  const localToken = embeddedDir ? newLocalToken() : undefined;
  const app = await buildApp({
    config,
    db: database.db,
    log,
    clients,
    ...(localToken ? { localToken } : {}),
  });
  const running = startJobs(jobs, config.jobs.web, log);
  let unpublish = async () => {};

  closeWithGrace({ delay: 10_000 }, async ({ signal, err }) => {
    if (err) log.error({ err }, 'shutting down after an uncaught error');
    else log.info({ signal }, 'shutting down');
    await unpublish();
    await running.stop();
    await app.close();
    await closeClients(clients);
    await database.close();
  });

  await app.listen({ port: config.port, host: config.host });
  const url = loopbackUrl(app.server.address());
  if (embeddedDir && localToken && url) {
    unpublish = await publishLocalServer(embeddedDir, { pid: process.pid, url, token: localToken });
  }
  log.info({ database: database.kind, jobs: running.names }, 'raptor ready');
}

start().catch((error: unknown) => {
  if (error instanceof ConfigError || error instanceof DatabaseInUseError) {
    console.error(error.message);
  } else {
    console.error('raptor failed to start:', error instanceof Error ? (error.stack ?? error.message) : error);
  }
  process.exit(1);
});
