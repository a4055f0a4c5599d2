import { open, readFile, rm } from 'node:fs/promises';
import path from 'node:path';

/** Another live process has the embedded database open. */
export class DatabaseInUseError extends Error {
  override name = 'DatabaseInUseError';
  constructor(
    message: string,
    /** The live process holding it, when known. */
    readonly holder?: number,
  ) {
    super(message);
  }
}

/** The lock's file in the data directory. */
export const LOCK_FILE = 'raptor.pid';

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Claims an embedded database directory for this process. PGlite is one process's database:
 * a second process (a worker next to the web process, or a second web process) opening the
 * same files would corrupt them. A lock left by a dead process (or by an earlier run that had
 * our pid, as PID 1 in a restarted container) is taken over. Resolves to the release function.
 */
export async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  const lockPath = path.join(dataDir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(lockPath, 'wx');
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      return () => rm(lockPath, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = Number.parseInt(await readFile(lockPath, 'utf8').catch(() => ''), 10);
    if (Number.isInteger(holder) && holder !== process.pid && isAlive(holder)) {
      throw new DatabaseInUseError(
        `the embedded database in ${dataDir} is in use by process ${holder}: PGlite serves one process only. ` +
          'Stop that process, or set DATABASE_URL to a Postgres database to run the web process and the worker side by side.',
        holder,
      );
    }
    await rm(lockPath, { force: true });
  }
  throw new DatabaseInUseError(`could not lock the embedded database in ${dataDir} (${lockPath})`);
}
