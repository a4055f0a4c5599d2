import { beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/run.ts';
import { startFakeFreeScout } from '../support/fake-freescout.ts';
import { useFixture, useTestDatabase } from '../support/setup.ts';
import { captureOutput } from './capture.ts';

const API_KEY = 'cli-webhooks-key';
const database = useTestDatabase({ truncateBeforeEach: ['freescout_webhook_registration'] });
const fake = useFixture(() => startFakeFreeScout({ apiKey: API_KEY }));
beforeEach(() => fake.reset());

const env = { FREESCOUT_API_URL: '', FREESCOUT_API_KEY: API_KEY, FREESCOUT_AUTOLINK_MAILBOX_IDS: '1,2' };

async function cli(...argv: string[]) {
  const output = captureOutput();
  const code = await runCli(argv, { ...env, FREESCOUT_API_URL: fake.url }, output, { db: database.db });
  return { code, output };
}

const register = (feature: string, url = 'https://api.raxx.test') =>
  cli('freescout', 'webhooks', 'register', '--feature', feature, '--url', url);

const registrations = () =>
  database.db.selectFrom('freescout_webhook_registration').selectAll().orderBy('feature').execute();

describe('cli: freescout webhooks', () => {
  it('registers the feature’s route and events through POST /api/webhooks and remembers the id', async () => {
    const { code, output } = await register('audit', 'https://api.raxx.test/');
    expect(code).toBe(0);
    const [webhook] = fake.state.webhooks();
    expect(webhook).toMatchObject({
      url: 'https://api.raxx.test/api/internal/freescout-webhook/audit',
      events: expect.arrayContaining(['convo.created', 'convo.status', 'convo.deleted']),
    });
    expect(webhook?.events.some((event) => event.startsWith('customer.'))).toBe(false);
    expect(await registrations()).toEqual([
      expect.objectContaining({ feature: 'audit', webhook_id: webhook?.id, url: webhook?.url }),
    ]);
    expect(output.stdout[0]).toContain(`registered FreeScout webhook ${webhook?.id}`);
  });

  it('is safe to run twice: the second run replaces the webhook instead of adding one', async () => {
    await register('rbac');
    const [first] = fake.state.webhooks();
    const again = await register('rbac');
    expect(again.code).toBe(0);
    const webhooks = fake.state.webhooks();
    expect(webhooks).toHaveLength(1);
    expect(webhooks[0]?.id).not.toBe(first?.id);
    expect(webhooks[0]?.url).toBe('https://api.raxx.test/api/internal/freescout-webhook/rbac');
    expect(await registrations()).toEqual([
      expect.objectContaining({ feature: 'rbac', webhook_id: webhooks[0]?.id }),
    ]);
  });

  it('registers the autolink webhook for every mailbox and says the service filters on receipt', async () => {
    const { code, output } = await register('autolink');
    expect(code).toBe(0);
    expect(fake.state.webhooks()).toEqual([
      expect.objectContaining({
        url: 'https://api.raxx.test/api/webhooks/freescout/ops',
        events: expect.arrayContaining([
          'convo.created',
          'convo.note.created',
          'convo.customer.reply.created',
        ]),
      }),
    ]);
    // FreeScout ignores `mailboxes`: sending it would only pretend to limit the webhook.
    const [create] = fake.requests.filter((request) => request.method === 'POST');
    expect(create?.body).not.toHaveProperty('mailboxes');
    expect(output.stdout).toContain(
      'mailboxes: all (FreeScout sends this webhook for every mailbox; its API cannot limit one)',
    );
    expect(output.stdout).toContain(
      "autolink acts on mailboxes 1, 2; other mailboxes' events are answered 200 ignored on receipt",
    );
  });

  it('removes the feature’s webhook and forgets it; removing again is a no-op', async () => {
    await register('audit');
    await register('rbac');
    const removed = await cli('freescout', 'webhooks', 'remove', '--feature', 'audit');
    expect(removed.code).toBe(0);
    expect(fake.state.webhooks().map((webhook) => webhook.url)).toEqual([
      'https://api.raxx.test/api/internal/freescout-webhook/rbac',
    ]);
    expect((await registrations()).map((row) => row.feature)).toEqual(['rbac']);
    const again = await cli('freescout', 'webhooks', 'remove', '--feature', 'audit');
    expect(again.code).toBe(0);
    expect(again.output.stdout[0]).toContain('nothing to remove');
  });

  it('replaces a webhook someone deleted in FreeScout’s UI meanwhile', async () => {
    await register('audit');
    const [first] = fake.state.webhooks();
    await fetch(`${fake.url}/api/webhooks/${first?.id}`, {
      method: 'DELETE',
      headers: { 'x-freescout-api-key': API_KEY },
    });
    const again = await register('audit');
    expect(again.code).toBe(0);
    expect(fake.state.webhooks()).toHaveLength(1);
    expect(again.output.stdout.at(-1)).toContain('already gone');
  });

  it('refuses a missing or unknown feature and a missing or bad URL with exit 2, calling nothing', async () => {
    for (const argv of [
      ['freescout', 'webhooks', 'register', '--url', 'https://api.raxx.test'],
      ['freescout', 'webhooks', 'register', '--feature', 'postmark', '--url', 'https://api.raxx.test'],
      ['freescout', 'webhooks', 'register', '--feature', 'audit'],
      ['freescout', 'webhooks', 'register', '--feature', 'audit', '--url', 'ftp://api.raxx.test'],
      ['freescout', 'webhooks', 'remove'],
    ]) {
      const { code, output } = await cli(...argv);
      expect(code).toBe(2);
      expect(output.stderr[0]).toMatch(/--feature|--url/);
    }
    expect(fake.requests).toHaveLength(0);
  });
});
