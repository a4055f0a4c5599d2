import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/run.ts';
import { loadConfig } from '../../src/config.ts';
import { DatabaseInUseError, lockDataDir } from '../../src/db/pglite-lock.ts';
import { captureOutput } from '../cli/capture.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { startAutolinkFakes, startAutolinkInstance } from '../support/autolink.ts';
import { useFixture, useTestApp, useTestDatabase } from '../support/setup.ts';

const run = promisify(execFile);

const database = useTestDatabase();

/** Runs a process entry point and resolves to its exit code and the lines it wrote to stderr. */
async function exitOf(entry: string, env: Record<string, string>) {
  const failure = await run('node', ['--import', 'tsx', entry], {
    env: { ...process.env, DATABASE_URL: '', PGLITE_DATA_DIR: 'memory://', ...env },
    timeout: 60_000,
  }).then(
    () => ({ code: 0, stderr: '' }),
    (error: { code: number; stderr: string }) => error,
  );
  return { code: failure.code, lines: failure.stderr.split('\n').filter((line) => line.trim() !== '') };
}

describe('configuration that cannot work stops the start with one line naming the variable', () => {
  it.each([
    ['DATABASE_URL', 'not-a-url'],
    ['DATABASE_URL', 'mysql://db.example/raptor'],
    ['FREESCOUT_API_URL', 'ftp://x'],
    ['FREESCOUT_PUBLIC_URL', 'javascript:alert(1)'],
    ['SLACK_API_URL', 'file:///etc/passwd'],
    ['GITHUB_API_URL', 'not a url'],
    ['ALERTS_SOURCE_URL', 'ftp://alerts'],
  ])('refuses %s=%s', (variable, value) => {
    expect(() => loadConfig({ [variable]: value })).toThrow(
      new RegExp(`^invalid configuration: ${variable}: `),
    );
  });

  it.each([
    ['DATABASE_URL', 'not-a-url'],
    ['FREESCOUT_API_URL', 'ftp://x'],
  ])(
    'npm start with %s=%s prints one line and exits non-zero',
    async (variable, value) => {
      const { code, lines } = await exitOf('src/server.ts', { [variable]: value });
      expect(code).toBe(1);
      expect(lines).toEqual([expect.stringMatching(new RegExp(`^invalid configuration: ${variable}: `))]);
    },
    60_000,
  );

  it('accepts postgres:// and postgresql:// database URLs', () => {
    for (const url of ['postgres://u:p@db:5432/raptor', 'postgresql://db/raptor']) {
      expect(loadConfig({ DATABASE_URL: url }).database).toEqual({ kind: 'postgres', url });
    }
  });
});

describe('internal routes with no credential configured', () => {
  const warning = /internal routes trust every loopback client/;
  let apps: TestApp[] = [];
  afterAll(async () => {
    for (const app of apps) await app.close();
    apps = [];
  });

  it('warns at start that every loopback client is trusted', async () => {
    const app = await startTestApp({ db: database.db });
    apps.push(app);
    expect(app.logs).toContainEqual(
      expect.objectContaining({ level: 40, msg: expect.stringMatching(warning) }),
    );
  });

  it('does not warn when a bearer token is configured', async () => {
    const app = await startTestApp({ db: database.db, env: { INTERNAL_API_TOKEN: 'internal-token-123' } });
    apps.push(app);
    expect(app.logs.filter((line) => warning.test(String(line.msg)))).toEqual([]);
  });
});

describe('one process per embedded database', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'raptor-lock-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses to start the worker on a PGlite directory a live process holds, saying why', async () => {
    const release = await lockDataDir(dir);
    try {
      const { code, lines } = await exitOf('src/worker.ts', { PGLITE_DATA_DIR: dir });
      expect(code).toBe(1);
      expect(lines).toEqual([expect.stringContaining(`in use by process ${process.pid}`)]);
      expect(lines[0]).toContain('DATABASE_URL');
    } finally {
      await release();
    }
  }, 60_000);

  it('refuses a second claim in the same process tree and takes over a lock left by a dead process', async () => {
    const release = await lockDataDir(dir);
    const { spawn } = await import('node:child_process');
    const child = spawn('node', [
      '-e',
      `require('node:fs').writeFileSync(${JSON.stringify(path.join(dir, 'x'))}, '')`,
    ]);
    await new Promise((resolve) => child.once('exit', resolve));
    await release();
    // The child has exited: its pid now names no live process.
    await writeFile(path.join(dir, 'raptor.pid'), `${child.pid}\n`);
    const again = await lockDataDir(dir);
    await again();
    await writeFile(path.join(dir, 'raptor.pid'), `${process.ppid}\n`);
    await expect(lockDataDir(dir)).rejects.toBeInstanceOf(DatabaseInUseError);
    await rm(path.join(dir, 'raptor.pid'));
  });
});

describe('the operator CLI', () => {
  it('prints the usage and exits 2 when given no command', async () => {
    const output = captureOutput();
    expect(await runCli([], {}, output)).toBe(2);
    expect(output.stderr.join('\n')).toContain('usage: npm run -s cli');
  });

  it('prints the usage and exits 0 when asked for help', async () => {
    const output = captureOutput();
    expect(await runCli(['--help'], {}, output)).toBe(0);
    expect(output.stdout.join('\n')).toContain('usage: npm run -s cli');
  });
});

describe('the OpenAPI document', () => {
  const app = useTestApp(() => ({ db: database.db }));
  // biome-ignore lint/suspicious/noExplicitAny: the OpenAPI document is walked as plain JSON
  let paths: Record<string, Record<string, any>>;
  beforeAll(async () => {
    paths = (await app.app.inject({ url: '/docs/openapi.json' })).json().paths;
  });

  it('declares the security scheme and 401 of every internal route', () => {
    const internal = Object.entries(paths).filter(([url]) =>
      /^\/api\/(_internal|internal\/(audit|rbac)|console)\//.test(url),
    );
    expect(internal.length).toBeGreaterThan(4);
    for (const [url, operations] of internal) {
      for (const [method, operation] of Object.entries(operations)) {
        expect({ url, method, security: operation.security }).toEqual({
          url,
          method,
          security: [{ internalToken: [] }, { cfAccess: [] }],
        });
        expect(Object.keys(operation.responses)).toEqual(expect.arrayContaining(['401', '404']));
      }
    }
  });

  it('documents each webhook body and its 401, 404, 413 and 415', () => {
    for (const url of [
      '/webhooks/postmark/delivery',
      '/api/internal/freescout-webhook/audit',
      '/api/internal/freescout-webhook/rbac',
      '/api/webhooks/freescout/ops',
      '/api/webhooks/freescout/support',
    ]) {
      const operation = paths[url]?.post;
      expect(operation?.requestBody?.content?.['application/json']).toBeDefined();
      expect(Object.keys(operation?.responses ?? {})).toEqual(
        expect.arrayContaining(['200', '400', '401', '404', '413', '415', '503']),
      );
    }
  });
});

describe('autolink event names', () => {
  const fakes = useFixture(() => startAutolinkFakes());
  const instance = useFixture(() => startAutolinkInstance(database.db, fakes));

  it.each(['Convo.Created', 'CONVO.STATUS', ' convo.created '])(
    'reads %s as FreeScout’s event',
    async (event) => {
      const answer = await instance.deliver(event, {
        id: 31,
        status: 'closed',
        closedAt: '2026-11-24T10:00:00Z',
      });
      expect(answer).toEqual({ status: 202, body: { ok: true, delivery_id: expect.any(Number) } });
    },
  );
});
