import { describe, expect, it } from 'vitest';
import {
  drain,
  ISSUE_URL_FIELD_ID,
  issuePosts,
  issueUrlShown,
  notesOn,
  OPERATIONS_ISSUE_URL_FIELD_ID,
  PUBLIC_URL,
  startAutolinkInstance,
  useAutolink,
  webhookBody,
} from '../support/autolink.ts';

const { database, fakes, instance } = useAutolink();

async function outcomeOf(deliveryId: unknown) {
  const row = await database.db
    .selectFrom('autolink_delivery')
    .select(['status', 'outcome'])
    .where('id', '=', Number(deliveryId))
    .executeTakeFirstOrThrow();
  return row;
}

describe('a qualifying new ticket', () => {
  it('opens one labelled issue, writes its URL back and adds the internal note', async () => {
    const ticket = fakes.freescout.state.insertConversation({
      mailboxId: 2,
      subject: 'Status page shows degraded API',
      tags: ['auto:status', 'bug'],
      customer: { email: 'alice.customer@example.com', firstName: 'Alice', lastName: 'Customer' },
    });
    const delivered = await instance.deliver('convo.created', webhookBody(ticket));
    expect(delivered).toEqual({ status: 202, body: { ok: true, delivery_id: expect.any(Number) } });

    await drain(instance, fakes.clock);

    const [issue, ...others] = fakes.github.state.issues();
    expect(others).toHaveLength(0);
    expect(issue?.title).toBe(`[FreeScout #${ticket.number}] Status page shows degraded API`);
    expect(issue?.labels).toEqual(expect.arrayContaining(['freescout-linked', 'ops', 'bug']));
    expect(issue?.body).toContain(`${PUBLIC_URL}/conversation/${ticket.id}`);
    expect(issue?.body).toContain('Mailbox: Operations (2)');
    expect(issue?.body).toContain('`auto:status`');
    expect(issue?.body).not.toMatch(/alice|customer@/i);
    expect(issue?.state).toBe('open');

    const issueUrl = `${fakes.github.url}/raxx-app/TradeMasterAPI/issues/${issue?.number}`;
    // Operations' own field: the one FreeScout shows for a ticket of that mailbox.
    expect(issueUrlShown(fakes.freescout, ticket.id)).toBe(issueUrl);
    expect(fakes.freescout.state.conversation(ticket.id)?.customFieldValues).toEqual({
      [OPERATIONS_ISSUE_URL_FIELD_ID]: issueUrl,
    });
    expect(notesOn(fakes.freescout, ticket.id).map((note) => note.body)).toEqual([
      `GitHub issue #${issue?.number} filed: ${issueUrl}`,
    ]);
    expect(await outcomeOf(delivered.body.delivery_id)).toEqual({ status: 'done', outcome: 'issue_created' });
  });

  it('maps feature_request to the enhancement label and keeps email addresses out of the title', async () => {
    const ticket = fakes.freescout.state.insertConversation({
      mailboxId: 1,
      subject: 'Please add export (reply to bob@example.org)',
      tags: ['feature_request'],
    });
    await instance.deliver('conversation.created', webhookBody(ticket), { source: 'support' });
    await drain(instance, fakes.clock);
    const issue = fakes.github.state.issues().at(-1);
    expect(issue?.labels).toEqual(['freescout-linked', 'enhancement']);
    expect(issue?.title).toBe(`[FreeScout #${ticket.number}] Please add export (reply to [email removed])`);
  });

  it('reads the ticket fresh from FreeScout rather than trusting the delivery', async () => {
    const ticket = fakes.freescout.state.insertConversation({ mailboxId: 1, tags: [] });
    // The delivery claims a trigger tag the ticket does not have.
    const forged = { ...webhookBody(ticket), tags: [{ id: 1, name: 'bug' }] };
    const delivered = await instance.deliver('convo.created', forged);
    await drain(instance, fakes.clock);
    expect(fakes.github.requests).toHaveLength(0);
    expect(await outcomeOf(delivered.body.delivery_id)).toEqual({
      status: 'done',
      outcome: 'skipped:no_trigger',
    });
  });
});

describe('a ticket that does not meet the criteria', () => {
  const cases = [
    { name: 'has no trigger tag', seed: { mailboxId: 1, tags: ['billing'] }, reason: 'no_trigger' },
    {
      name: 'is in a mailbox not enabled',
      seed: { mailboxId: 9, tags: ['bug'] },
      reason: 'mailbox_not_enabled',
    },
    {
      name: 'already has a github_issue_url',
      seed: {
        mailboxId: 1,
        tags: ['bug'],
        customFields: [
          { id: ISSUE_URL_FIELD_ID, value: 'https://github.com/raxx-app/TradeMasterAPI/issues/9' },
        ],
      },
      reason: 'already_linked',
    },
    {
      name: 'came from GitHub (_from_github)',
      seed: { mailboxId: 1, tags: ['bug', '_from_github'] },
      reason: 'from_github',
    },
  ];

  for (const { name, seed, reason } of cases) {
    it(`makes no GitHub call when the ticket ${name}`, async () => {
      const ticket = fakes.freescout.state.insertConversation(seed);
      const delivered = await instance.deliver('convo.created', webhookBody(ticket));
      await drain(instance, fakes.clock);
      expect(fakes.github.requests).toHaveLength(0);
      expect(notesOn(fakes.freescout, ticket.id)).toHaveLength(0);
      expect(await outcomeOf(delivered.body.delivery_id)).toEqual({
        status: 'done',
        outcome: `skipped:${reason}`,
      });
    });
  }
});

describe('the keyword trigger', () => {
  it('is off by default: a keyword in the subject alone opens nothing', async () => {
    const ticket = fakes.freescout.state.insertConversation({ mailboxId: 1, subject: 'App crash on login' });
    await instance.deliver('convo.created', webhookBody(ticket));
    await drain(instance, fakes.clock);
    expect(issuePosts(fakes.github)).toHaveLength(0);
  });

  it('opens an issue for an untagged ticket whose text matches FREESCOUT_AUTOLINK_KEYWORDS', async () => {
    const withKeywords = await startAutolinkInstance(database.db, fakes, {
      FREESCOUT_AUTOLINK_KEYWORDS: 'crash, broken',
    });
    try {
      const ticket = fakes.freescout.state.insertConversation({
        mailboxId: 1,
        subject: 'Login trouble',
        threads: [{ type: 'customer', text: 'The app is broken since this morning' }],
      });
      await withKeywords.deliver('convo.created', webhookBody(ticket));
      await drain(withKeywords, fakes.clock);
      expect(issuePosts(fakes.github)).toHaveLength(1);
      expect(fakes.github.state.issues().at(-1)?.body).toContain('Matched keywords: broken');
    } finally {
      await withKeywords.close();
    }
  });
});
