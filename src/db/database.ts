import { mkdir } from 'node:fs/promises';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Config } from '../config.ts';
import { PGliteDialect } from './pglite-dialect.ts';
import { LOCK_FILE, lockDataDir } from './pglite-lock.ts';
import { fillFromPgliteTemplate } from './pglite-template.ts';
import type { Database } from './schema.ts';

export type Db = Kysely<Database>;

export interface OpenDatabase {
  db: Db;
  kind: 'postgres' | 'pglite';
  close(): Promise<void>;
}

const INT8_OID = 20;
/**
 * bigint counts and ids read as numbers on both drivers. Our own serial ids stay far below
 * 2^53; Postmark's bounce `postmark_id` may pass it and is read rounded, which is why exact
 * bounce IDs are compared through `event_key` (text), never through this column.
 */
const parseInt8 = (value: string) => Number(value);

export interface OpenOptions {
  /** Postgres: put the connection in this schema (tests isolate each file in its own). */
  searchPath?: string;
  /** PGlite: start from a dump instead of running initdb (tests load one migrated template). */
  loadDataDir?: Blob;
  poolSize?: number;
  /**
   * Postgres: how long one statement may run (server side) before it fails, so a database that
   * accepts connections but stops answering turns into 503s instead of requests that never end.
   * A client-side timer backs it up for a server too stuck to cancel. `0`: no limit (migrations).
   */
  statementTimeoutMs?: number;
}

/** Serving queries are milliseconds; these bound what a hung or overloaded database costs a request. */
const STATEMENT_TIMEOUT_MS = 3_000;
const CONNECT_TIMEOUT_MS = 2_000;

export async function openDatabase(
  target: Config['database'],
  options: OpenOptions = {},
): Promise<OpenDatabase> {
  if (target.kind === 'postgres') {
    const sessionOptions = ['-c TimeZone=UTC'];
    if (options.searchPath) sessionOptions.push(`-c search_path=${options.searchPath}`);
    const statementTimeout = options.statementTimeoutMs ?? STATEMENT_TIMEOUT_MS;
    const pool = new pg.Pool({
      connectionString: target.url,
      max: options.poolSize ?? 10,
      options: sessionOptions.join(' '),
      // Covers both the TCP/startup handshake and the wait for a free client in a full pool.
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      keepAlive: true,
      ...(statementTimeout > 0
        ? { statement_timeout: statementTimeout, query_timeout: statementTimeout + 1_000 }
        : {}),
      types: {
        getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
          oid === INT8_OID
            ? parseInt8
            : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
      },
    });
    // A client losing its server (restart, failover) must not crash the process: idle clients
    // report through the pool, checked-out ones through their own 'error' event. Either way
    // the query in flight fails (→ 503) and the pool replaces the client.
    pool.on('error', () => {});
    pool.on('connect', (client) => client.on('error', () => {}));
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    return { db, kind: 'postgres', close: () => db.destroy() };
  }

  const inMemory = target.dataDir.startsWith('memory://');
  const onDisk = !inMemory && !options.loadDataDir;
  if (onDisk) await mkdir(target.dataDir, { recursive: true });
  const unlock = onDisk ? await lockDataDir(target.dataDir) : async () => {};
  // A new directory starts as a copy of the template made at install, not with initdb.
  if (onDisk) {
    await fillFromPgliteTemplate(target.dataDir, { ignore: [LOCK_FILE] }).catch(async (error: unknown) => {
      await unlock();
      throw error;
    });
  }
  const pglite = await PGlite.create({
    ...(inMemory || options.loadDataDir ? {} : { dataDir: target.dataDir }),
    ...(options.loadDataDir ? { loadDataDir: options.loadDataDir } : {}),
    parsers: { [INT8_OID]: parseInt8 },
  }).catch(async (error: unknown) => {
    await unlock();
    throw error;
  });
  await pglite.exec(`set TimeZone = 'UTC'`);
  const db = new Kysely<Database>({ dialect: new PGliteDialect(pglite) });
  return {
    db,
    kind: 'pglite',
    close: async () => {
      await db.destroy();
      await unlock();
    },
  };
}
