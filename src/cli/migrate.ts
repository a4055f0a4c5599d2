import { ConfigError, loadConfig, processEnv } from '../config.ts';
import { openDatabase } from '../db/database.ts';
import { migrateToLatest } from '../db/migrate.ts';
import { DatabaseInUseError } from '../db/pglite-lock.ts';

/** The Procfile `release:` phase: applies pending migrations and says which. */
async function main(): Promise<void> {
  const config = loadConfig(processEnv());
  // A migration may rewrite a large table: no statement timeout here.
  const database = await openDatabase(config.database, { statementTimeoutMs: 0 });
  try {
    const applied = await migrateToLatest(database.db);
    console.log(applied.length ? `applied: ${applied.join(', ')}` : 'migrations are current');
  } finally {
    await database.close();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof ConfigError || error instanceof DatabaseInUseError ? error.message : error);
  process.exit(1);
});
