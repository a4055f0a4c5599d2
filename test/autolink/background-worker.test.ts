import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { pino } from 'pino';
import { expect, it, vi } from 'vitest';
import { buildApp } from '../../src/app.ts';
import { closeClients, createClients } from '../../src/clients/index.ts';
import { loadConfig } from '../../src/config.ts';
import { systemClock } from '../../src/lib/clock.ts';
import { startJobs } from '../../src/lib/jobs.ts';
import { allJobs } from '../../src/registry.ts';
import { issuePosts, notesOn, sign, startAutolinkFakes, webhookBody } from '../support/autolink.ts';
import { useFixture, useTestDatabase } from '../support/setup.ts';

const database = useTestDatabase();
const fakes = useFixture(() => startAutolinkFakes());

it('works the inbox in the web process when background jobs are on, and stops with the app', async () => {
  const config = loadConfig(fakes.env());
  const clients = createClients(config);
  const log = pino({ level: 'silent' });
  const app = await buildApp({ config, db: database.db, log, clients });
  const jobs = startJobs(allJobs({ config, db: database.db, log, clients, clock: systemClock }), 'all', log);
  try {
    const ticket = fakes.freescout.state.insertConversation({ mailboxId: 1, tags: ['bug'] });
    const raw = JSON.stringify(webhookBody(ticket));
    const answer = await app.inject({
      method: 'POST',
      url: '/api/webhooks/freescout/ops',
      headers: {
        'content-type': 'application/json',
        'x-freescout-event': 'convo.created',
        'x-freescout-signature': sign(raw),
      },
      payload: raw,
    });
    expect(answer.statusCode).toBe(202);
    await vi.waitFor(() => expect(notesOn(fakes.freescout, ticket.id)).toHaveLength(1), {
      timeout: 15_000,
      interval: 100,
    });
    expect(issuePosts(fakes.github)).toHaveLength(1);
  } finally {
    await jobs.stop();
    await app.close();
    await closeClients(clients);
  }
});

it('runs alone as `npm run worker` and shuts down cleanly on SIGTERM', async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/worker.ts'], {
    env: {
      ...process.env,
      ...fakes.env({ LOG_LEVEL: 'info' }),
      DATABASE_URL: '',
      PGLITE_DATA_DIR: 'memory://',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  await vi.waitFor(() => expect(output).toContain('raptor worker running'), {
    timeout: 30_000,
    interval: 100,
  });
  child.kill('SIGTERM');
  const [code] = await once(child, 'exit');
  expect(code).toBe(0);
  expect(output).toContain('worker shutting down');
}, 40_000);
