import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { sql } from 'kysely';
import pg from 'pg';
import { inject } from 'vitest';
import { type OpenDatabase, openDatabase } from '../../src/db/database.ts';
import { migrateToLatest } from '../../src/db/migrate.ts';

export interface TestDatabase extends OpenDatabase {
  /** Postgres only: the isolated schema, so a second "instance" can open the same data. */
  schema?: string;
  /** A second connection to the same data, as another app instance would have. */
  openAnother(): Promise<OpenDatabase>;
}

const postgresUrl = process.env.TEST_DATABASE_URL;
/** Advisory lock key held while test files create/migrate (shared) or drop (exclusive) schemas. */
const SCHEMA_LOCK = 7_245_019;

async function connectAdmin(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return client;
}

/**
 * A migrated database of its own for one test file: a fresh schema on the shared Postgres
 * when `TEST_DATABASE_URL` is set, otherwise an embedded PGlite loaded from the run's template.
 */
export async function openTestDatabase(): Promise<TestDatabase> {
  if (postgresUrl) {
    const schema = `t_${process.pid}_${randomBytes(4).toString('hex')}`;
    const target = { kind: 'postgres', url: postgresUrl } as const;
    // Kysely's migrator reads every schema's tables (`has_schema_privilege(nspname, …)`), which
    // fails when another test file drops its schema in the middle of that read: files migrate
    // under a shared advisory lock and drop under the exclusive one.
    const admin = await connectAdmin(postgresUrl);
    let database: OpenDatabase;
    try {
      await admin.query('select pg_advisory_lock_shared($1)', [SCHEMA_LOCK]);
      await admin.query(`create schema ${schema}`);
      database = await openDatabase(target, { searchPath: schema, poolSize: 8 });
      await migrateToLatest(database.db, schema);
    } finally {
      await admin.end();
    }
    return {
      ...database,
      schema,
      openAnother: () => openDatabase(target, { searchPath: schema, poolSize: 8 }),
      async close() {
        await database.close();
        const cleanup = await connectAdmin(postgresUrl);
        try {
          await cleanup.query('select pg_advisory_lock($1)', [SCHEMA_LOCK]);
          await cleanup.query(`drop schema ${schema} cascade`);
        } finally {
          await cleanup.end();
        }
      },
    };
  }
  const template = new Blob([await readFile(inject('pgliteTemplatePath'))]);
  const database = await openDatabase({ kind: 'pglite', dataDir: 'memory://' }, { loadDataDir: template });
  return {
    ...database,
    // One embedded instance is one process's database: a second app instance shares it.
    openAnother: async () => ({ ...database, close: async () => {} }),
  };
}

/** Empties the given tables between tests. */
export async function truncate(database: OpenDatabase, ...tables: string[]): Promise<void> {
  await sql.raw(`truncate ${tables.join(', ')} restart identity cascade`).execute(database.db);
}
