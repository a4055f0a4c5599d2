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

describe('per-mailbox github_issue_url fields', () => {
  it('shows each ticket’s issue URL in its own mailbox’s field, for a ticket in each of two mailboxes', async () => {
    const support = fakes.freescout.state.insertConversation({ mailboxId: 1, tags: ['bug'] });
    const operations = fakes.freescout.state.insertConversation({ mailboxId: 2, tags: ['bug'] });
    await instance.deliver('convo.created', webhookBody(support), { source: 'support' });
    await instance.deliver('convo.created', webhookBody(operations));
    await drain(instance, fakes.clock);

    const urlOf = (conversationId: number) => {
      const issue = fakes.github.state
        .issues()
        .find((candidate) => candidate.body?.includes(`ticket:${conversationId} `));
      return `${fakes.github.url}/raxx-app/TradeMasterAPI/issues/${issue?.number}`;
    };
    expect(issueUrlShown(fakes.freescout, support.id)).toBe(urlOf(support.id));
    expect(issueUrlShown(fakes.freescout, operations.id)).toBe(urlOf(operations.id));
    // Nothing went to the other mailbox's field, where FreeScout would store it unseen.
    expect(fakes.freescout.state.conversation(support.id)?.customFieldValues).toEqual({
      [ISSUE_URL_FIELD_ID]: urlOf(support.id),
    });
    expect(fakes.freescout.state.conversation(operations.id)?.customFieldValues).toEqual({
      [OPERATIONS_ISSUE_URL_FIELD_ID]: urlOf(operations.id),
    });
    // Each mailbox's fields are listed at most once (kept by the instance's client since an earlier test).
    for (const mailboxId of [1, 2]) {
      const lists = fakes.freescout.requests.filter(
        (request) => request.path === `/api/mailboxes/${mailboxId}/custom_fields`,
      );
      expect(lists.length).toBeLessThanOrEqual(1);
    }
  });

  it('counts a URL in the ticket’s own mailbox’s field as linked, and none hidden in another’s', async () => {
    const hidden = fakes.freescout.state.insertConversation({
      mailboxId: 1,
      tags: ['bug'],
      // Operations' field: stored by FreeScout, shown nowhere for a Support ticket.
      customFields: [
        { id: OPERATIONS_ISSUE_URL_FIELD_ID, value: 'https://github.com/raxx-app/TradeMasterAPI/issues/9' },
      ],
    });
    const delivered = await instance.deliver('convo.created', webhookBody(hidden));
    await drain(instance, fakes.clock);
    expect(await outcomeOf(delivered.body.delivery_id)).toEqual({ status: 'done', outcome: 'issue_created' });
    expect(issueUrlShown(fakes.freescout, hidden.id)).toMatch(/\/issues\/\d+$/);
  });

  it('opens no issue while an override names another mailbox’s field, and says why', async () => {
    const misconfigured = await startAutolinkInstance(database.db, fakes, {
      FREESCOUT_GITHUB_ISSUE_URL_FIELD_IDS: `1:${OPERATIONS_ISSUE_URL_FIELD_ID}`,
    });
    try {
      const ticket = fakes.freescout.state.insertConversation({ mailboxId: 1, tags: ['bug'] });
      const delivered = await misconfigured.deliver('convo.created', webhookBody(ticket));
      await misconfigured.runWorker();
      expect(issuePosts(fakes.github)).toHaveLength(0);
      const row = await database.db
        .selectFrom('autolink_delivery')
        .select(['status', 'last_error'])
        .where('id', '=', Number(delivered.body.delivery_id))
        .executeTakeFirstOrThrow();
      expect(row).toMatchObject({
        status: 'pending',
        last_error: expect.stringContaining(
          `FREESCOUT_GITHUB_ISSUE_URL_FIELD_IDS names field ${OPERATIONS_ISSUE_URL_FIELD_ID} for mailbox 1, which is not one of its custom fields`,
        ),
      });
    } finally {
      await misconfigured.close();
    }
  });
});

describe('webhooks about other mailboxes (FreeScout sends them all)', () => {
  const rows = () => database.db.selectFrom('autolink_delivery').selectAll().execute();

  it('answers a conversation event of a mailbox autolink does not serve 200 ignored, storing and calling nothing', async () => {
    const ticket = fakes.freescout.state.insertConversation({ mailboxId: 9, tags: ['bug'] });
    for (const event of ['convo.created', 'convo.note.created', 'convo.status']) {
      expect(await instance.deliver(event, webhookBody(ticket))).toEqual({
        status: 200,
        body: { ok: true, ignored: true },
      });
    }
    expect(await rows()).toEqual([]);
    await drain(instance, fakes.clock);
    expect(fakes.freescout.requests).toHaveLength(0);
    expect(fakes.github.requests).toHaveLength(0);
  });

  it('stores a close in another mailbox: the ticket may be linked (moved, or opened by Direction B)', async () => {
    const ticket = fakes.freescout.state.insertConversation({ mailboxId: 9, status: 'closed' });
    const delivered = await instance.deliver('convo.status', webhookBody(ticket));
    expect(delivered.status).toBe(202);
    expect(await rows()).toHaveLength(1);
  });

  it('stores a body without a mailboxId (a Workflows event) and lets the worker decide', async () => {
    const ticket = fakes.freescout.state.insertConversation({ mailboxId: 9, tags: ['bug'] });
    const { mailboxId: _mailboxId, ...body } = webhookBody(ticket);
    const delivered = await instance.deliver('workflow.escalate', body);
    expect(delivered.status).toBe(202);
    await drain(instance, fakes.clock);
    expect(await outcomeOf(delivered.body.delivery_id)).toEqual({
      status: 'done',
      outcome: 'skipped:mailbox_not_enabled',
    });
  });
});

describe('a ticket that does not meet the criteria', () => {
  const cases = [
    { name: 'has no trigger tag', seed: { mailboxId: 1, tags: ['billing'] }, reason: 'no_trigger' },
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
