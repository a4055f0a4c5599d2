import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { useTestApp, useTestDatabase } from '../support/setup.ts';

const database = useTestDatabase();
const app = useTestApp(() => ({ db: database.db }));

describe('health', () => {
  it('answers /healthz and /readyz when the database is migrated', async () => {
    expect((await app.app.inject({ url: '/healthz' })).json()).toEqual({ status: 'ok' });
    const ready = await app.app.inject({ url: '/readyz' });
    expect(ready.statusCode).toBe(200);
  });
});

describe('error shapes', () => {
  it('answers an unknown route with a JSON 404', async () => {
    const response = await app.app.inject({ url: '/nope' });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toEqual({ error: 'not_found', message: expect.any(String) });
  });

  it('answers a body over 1 MiB with 413 and a JSON error', async () => {
    const response = await app.app.inject({
      method: 'POST',
      url: '/healthz',
      headers: { 'content-type': 'application/json' },
      payload: `{"pad":"${'x'.repeat(1024 * 1024)}"}`,
    });
    expect(response.statusCode).toBe(413);
    expect(response.json()).toMatchObject({ error: 'payload_too_large' });
  });

  it('answers a URL it cannot decode with a JSON 400', async () => {
    const response = await app.app.inject({ url: '/healthz/%zz' });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toEqual({ error: 'bad_request', message: expect.any(String) });
  });

  it('echoes a request id on every answer', async () => {
    const response = await app.app.inject({
      url: '/healthz',
      headers: { 'x-request-id': 'req-123' },
    });
    expect(response.headers['x-request-id']).toBe('req-123');
  });
});

describe('OpenAPI', () => {
  it('serves the document at /docs/openapi.json', async () => {
    const response = await app.app.inject({ url: '/docs/openapi.json' });
    expect(response.statusCode).toBe(200);
    const document = response.json();
    expect(document.openapi).toMatch(/^3\./);
    expect(Object.keys(document.paths)).toEqual(expect.arrayContaining(['/healthz', '/readyz']));
  });
});

describe('configuration', () => {
  it('names the variable of an invalid value', () => {
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(/PORT/);
    expect(() => loadConfig({ FREESCOUT_API_URL: 'not a url' })).toThrow(/FREESCOUT_API_URL/);
    expect(() => loadConfig({ FREESCOUT_CACHE_POLL_INTERVAL_SECONDS: '900' })).toThrow(
      /FREESCOUT_CACHE_POLL_INTERVAL_SECONDS/,
    );
  });

  it('reads flags as on only for 1 or true, in any case', () => {
    for (const on of ['1', 'true', 'TRUE', 'True']) {
      expect(loadConfig({ FLAG_POSTMARK_DELIVERY_MONITOR: on }).postmark.enabled).toBe(true);
    }
    for (const off of ['0', 'yes', 'on', ' true ', '', undefined]) {
      expect(loadConfig({ FLAG_POSTMARK_DELIVERY_MONITOR: off }).postmark.enabled).toBe(false);
    }
  });

  it('stops the process with one line naming the variable', async () => {
    const run = promisify(execFile)('npx', ['tsx', 'src/server.ts'], {
      env: { ...process.env, PORT: 'eighty', DATABASE_URL: '' },
    });
    const failure = await run.then(
      () => undefined,
      (error: { code: number; stderr: string }) => error,
    );
    expect(failure?.code).toBe(1);
    const lines = failure?.stderr.split('\n').filter((line) => line.trim() && !line.includes('npm warn'));
    expect(lines).toEqual([expect.stringMatching(/^invalid configuration: PORT: /)]);
  });
});

describe('graceful shutdown', () => {
  it('stops on SIGTERM, closing the database, and exits 0', async () => {
    const { spawn } = await import('node:child_process');
    const child = spawn('node', ['--import', 'tsx', 'src/server.ts'], {
      env: {
        ...process.env,
        PORT: String(40_000 + Math.floor(Math.random() * 20_000)),
        HOST: '127.0.0.1',
        DATABASE_URL: '',
        PGLITE_DATA_DIR: 'memory://',
        LOG_LEVEL: 'info',
      },
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    await vi.waitFor(() => expect(output).toContain('raptor ready'), { timeout: 30_000, interval: 100 });
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(output).toContain('shutting down');
  }, 60_000);
});
