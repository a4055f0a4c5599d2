import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { runAutolinkWorker } from '../../src/features/autolink/worker.ts';
import { CREATE_SETTLE_MS } from '../../src/features/github-sync/service.ts';
import { webhookBody } from '../support/autolink.ts';
import {
  API_USER_ID,
  BOT_LOGIN,
  drainSync,
  issuesEvent,
  issueUrl,
  issueUrlShown,
  linkComments,
  notesOn,
  OPERATIONS_ISSUE_URL_FIELD_ID,
  OPERATIONS_MAILBOX_ID,
  PUBLIC_URL,
  startSyncInstance,
  ticketCreates,
  useGitHubSync,
} from '../support/github-sync.ts';

const { database, fakes, instance } = useGitHubSync();

/** An issue on the GitHub fake (so comments can be posted on it), labelled as an engineer would. */
function newIssue(labels: string[] = []) {
  return fakes.github.state.insertIssue({ title: 'Checkout fails for EU customers', labels });
}

async function label(
  number: number,
  name: string,
  options: { sender?: string; labels?: string[]; guid?: string } = {},
) {
  const reply = await instance.deliver(
    'issues',
    issuesEvent('labeled', {
      number,
      label: name,
      labels: options.labels ?? [],
      ...(options.sender ? { sender: options.sender } : {}),
    }),
    options.guid ? { guid: options.guid } : {},
  );
  expect(reply.status).toBe(202);
  return reply.body.delivery_id as number;
}

const ticketsOf = (number: number) =>
  fakes.freescout.state
    .conversations()
    .filter((conversation) => conversation.customFields.some((field) => field.value === issueUrl(number)));

const outcomes = async () =>
  (
    await database.db
      .selectFrom('github_sync_delivery')
      .select(['id', 'status', 'outcome'])
      .orderBy('id')
      .execute()
  ).map((row) => `${row.status}:${row.outcome}`);

async function expectOneTicket(number: number, tags: string[]) {
  const tickets = ticketsOf(number);
  expect(tickets).toHaveLength(1);
  const ticket = tickets[0];
  expect(ticket?.mailboxId).toBe(OPERATIONS_MAILBOX_ID);
  expect(ticket?.tags.map((tag) => tag.name).sort()).toEqual([...tags].sort());
  expect(linkComments(fakes.github, number).map((comment) => comment.body)).toEqual([
    `[freescout-autolink] FreeScout ticket: ${PUBLIC_URL}/conversation/${ticket?.id}`,
  ]);
  return ticket;
}

describe('a trigger label opens one ticket', () => {
  it('opens the ticket for customer-reported: field on create, tags through PUT, then the comment', async () => {
    const issue = newIssue();
    await label(issue.number, 'customer-reported');
    await drainSync(instance, fakes.clock);

    const ticket = await expectOneTicket(issue.number, ['_from_github']);
    expect(ticket?.subject).toBe(`Checkout fails for EU customers (${issue.number})`);
    const [create] = ticketCreates(fakes.freescout);
    const body = create?.body as Record<string, unknown>;
    // FreeScout drops tags sent on create: they go through PUT .../tags.
    expect(body).not.toHaveProperty('tags');
    // The Operations mailbox's own field, found by name: Support's would hide the URL.
    expect(body.customFields).toEqual([{ id: OPERATIONS_ISSUE_URL_FIELD_ID, value: issueUrl(issue.number) }]);
    expect(ticket?.mailboxId).toBe(OPERATIONS_MAILBOX_ID);
    expect(issueUrlShown(fakes.freescout, ticket?.id ?? 0)).toBe(issueUrl(issue.number));
    expect(JSON.stringify(body.threads)).toContain(issueUrl(issue.number));
    const tagWrites = fakes.freescout.requests.filter(
      (request) => request.method === 'PUT' && request.path === `/api/conversations/${ticket?.id}/tags`,
    );
    expect(tagWrites.map((request) => request.body)).toEqual([{ tags: ['_from_github'] }]);

    const link = await database.db.selectFrom('autolink_link').selectAll().executeTakeFirst();
    expect(link).toMatchObject({
      conversation_id: ticket?.id,
      issue_number: issue.number,
      issue_url: issueUrl(issue.number),
      direction: 'github_to_freescout',
    });
    expect(await outcomes()).toEqual(['done:ticket_created']);
  });

  it('tags a regression ticket bug and regression as well', async () => {
    const issue = newIssue();
    await label(issue.number, 'regression');
    await drainSync(instance, fakes.clock);
    await expectOneTicket(issue.number, ['_from_github', 'bug', 'regression']);
  });

  it('opens the ticket in the mailbox named Operations when no mailbox id is configured', async () => {
    const unnamed = await startSyncInstance(database.db, fakes, {
      FREESCOUT_OPERATIONS_MAILBOX_ID: undefined,
    });
    try {
      const issue = newIssue();
      await label(issue.number, 'customer-reported');
      await drainSync(unnamed, fakes.clock);
      await expectOneTicket(issue.number, ['_from_github']);
    } finally {
      await unnamed.close();
    }
  });

  it('keeps tags an agent added when a second label adds its own', async () => {
    const issue = newIssue();
    await label(issue.number, 'customer-reported');
    await drainSync(instance, fakes.clock);
    const [ticket] = ticketsOf(issue.number);
    await instance.clients.freescout?.replaceTags(ticket?.id ?? 0, ['_from_github', 'vip']);

    await label(issue.number, 'regression');
    await drainSync(instance, fakes.clock);
    await expectOneTicket(issue.number, ['_from_github', 'vip', 'bug', 'regression']);
    expect(await outcomes()).toEqual(['done:ticket_created', 'done:tags_added']);
  });

  it('opens one ticket for two labels added in the same second, handled by two instances at once', async () => {
    const other = await startSyncInstance(database.db, fakes);
    try {
      const issue = newIssue();
      await label(issue.number, 'customer-reported');
      await label(issue.number, 'regression', { labels: ['customer-reported'] });
      await Promise.all([instance.runWorker(), other.runWorker()]);
      await drainSync(instance, fakes.clock);
      await expectOneTicket(issue.number, ['_from_github', 'bug', 'regression']);
      expect(ticketCreates(fakes.freescout)).toHaveLength(1);
    } finally {
      await other.close();
    }
  });

  it('has no second effect for a redelivery, before or after the work is done', async () => {
    const issue = newIssue();
    const event = issuesEvent('labeled', { number: issue.number, label: 'customer-reported' });
    await instance.deliver('issues', event, { guid: 'same-guid' });
    await instance.deliver('issues', event, { guid: 'same-guid' });
    await drainSync(instance, fakes.clock);
    await instance.deliver('issues', event, { guid: 'same-guid' });
    await drainSync(instance, fakes.clock);
    await expectOneTicket(issue.number, ['_from_github']);
    expect(ticketCreates(fakes.freescout)).toHaveLength(1);
  });

  it('opens no second ticket when the same label is added again later (a new delivery)', async () => {
    const issue = newIssue();
    await label(issue.number, 'customer-reported');
    await drainSync(instance, fakes.clock);
    await label(issue.number, 'customer-reported');
    await drainSync(instance, fakes.clock);
    await expectOneTicket(issue.number, ['_from_github']);
    expect(await outcomes()).toEqual(['done:ticket_created', 'done:already_linked']);
  });
});

describe('loop locks', () => {
  it('opens no ticket for an issue Direction A opened (freescout-linked)', async () => {
    const issue = newIssue(['freescout-linked', 'bug']);
    await label(issue.number, 'regression', { labels: ['freescout-linked', 'bug'] });
    await drainSync(instance, fakes.clock);
    expect(ticketCreates(fakes.freescout)).toHaveLength(0);
    expect(await outcomes()).toEqual(['done:skipped:freescout_linked']);
  });

  it('opens no ticket for an issue that already has a [freescout-autolink] comment', async () => {
    const issue = newIssue();
    issue.comments.push({
      id: 99,
      body: '[freescout-autolink] FreeScout ticket: https://tickets.example.test/conversation/1',
      created_at: '2026-11-24T11:00:00Z',
      updated_at: '2026-11-24T11:00:00Z',
    });
    await label(issue.number, 'customer-reported');
    await drainSync(instance, fakes.clock);
    expect(ticketCreates(fakes.freescout)).toHaveLength(0);
    expect(await outcomes()).toEqual(['done:skipped:already_commented']);
  });

  it('opens no ticket for an issue already linked in our records by Direction A', async () => {
    const issue = newIssue();
    await database.db
      .insertInto('autolink_link')
      .values({
        conversation_id: 500,
        claim_id: '00000000-0000-4000-8000-000000000001',
        claimed_at: fakes.clock.now(),
        issue_number: issue.number,
        issue_url: issueUrl(issue.number),
        linked_at: fakes.clock.now(),
      })
      .execute();
    await label(issue.number, 'customer-reported');
    await drainSync(instance, fakes.clock);
    expect(ticketCreates(fakes.freescout)).toHaveLength(0);
    expect(await outcomes()).toEqual(['done:skipped:freescout_linked']);
  });

  it("ignores the service's own actions (the token's user)", async () => {
    const issue = newIssue();
    await label(issue.number, 'customer-reported', { sender: BOT_LOGIN });
    await drainSync(instance, fakes.clock);
    expect(ticketCreates(fakes.freescout)).toHaveLength(0);
    expect(await outcomes()).toEqual(['done:skipped:own_action']);
    // Asked once per client and remembered, so at most one GET /user in this whole file.
    expect(fakes.github.requests.filter((request) => request.path === '/user').length).toBeLessThanOrEqual(1);
  });

  it("ignores the service's own actions as a GitHub App (<slug>[bot], from GET /app)", async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const asApp = await startSyncInstance(database.db, fakes, {
      GITHUB_ISSUE_BOT_TOKEN: undefined,
      GITHUB_APP_ID: '777',
      GITHUB_APP_PRIVATE_KEY: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      GITHUB_APP_INSTALLATION_ID: '4242',
    });
    try {
      const issue = newIssue();
      const reply = await asApp.deliver(
        'issues',
        issuesEvent('labeled', {
          number: issue.number,
          label: 'customer-reported',
          sender: `${BOT_LOGIN}[bot]`,
          senderType: 'Bot',
        }),
      );
      expect(reply.status).toBe(202);
      await drainSync(asApp, fakes.clock);
      expect(ticketCreates(fakes.freescout)).toHaveLength(0);
      expect(await outcomes()).toEqual(['done:skipped:own_action']);
      expect(fakes.github.requests.some((request) => request.path === '/app')).toBe(true);
    } finally {
      await asApp.close();
    }
  });

  it("makes no GitHub issue when the ticket's own convo.created reaches Direction A", async () => {
    const both = await startSyncInstance(database.db, fakes, {
      FLAG_FREESCOUT_GITHUB_AUTOLINK: '1',
      FREESCOUT_WEBHOOK_SECRET: 'autolink-secret',
      FREESCOUT_AUTOLINK_MAILBOX_IDS: '1,2',
      FREESCOUT_AUTOLINK_TAGS: 'bug,regression',
    });
    try {
      const issue = newIssue();
      await label(issue.number, 'regression');
      await drainSync(both, fakes.clock);
      const [ticket] = ticketsOf(issue.number);
      const issuesBefore = fakes.github.state.issues().length;

      const { createHmac } = await import('node:crypto');
      const raw = JSON.stringify(webhookBody(ticket as NonNullable<typeof ticket>));
      const reply = await both.app.app.inject({
        method: 'POST',
        url: '/api/webhooks/freescout/ops',
        headers: {
          'content-type': 'application/json',
          'x-freescout-event': 'convo.created',
          'x-freescout-signature': createHmac('sha256', 'autolink-secret').update(raw).digest('hex'),
        },
        payload: raw,
      });
      expect(reply.statusCode).toBe(202);
      await runAutolinkWorker(both.deps);
      expect(fakes.github.state.issues()).toHaveLength(issuesBefore);
      const [delivery] = await database.db.selectFrom('autolink_delivery').selectAll().execute();
      expect(delivery).toMatchObject({ status: 'done', outcome: 'already_linked' });
    } finally {
      await both.close();
    }
  });
});

describe('notes on the linked ticket', () => {
  async function linkedTicket() {
    const issue = newIssue();
    await label(issue.number, 'customer-reported');
    await drainSync(instance, fakes.clock);
    const [ticket] = ticketsOf(issue.number);
    return { issue, ticketId: ticket?.id ?? 0 };
  }

  it('adds one internal note as FREESCOUT_API_USER_ID for needs-customer-confirm', async () => {
    const { issue, ticketId } = await linkedTicket();
    await label(issue.number, 'needs-customer-confirm', { sender: 'octo-engineer' });
    await drainSync(instance, fakes.clock);
    const notes = notesOn(fakes.freescout, ticketId);
    expect(notes).toHaveLength(1);
    expect(notes[0]?.body).toContain(`GitHub issue #${issue.number} needs customer confirmation`);
    const notePost = fakes.freescout.requests.find(
      (request) => request.method === 'POST' && request.path === `/api/conversations/${ticketId}/threads`,
    );
    expect(notePost?.body).toMatchObject({ type: 'note', user: API_USER_ID });
  });

  it('waits for a ticket being opened when needs-customer-confirm arrives with customer-reported', async () => {
    const issue = newIssue();
    await label(issue.number, 'customer-reported');
    await label(issue.number, 'needs-customer-confirm', { labels: ['customer-reported'] });
    const [, confirm] = await database.db
      .selectFrom('github_sync_delivery')
      .select('id')
      .orderBy('id')
      .execute();
    // The confirmation comes due first, as it would on a second worker.
    await database.db
      .updateTable('github_sync_delivery')
      .set({ next_attempt_at: new Date(fakes.clock.now().getTime() - 1000) })
      .where('id', '=', confirm?.id ?? 0)
      .execute();
    await drainSync(instance, fakes.clock);
    const [ticket] = ticketsOf(issue.number);
    expect(notesOn(fakes.freescout, ticket?.id ?? 0)).toHaveLength(1);
    expect(await outcomes()).toEqual(['done:ticket_created', 'done:note_added']);
  });

  it('records needs-customer-confirm on an unlinked issue as done, with the reason', async () => {
    const issue = newIssue();
    await label(issue.number, 'needs-customer-confirm');
    await drainSync(instance, fakes.clock);
    expect(await outcomes()).toEqual(['done:skipped:not_linked']);
    expect(fakes.freescout.requests.filter((request) => request.method !== 'GET')).toHaveLength(0);
  });

  it('notes a close and a reopen of a linked issue, and never changes the ticket status', async () => {
    const { issue, ticketId } = await linkedTicket();
    const statusBefore = fakes.freescout.state.conversation(ticketId)?.status;
    const closed = await instance.deliver(
      'issues',
      issuesEvent('closed', { number: issue.number, sender: 'octo-lead' }),
    );
    expect(closed.status).toBe(202);
    await drainSync(instance, fakes.clock);
    const reopened = await instance.deliver(
      'issues',
      issuesEvent('reopened', { number: issue.number, sender: 'octo-lead' }),
    );
    expect(reopened.status).toBe(202);
    await drainSync(instance, fakes.clock);
    expect(notesOn(fakes.freescout, ticketId).map((note) => note.body)).toEqual([
      `GitHub issue #${issue.number} closed by octo-lead`,
      `GitHub issue #${issue.number} reopened by octo-lead`,
    ]);
    expect(fakes.freescout.state.conversation(ticketId)?.status).toBe(statusBefore);
    expect(
      fakes.freescout.requests.filter(
        (request) => request.method === 'PUT' && request.path === `/api/conversations/${ticketId}`,
      ),
    ).toHaveLength(0);
  });
});

describe('exactly one ticket through crashes and slow answers', () => {
  it('recovers the ticket a create of unknown outcome made, only after the settle time', async () => {
    const issue = newIssue();
    await label(issue.number, 'customer-reported');
    fakes.freescout.failNext({ applyThenReset: true }, { method: 'POST', path: /^\/api\/conversations$/ });
    await instance.runWorker();
    expect(ticketsOf(issue.number)).toHaveLength(1);

    fakes.clock.advance(CREATE_SETTLE_MS / 2);
    await instance.runWorker();
    fakes.clock.advance(CREATE_SETTLE_MS);
    await drainSync(instance, fakes.clock);
    await expectOneTicket(issue.number, ['_from_github']);
    expect(ticketCreates(fakes.freescout)).toHaveLength(1);
    expect(await outcomes()).toEqual(['done:ticket_recovered']);
  });

  it('creates again when the settle time has passed and the create left no ticket', async () => {
    const issue = newIssue();
    await label(issue.number, 'customer-reported');
    fakes.freescout.failNext({ reset: true }, { method: 'POST', path: /^\/api\/conversations$/ });
    await instance.runWorker();
    expect(ticketsOf(issue.number)).toHaveLength(0);
    fakes.clock.advance(CREATE_SETTLE_MS + 1000);
    await drainSync(instance, fakes.clock);
    await expectOneTicket(issue.number, ['_from_github']);
  });

  it('posts the comment once after a crash between the ticket and the comment', async () => {
    const issue = newIssue();
    await label(issue.number, 'customer-reported');
    fakes.github.failNext({ applyThenReset: true }, { method: 'POST', path: /\/comments$/ });
    await instance.runWorker();
    await drainSync(instance, fakes.clock);
    await expectOneTicket(issue.number, ['_from_github']);
  });

  it('finds the ticket when FreeScout answers after the client gave up', async () => {
    const slow = await startSyncInstance(database.db, fakes, {}, { freescoutTimeoutMs: 200 });
    try {
      const issue = newIssue();
      await label(issue.number, 'customer-reported');
      fakes.freescout.failNext({ delayMs: 500 }, { method: 'POST', path: /^\/api\/conversations$/ });
      await slow.runWorker();
      await new Promise((resolve) => setTimeout(resolve, 600));
      expect(ticketsOf(issue.number)).toHaveLength(1);
      await slow.runWorker();
      fakes.clock.advance(CREATE_SETTLE_MS + 1000);
      await drainSync(slow, fakes.clock);
      await expectOneTicket(issue.number, ['_from_github']);
      expect(ticketCreates(fakes.freescout)).toHaveLength(1);
    } finally {
      await slow.close();
    }
  });
});

describe('operator routes', () => {
  it('lists a failed GitHub delivery with Direction A’s and retries it through the same route', async () => {
    const broken = await startSyncInstance(database.db, fakes, {
      GITHUB_SYNC_MAILBOX_ID: '99',
      AUTOLINK_MAX_ATTEMPTS: '2',
    });
    try {
      const issue = newIssue();
      const id = await label(issue.number, 'customer-reported');
      await drainSync(broken, fakes.clock);
      const listed = await instance.app.app.inject({
        url: '/api/_internal/autolink/deliveries?status=failed',
      });
      expect(listed.statusCode).toBe(200);
      expect(listed.json().deliveries).toEqual([
        expect.objectContaining({
          id,
          direction: 'github_to_freescout',
          source: 'github',
          event: 'issues.labeled',
          issue_number: issue.number,
          status: 'failed',
          // The mailbox's field list is read before the create: FreeScout has no mailbox 99.
          last_error: expect.stringMatching(/mailboxes\/99\/custom_fields answered 404/),
        }),
      ]);
      const retried = await instance.app.app.inject({
        method: 'POST',
        url: `/api/_internal/autolink/deliveries/${id}/retry`,
      });
      expect(retried.statusCode).toBe(202);
      await drainSync(instance, fakes.clock);
      await expectOneTicket(issue.number, ['_from_github']);
    } finally {
      await broken.close();
    }
  });
});
