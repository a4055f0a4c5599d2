import { randomBytes } from 'node:crypto';
import { open, readFile, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

/**
 * How the CLI reaches a server that holds the embedded database. PGlite serves one process, so
 * while `npm start` runs, a CLI command cannot open the database; it asks the server instead,
 * through the server's internal routes on loopback. The server publishes, in the data directory,
 * its loopback URL and a token made at its start (file mode 0600). The token passes the internal
 * routes' guard from loopback clients only: it proves its holder can read the database's own
 * directory, which already gives everything these routes give.
 */
export interface LocalServer {
  pid: number;
  url: string;
  token: string;
}

export const LOCAL_SERVER_FILE = 'raptor.server.json';

export function newLocalToken(): string {
  return randomBytes(32).toString('base64url');
}

/** The URL a process on this host reaches the listening server at (a wildcard address means loopback). */
export function loopbackUrl(address: AddressInfo | string | null): string | undefined {
  if (address === null || typeof address === 'string') return undefined;
  if (address.address === '0.0.0.0' || address.address === '::' || /^(::ffff:)?127\./.test(address.address)) {
    return `http://127.0.0.1:${address.port}`;
  }
  if (address.address === '::1') return `http://[::1]:${address.port}`;
  return undefined;
}

/** Writes the server's entry; resolves to the function that removes it (at shutdown). */
export async function publishLocalServer(dataDir: string, server: LocalServer): Promise<() => Promise<void>> {
  const file = path.join(dataDir, LOCAL_SERVER_FILE);
  await rm(file, { force: true });
  const handle = await open(file, 'wx', 0o600);
  try {
    await handle.writeFile(`${JSON.stringify(server)}\n`);
  } finally {
    await handle.close();
  }
  return () => rm(file, { force: true });
}

/** The server published in `dataDir` by process `pid` (the lock's holder), if that is what holds it. */
export async function findLocalServer(dataDir: string, pid: number): Promise<LocalServer | undefined> {
  const text = await readFile(path.join(dataDir, LOCAL_SERVER_FILE), 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    const entry = JSON.parse(text) as Partial<LocalServer>;
    if (entry.pid !== pid || typeof entry.url !== 'string' || typeof entry.token !== 'string')
      return undefined;
    return { pid, url: entry.url, token: entry.token };
  } catch {
    return undefined;
  }
}
