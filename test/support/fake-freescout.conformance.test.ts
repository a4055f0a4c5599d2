import { describe, expect, it } from 'vitest';
import { startFakeFreeScout } from './fake-freescout.ts';
import { describeFreeScoutConformance } from './freescout-conformance.ts';
import { useFixture } from './setup.ts';

/**
 * The conformance cases against the fake; `npm run test:freescout` runs the same cases against
 * a real FreeScout (test/freescout-real/conformance.test.ts), so the fake cannot drift into
 * being kinder than FreeScout.
 */
const API_KEY = 'conformance-key';
const APP_KEY = 'base64:Y29uZm9ybWFuY2UtYXBwLWtleS0zMi1ieXRlcyBsb25nIQ==';
const AGENT_CREATED_DELAY_MS = 150;
const ISSUE_URL_FIELDS = { support: 11, operations: 12 };

const fake = useFixture(() =>
  startFakeFreeScout({
    apiKey: API_KEY,
    appKey: APP_KEY,
    userCreatedWebhookDelayMs: AGENT_CREATED_DELAY_MS,
    customFields: [
      { id: ISSUE_URL_FIELDS.support, mailboxId: 1, name: 'github_issue_url' },
      { id: ISSUE_URL_FIELDS.operations, mailboxId: 2, name: 'github_issue_url' },
    ],
  }),
);

describeFreeScoutConformance('fake FreeScout conforms to FreeScout 1.8.159 + API & Webhooks 1.0.82', () => ({
  url: fake.url,
  apiKey: API_KEY,
  webhookSecret: fake.webhookSecret,
  userId: 1,
  mailboxes: { support: 1, operations: 2 },
  issueUrlFields: ISSUE_URL_FIELDS,
  webhookWithinMs: 5_000,
  agentCreatedDelayMs: AGENT_CREATED_DELAY_MS,
  settleWebhooks: () => fake.state.flushWebhooks(),
  restartQueueWorker: async () => fake.state.restartQueueWorker(),
}));

describe('fake FreeScout’s own helpers behave as FreeScout’s UI does', () => {
  it('tagging in the UI (state.addTags) fires nothing and does not move updatedAt', async () => {
    const { id, updatedAt } = fake.state.insertConversation({ createdAt: '2026-01-01T00:00:00Z' });
    const before = fake.state.deliveries.length;
    fake.state.addTags(id, ['VIP']);
    await fake.state.flushWebhooks();
    expect(fake.state.conversation(id)).toMatchObject({ updatedAt, tags: [{ name: 'vip' }] });
    expect(fake.state.deliveries).toHaveLength(before);
  });

  it('keeps a value written to another mailbox’s field (customFieldValues) while showing only its own', async () => {
    const { id } = fake.state.insertConversation({ mailboxId: 1 });
    const url = 'https://github.com/o/r/issues/1';
    const written = await fetch(`${fake.url}/api/conversations/${id}/custom_fields`, {
      method: 'PUT',
      headers: { 'x-freescout-api-key': API_KEY, 'content-type': 'application/json' },
      body: JSON.stringify({ customFields: [{ id: ISSUE_URL_FIELDS.operations, value: url }] }),
    });
    expect(written.status).toBe(204);
    expect(fake.state.conversation(id)).toMatchObject({
      customFieldValues: { [ISSUE_URL_FIELDS.operations]: url },
      customFields: [{ id: ISSUE_URL_FIELDS.support, name: 'github_issue_url', value: '', text: '' }],
    });
  });
});
