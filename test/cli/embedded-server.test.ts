import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { LOCAL_SERVER_FILE } from '../../src/lib/local-server.ts';
import { type FakeFreeScout, startFakeFreeScout } from '../support/fake-freescout.ts';
import { conversationPayload, sign } from '../support/freescout-delivery.ts';

/**
 * The runbook's steps with `npm start` running on the default embedded database: the real server
 * process holds the PGlite directory, and the real CLI process, which cannot open it, does each
 * step through the server. The CLI is given neither the internal token nor FreeScout's settings:
 * what it needs comes from the server it finds in the data directory.
 */

const PORT = 19_510;
const API_KEY = 'embedded-cli-key';
const SECRET = 'embedded-cli-audit-secret';
const AUDIT_ROUTE = '/api/internal/freescout-webhook/audit';

let dataDir: string;
let freescout: FakeFreeScout;
let server: ChildProcess;
let serverOutput = '';
const serverUrl = `http://127.0.0.1:${PORT}`;

/** The environment of this run without anything that would point either process elsewhere. */
function baseEnv(): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...process.env };
  for (const name of Object.keys(env)) {
    if (/^(DATABASE_URL|PGLITE_DATA_DIR|INTERNAL_API_TOKEN|CF_ACCESS_|FREESCOUT_|FLAG_|PORT|HOST)/.test(name))
      delete env[name];
  }
  return env;
}

async function cli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const run = promisify(execFile)('node', ['--import', 'tsx', 'src/cli/index.ts', ...argv], {
    env: { ...baseEnv(), PGLITE_DATA_DIR: dataDir },
  });
  return run.then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => ({
      code: error.code,
      stdout: error.stdout,
      stderr: error.stderr,
    }),
  );
}

async function postAudit(body: Record<string, unknown>, secret = SECRET): Promise<number> {
  const raw = JSON.stringify(body);
  const response = await fetch(`${serverUrl}${AUDIT_ROUTE}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-freescout-event': 'convo.status',
      'x-freescout-signature': sign(raw, secret),
    },
    body: raw,
  });
  return response.status;
}

function stopServer(): Promise<number | null> {
  if (server.exitCode !== null) return Promise.resolve(server.exitCode);
  const exited = new Promise<number | null>((resolve) => server.once('exit', (code) => resolve(code)));
  server.kill('SIGTERM');
  return exited;
}

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'raptor-embedded-cli-'));
  freescout = await startFakeFreeScout({ apiKey: API_KEY });
  server = spawn('node', ['--import', 'tsx', 'src/server.ts'], {
    env: {
      ...baseEnv(),
      PORT: String(PORT),
      HOST: '127.0.0.1',
      PGLITE_DATA_DIR: dataDir,
      LOG_LEVEL: 'info',
      // The operator's token exists, but the CLI below is not given it.
      INTERNAL_API_TOKEN: 'embedded-cli-operator-token',
      FREESCOUT_API_URL: freescout.url,
      FREESCOUT_API_KEY: API_KEY,
      FLAG_FREESCOUT_WEBHOOK_RECEIVE: '1',
      FREESCOUT_AUDIT_WEBHOOK_SECRET: SECRET,
    },
  });
  server.stdout?.on('data', (chunk: Buffer) => {
    serverOutput += chunk.toString();
  });
  server.stderr?.on('data', (chunk: Buffer) => {
    serverOutput += chunk.toString();
  });
  await vi.waitFor(
    async () => {
      if (server.exitCode !== null) throw new Error(`the server exited: ${serverOutput}`);
      expect((await fetch(`${serverUrl}/readyz`)).status).toBe(200);
    },
    { timeout: 90_000, interval: 200 },
  );
}, 120_000);

afterAll(async () => {
  if (server) await stopServer();
  await freescout?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('runbook steps while npm start holds the embedded database', () => {
  it('registers, re-registers and removes a FreeScout webhook through the running server', async () => {
    const first = await cli(
      'freescout',
      'webhooks',
      'register',
      '--feature',
      'audit',
      '--url',
      'https://api.raxx.test',
    );
    expect(first).toMatchObject({ code: 0 });
    expect(first.stderr).toContain(`running server (process ${server.pid})`);
    const [webhook] = freescout.state.webhooks();
    expect(webhook?.url).toBe(`https://api.raxx.test${AUDIT_ROUTE}`);
    expect(first.stdout.split('\n')[0]).toBe(
      `registered FreeScout webhook ${webhook?.id} for audit: https://api.raxx.test${AUDIT_ROUTE}`,
    );

    const again = await cli(
      'freescout',
      'webhooks',
      'register',
      '--feature',
      'audit',
      '--url',
      'https://api.raxx.test',
    );
    expect(again.code).toBe(0);
    expect(freescout.state.webhooks()).toHaveLength(1);
    expect(again.stdout).toContain(`removed the webhook it replaces (${webhook?.id})`);

    const removed = await cli('freescout', 'webhooks', 'remove', '--feature', 'audit');
    expect(removed.code).toBe(0);
    expect(removed.stdout).toMatch(
      /^removed FreeScout webhook \d+ \(https:\/\/api\.raxx\.test\/api\/internal\/freescout-webhook\/audit\)$/m,
    );
    expect(freescout.state.webhooks()).toEqual([]);
    const nothing = await cli('freescout', 'webhooks', 'remove', '--feature', 'audit');
    expect(nothing).toMatchObject({ code: 0, stdout: expect.stringContaining('nothing to remove') });
  }, 120_000);

  it('shows a ticket’s cache row and its age once its status change arrived, and exits 1 for a ticket with none', async () => {
    const updatedAt = new Date(Date.now() - 30_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    expect(await postAudit(conversationPayload({ id: 1042, status: 'closed', updatedAt }))).toBe(200);

    const row = await cli('freescout', 'cache', '--ticket', '1042');
    expect(row.code).toBe(0);
    const [header, line] = row.stdout.trim().split('\n');
    expect(header).toMatch(/^TICKET\s+STATUS\s+SOURCE\s+UPDATED IN FREESCOUT\s+CHANGED\s+WRITTEN\s+EXPIRES$/);
    expect(line).toMatch(
      new RegExp(`^1042\\s+closed\\s+webhook\\s+${updatedAt}\\s+\\d+ s ago\\s+\\d+ s ago\\s+20`),
    );

    const newest = await cli('freescout', 'cache', '--limit', '5');
    expect(newest.code).toBe(0);
    expect(newest.stdout).toMatch(/^1042\s+closed/m);

    const missing = await cli('freescout', 'cache', '--ticket', '999');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no cache row for ticket 999');
  }, 120_000);

  it('lists the delivery log, filtered by route and by status', async () => {
    expect(await postAudit(conversationPayload({ id: 1043, status: 'active' }), 'not-the-secret')).toBe(401);

    const audit = await cli('deliveries', '--route', AUDIT_ROUTE, '--limit', '10');
    expect(audit.code).toBe(0);
    expect(audit.stdout.split('\n')[0]).toMatch(
      /^RECEIVED\s+ROUTE\s+EVENT\s+STATUS\s+OUTCOME\s+MS\s+DELIVERY ID\s+DETAIL$/,
    );
    expect(audit.stdout).toMatch(new RegExp(`${AUDIT_ROUTE}\\s+convo\\.status\\s+200\\s+processed`));

    const refused = await cli('deliveries', '--status', '4xx');
    expect(refused.code).toBe(0);
    expect(refused.stdout).toMatch(new RegExp(`${AUDIT_ROUTE}\\s+convo\\.status\\s+401\\s+rejected`));
    expect(refused.stdout).not.toMatch(/\s200\s+processed/);

    const bad = await cli('deliveries', '--status', 'sometimes');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^--status: /);
  }, 120_000);

  it('refuses the server’s token from anyone who does not present it', async () => {
    const response = await fetch(`${serverUrl}/api/_internal/freescout/ticket-cache`, {
      headers: { authorization: 'Bearer guessed' },
    });
    expect(response.status).toBe(401);
    const published = await stat(path.join(dataDir, LOCAL_SERVER_FILE));
    expect(published.mode & 0o077).toBe(0);
  });

  it('opens the database itself once the server has stopped', async () => {
    expect(await stopServer()).toBe(0);
    await expect(stat(path.join(dataDir, LOCAL_SERVER_FILE))).rejects.toThrow();
    const row = await cli('freescout', 'cache', '--ticket', '1042');
    expect(row.code).toBe(0);
    expect(row.stderr).not.toContain('running server');
    expect(row.stdout).toMatch(/^1042\s+closed\s+webhook/m);
  }, 120_000);
});
