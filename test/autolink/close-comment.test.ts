import { expect, it } from 'vitest';
import { drain, ISSUE_URL_FIELD_ID, useAutolink, webhookBody } from '../support/autolink.ts';

const { database, fakes, instance } = useAutolink();

const RESOLVED = /^FreeScout ticket resolved \(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\)$/;

/** A ticket already linked to an issue, as Direction A leaves it. */
async function linkedTicket() {
  const ticket = fakes.freescout.state.insertConversation({
    mailboxId: 1,
    subject: 'Broken export',
    tags: ['bug'],
  });
  await instance.deliver('convo.created', webhookBody(ticket));
  await drain(instance, fakes.clock);
  const issue = fakes.github.state.issues().at(-1);
  if (!issue) throw new Error('no issue was opened');
  return { ticket, issue };
}

async function close(conversationId: number, event = 'convo.status') {
  fakes.clock.advance(60_000);
  const closed = fakes.freescout.state.setStatus(conversationId, 'closed');
  return instance.deliver(event, webhookBody(closed));
}

const commentPosts = () =>
  fakes.github.requests.filter((request) => request.method === 'POST' && /\/comments$/.test(request.path));

it('comments once on the linked issue when the ticket is closed, and leaves the issue open', async () => {
  const { ticket, issue } = await linkedTicket();
  const delivered = await close(ticket.id);
  expect(delivered.status).toBe(202);
  await drain(instance, fakes.clock);

  expect(issue.comments.map((comment) => comment.body)).toEqual([expect.stringMatching(RESOLVED)]);
  const closedAt = fakes.freescout.state.conversation(ticket.id)?.closedAt ?? '';
  expect(issue.comments[0]?.body).toContain(closedAt.slice(0, 19).replace('T', ' '));
  expect(fakes.github.state.issue(issue.number)?.state).toBe('open');
});

it('comments once per close, whatever the duplicates and event names of that close', async () => {
  const { ticket, issue } = await linkedTicket();
  const closed = await close(ticket.id);
  const body = webhookBody(fakes.freescout.state.conversation(ticket.id) ?? ticket);
  await instance.deliver('convo.status', body);
  await instance.deliver('conversation.status_changed', { ...body, updatedAt: new Date().toISOString() });
  expect(closed.status).toBe(202);
  await Promise.all([instance.runWorker(), instance.runWorker()]);
  await drain(instance, fakes.clock);
  expect(issue.comments).toHaveLength(1);
  expect(commentPosts()).toHaveLength(1);
});

it('comments again when the ticket is reopened and closed again', async () => {
  const { ticket, issue } = await linkedTicket();
  await close(ticket.id);
  await drain(instance, fakes.clock);
  fakes.clock.advance(60_000);
  const reopened = fakes.freescout.state.setStatus(ticket.id, 'active');
  await instance.deliver('convo.status', webhookBody(reopened));
  await close(ticket.id);
  await drain(instance, fakes.clock);
  expect(issue.comments.map((comment) => comment.body)).toEqual([
    expect.stringMatching(RESOLVED),
    expect.stringMatching(RESOLVED),
  ]);
  expect(issue.comments[0]?.body).not.toBe(issue.comments[1]?.body);
  expect(fakes.github.state.issue(issue.number)?.state).toBe('open');
});

it('does not comment twice when GitHub stored the comment but the answer was lost', async () => {
  const { ticket, issue } = await linkedTicket();
  fakes.github.failNext({ applyThenReset: true }, { method: 'POST', path: /\/comments$/ });
  await close(ticket.id);
  await drain(instance, fakes.clock);
  expect(issue.comments).toHaveLength(1);
  const outcome = await database.db
    .selectFrom('autolink_delivery')
    .select('outcome')
    .where('kind', '=', 'status')
    .executeTakeFirstOrThrow();
  expect(outcome.outcome).toBe('comment_recovered');
});

it('makes no GitHub call when a closed ticket has no linked issue', async () => {
  const ticket = fakes.freescout.state.insertConversation({ mailboxId: 1, tags: ['billing'] });
  await close(ticket.id);
  await drain(instance, fakes.clock);
  expect(fakes.github.requests).toHaveLength(0);
});

it('comments on the issue named by the github_issue_url field, even one linked by hand', async () => {
  const issue = fakes.github.state.insertIssue({ title: 'Filed by hand', labels: ['bug'] });
  const ticket = fakes.freescout.state.insertConversation({
    mailboxId: 1,
    customFields: [
      { id: ISSUE_URL_FIELD_ID, value: `https://github.com/raxx-app/TradeMasterAPI/issues/${issue.number}` },
    ],
  });
  await close(ticket.id);
  await drain(instance, fakes.clock);
  expect(issue.comments.map((comment) => comment.body)).toEqual([expect.stringMatching(RESOLVED)]);
});

it('posts no comment for status changes other than closed (the ticket is only re-checked)', async () => {
  const { ticket, issue } = await linkedTicket();
  fakes.clock.advance(60_000);
  const pending = fakes.freescout.state.setStatus(ticket.id, 'pending');
  const delivered = await instance.deliver('convo.status', webhookBody(pending));
  await drain(instance, fakes.clock);
  expect(issue.comments).toHaveLength(0);
  const row = await database.db
    .selectFrom('autolink_delivery')
    .select('outcome')
    .where('id', '=', Number(delivered.body.delivery_id))
    .executeTakeFirstOrThrow();
  expect(row.outcome).toBe('already_linked');
});

it('reads numeric statuses and takes the close time from the ticket when the delivery has none', async () => {
  const { ticket, issue } = await linkedTicket();
  fakes.clock.advance(60_000);
  const closed = fakes.freescout.state.setStatus(ticket.id, 'closed');
  const bare: Record<string, unknown> = { ...webhookBody(closed), status: 3 };
  delete bare.closedAt;
  delete bare.updatedAt;
  const delivered = await instance.deliver('convo.status', bare);
  expect(delivered.status).toBe(202);
  await drain(instance, fakes.clock);
  expect(issue.comments.map((comment) => comment.body)).toEqual([
    `FreeScout ticket resolved (${String(closed.closedAt).slice(0, 19).replace('T', ' ')} UTC)`,
  ]);
});
