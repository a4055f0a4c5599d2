import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/run.ts';
import { type FakeFreeScout, startFakeFreeScout } from '../support/fake-freescout.ts';
import { useFixture } from '../support/setup.ts';
import { captureOutput } from './capture.ts';

const API_KEY = 'cli-freescout-key';
const fake = useFixture(() =>
  startFakeFreeScout({
    apiKey: API_KEY,
    mailboxes: [
      { id: 1, name: 'Support', email: 'support@raxx.test' },
      { id: 3, name: 'Operations', email: 'ops@raxx.test' },
    ],
  }),
);
const duplicated = useFixture(() =>
  startFakeFreeScout({
    apiKey: API_KEY,
    mailboxes: [
      { id: 4, name: 'Operations', email: 'ops@raxx.test' },
      { id: 7, name: 'operations', email: 'ops2@raxx.test' },
    ],
  }),
);

const envFor = (server: FakeFreeScout, apiKey = API_KEY) => ({
  FREESCOUT_API_URL: server.url,
  FREESCOUT_API_KEY: apiKey,
});

describe('cli: freescout mailboxes', () => {
  it('lists every mailbox with its id and name', async () => {
    const output = captureOutput();
    expect(await runCli(['freescout', 'mailboxes'], envFor(fake), output)).toBe(0);
    expect(output.stdout).toEqual([
      'ID  NAME        EMAIL',
      '1   Support     support@raxx.test',
      '3   Operations  ops@raxx.test',
    ]);
  });

  it('prints only the bare id of the mailbox named with --name', async () => {
    const output = captureOutput();
    expect(await runCli(['freescout', 'mailboxes', '--name', 'Operations'], envFor(fake), output)).toBe(0);
    expect(output.stdout).toEqual(['3']);
    expect(output.stderr).toEqual([]);
  });

  it('fails and names the existing mailboxes when none has that name', async () => {
    const output = captureOutput();
    expect(await runCli(['freescout', 'mailboxes', '--name', 'Billing'], envFor(fake), output)).toBe(1);
    expect(output.stdout).toEqual([]);
    expect(output.stderr.join('\n')).toMatch(/no FreeScout mailbox is named "Billing".*Support, Operations/);
  });

  it('refuses to pick between two mailboxes of the same name', async () => {
    const output = captureOutput();
    expect(await runCli(['freescout', 'mailboxes', '--name', 'Operations'], envFor(duplicated), output)).toBe(
      1,
    );
    expect(output.stdout).toEqual([]);
    expect(output.stderr.join('\n')).toContain('ids 4, 7');
  });

  it('fails with FreeScout’s reason when the key is refused, without printing the key', async () => {
    const output = captureOutput();
    expect(await runCli(['freescout', 'mailboxes'], envFor(fake, 'wrong-key-123'), output)).toBe(1);
    expect(output.stderr.join('\n')).toContain('401');
    expect(output.stderr.join('\n')).not.toContain('wrong-key-123');
  });

  it('says which variables to set when FreeScout is not configured', async () => {
    const output = captureOutput();
    expect(await runCli(['freescout', 'mailboxes'], {}, output)).toBe(1);
    expect(output.stderr).toEqual(['FREESCOUT_API_URL and FREESCOUT_API_KEY must both be set']);
  });

  it('answers an unknown command with the usage and exit code 2', async () => {
    const output = captureOutput();
    expect(await runCli(['freescout', 'users'], envFor(fake), output)).toBe(2);
    expect(output.stderr.join('\n')).toContain('usage: npm run -s cli');
  });

  it('prints the bare id through npm run cli, as the runbook uses it', async () => {
    const { stdout } = await promisify(execFile)(
      'npm',
      ['run', '-s', 'cli', '--', 'freescout', 'mailboxes', '--name', 'Operations'],
      { env: { ...process.env, ...envFor(fake), DATABASE_URL: '' } },
    );
    expect(stdout).toBe('3\n');
  });
});
