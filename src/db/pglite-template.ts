import { readFileSync } from 'node:fs';
import { copyFile, mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { Kysely } from 'kysely';
import { migrateToLatest } from './migrate.ts';
import { PGliteDialect } from './pglite-dialect.ts';
import type { Database } from './schema.ts';

/**
 * A prepared embedded database: PGlite's initdb (seconds of WebAssembly) and the migrations,
 * done once at `npm install` (the postinstall script) instead of at the first `npm start`,
 * which copies the files instead. It lives beside the PGlite that made it, under
 * `node_modules/.cache/raptor/`, named by PGlite's version: reinstalling or upgrading PGlite
 * never leaves a template of another version in use.
 */
export function pgliteTemplateDir(): string {
  const require = createRequire(import.meta.url);
  const packageDir = path.resolve(path.dirname(require.resolve('@electric-sql/pglite/pglite.wasm')), '..');
  const { version } = JSON.parse(readFileSync(path.join(packageDir, 'package.json'), 'utf8')) as {
    version: string;
  };
  return path.join(packageDir, '..', '..', '.cache', 'raptor', `pglite-${version}-template`);
}

/** PGlite's own test for "a database is here". */
const DATABASE_MARKER = 'PG_VERSION';

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}

/** Creates the template unless it exists; built aside and renamed into place, so it is whole or absent. */
export async function preparePgliteTemplate(templateDir = pgliteTemplateDir()): Promise<boolean> {
  if (await exists(path.join(templateDir, DATABASE_MARKER))) return false;
  const building = `${templateDir}.${process.pid}.building`;
  await rm(building, { recursive: true, force: true });
  await mkdir(building, { recursive: true });
  try {
    const pglite = await PGlite.create({ dataDir: building });
    const db = new Kysely<Database>({ dialect: new PGliteDialect(pglite) });
    await migrateToLatest(db);
    await db.destroy();
    await rm(templateDir, { recursive: true, force: true });
    await rename(building, templateDir);
    return true;
  } finally {
    await rm(building, { recursive: true, force: true });
  }
}

/** The files of `from` into `to`, in parallel (1,100 small files: one at a time is the slow part). */
async function copyTree(from: string, to: string, skipTopLevel?: string): Promise<void> {
  await mkdir(to, { recursive: true });
  const entries = await readdir(from, { withFileTypes: true });
  await Promise.all(
    entries
      .filter((entry) => entry.name !== skipTopLevel)
      .map((entry) =>
        entry.isDirectory()
          ? copyTree(path.join(from, entry.name), path.join(to, entry.name))
          : copyFile(path.join(from, entry.name), path.join(to, entry.name)),
      ),
  );
}

/**
 * Fills an empty data directory from the template, if there is one. Only an empty directory
 * (`ignore`: our own lock file) is filled, and `PG_VERSION` is copied last: a copy cut short
 * leaves no database PGlite would open, and the next start falls back to initdb.
 */
export async function fillFromPgliteTemplate(
  dataDir: string,
  options: { ignore: string[]; templateDir?: string },
): Promise<boolean> {
  const templateDir = options.templateDir ?? pgliteTemplateDir();
  if (!(await exists(path.join(templateDir, DATABASE_MARKER)))) return false;
  const present = (await readdir(dataDir)).filter((name) => !options.ignore.includes(name));
  if (present.length > 0) return false;
  await copyTree(templateDir, dataDir, DATABASE_MARKER);
  await copyFile(path.join(templateDir, DATABASE_MARKER), path.join(dataDir, DATABASE_MARKER));
  return true;
}
