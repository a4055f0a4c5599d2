import { type Kysely, Migrator, sql } from 'kysely';
import { migrations } from '../../migrations/index.ts';

/**
 * Applies every pending migration; throws with the failing migration's name. `schema` names
 * the schema of kysely's own tables when the connection's search_path is not `public`
 * (kysely looks for them across all schemas otherwise).
 */
export async function migrateToLatest<T>(db: Kysely<T>, schema?: string): Promise<string[]> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
    ...(schema ? { migrationTableSchema: schema } : {}),
  });
  const { error, results = [] } = await migrator.migrateToLatest();
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
