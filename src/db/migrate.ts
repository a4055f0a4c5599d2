import { type Kysely, Migrator, sql } from 'kysely';
import { migrations } from '../../migrations/index.ts';

function migratorFor<T>(db: Kysely<T>): Migrator {
  return new Migrator({ db, provider: { getMigrations: async () => migrations } });
}

/** Applies every pending migration; throws with the failing migration's name. */
export async function migrateToLatest<T>(db: Kysely<T>): Promise<string[]> {
  const { error, results = [] } = await migratorFor(db).migrateToLatest();
  const failed = results.find((result) => result.status === 'Error');
  if (error) {
    throw new Error(`migration ${failed?.migrationName ?? '(unknown)'} failed`, { cause: error });
  }
  return results.map((result) => result.migrationName);
}

/** Names of the migrations this build ships. */
const shippedMigrations = Object.keys(migrations);

/** True when the database has every migration this build ships. */
export async function migrationsAreCurrent<T>(db: Kysely<T>): Promise<boolean> {
  const applied = await sql<{ name: string }>`select name from kysely_migration`
    .execute(db)
    .catch(() => ({ rows: [] }));
  const names = new Set(applied.rows.map((row) => row.name));
  return shippedMigrations.every((name) => names.has(name));
}
