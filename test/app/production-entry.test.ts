import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';

/** The environment of this run, less the database settings a test decides on. */
function envWithout(...names: string[]): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...process.env };
  for (const name of names) delete env[name];
  return env;
}

describe('production entry points and the embedded database', () => {
  it('refuses an embedded database in its default directory, naming PGLITE_DATA_DIR', () => {
    expect(() => loadConfig({}, { production: true })).toThrow(/^invalid configuration: PGLITE_DATA_DIR: /);
  });

  it('accepts Postgres, or an embedded database placed explicitly', () => {
    const postgres = loadConfig(
      { DATABASE_URL: 'postgres://raptor@db.example/raptor' },
      { production: true },
    );
    expect(postgres.database.kind).toBe('postgres');
    const placed = loadConfig({ PGLITE_DATA_DIR: '/var/lib/raptor/pglite' }, { production: true });
    expect(placed.database).toEqual({ kind: 'pglite', dataDir: '/var/lib/raptor/pglite' });
  });

  it('keeps the default directory for npm start (no --production)', () => {
    expect(loadConfig({}).database).toEqual({ kind: 'pglite', dataDir: './.data/pglite' });
  });

  it('stops `server.ts --production` with one line and exit 1, before opening anything', async () => {
    const failure = await promisify(execFile)('node', ['--import', 'tsx', 'src/server.ts', '--production'], {
      env: envWithout('DATABASE_URL', 'PGLITE_DATA_DIR'),
    }).then(
      () => undefined,
      (error: { code: number; stderr: string }) => error,
    );
    expect(failure?.code).toBe(1);
    expect(failure?.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^invalid configuration: PGLITE_DATA_DIR: .*DATABASE_URL/),
    ]);
  });

  it('is what start:prod, worker:prod, the Procfile and the Docker image run, with a volume for the data', async () => {
    const scripts = JSON.parse(await readFile('package.json', 'utf8')).scripts as Record<string, string>;
    expect(scripts['start:prod']).toMatch(/dist\/src\/server\.js --production$/);
    expect(scripts['worker:prod']).toMatch(/dist\/src\/worker\.js --production$/);
    const procfile = await readFile('Procfile', 'utf8');
    expect(procfile).toMatch(/^web: npm run start:prod$/m);
    expect(procfile).toMatch(/^worker: npm run worker:prod$/m);
    const dockerfile = await readFile('Dockerfile', 'utf8');
    expect(dockerfile).toMatch(/^VOLUME \/app\/\.data$/m);
    expect(dockerfile).toMatch(/^CMD \[.*"dist\/src\/server\.js", "--production"\]$/m);
    expect(dockerfile).not.toMatch(/^ENV .*PGLITE_DATA_DIR/m);
  });
});
