import { expect, it } from 'vitest';
import { drain, startAutolinkInstance, useAutolink, webhookBody } from '../support/autolink.ts';

const { database, fakes, instance } = useAutolink({
  env: {
    FREESCOUT_AUTOLINK_LABELS: 'bug=bug+customer-impact, feature_request=enhancement, auto:status=incident',
    FREESCOUT_AUTOLINK_CLOSE_ISSUE: 'true',
  },
});

async function linkedTicket(tags: string[]) {
  const ticket = fakes.freescout.state.insertConversation({ mailboxId: 1, subject: 'Broken export', tags });
  await instance.deliver('convo.created', webhookBody(ticket));
  await drain(instance, fakes.clock);
  const issue = fakes.github.state.issues().at(-1);
  if (!issue) throw new Error('no issue was opened');
  return { ticket, issue };
}

async function close(conversationId: number) {
  fakes.clock.advance(60_000);
  const closed = fakes.freescout.state.setStatus(conversationId, 'closed');
  return instance.deliver('convo.status', webhookBody(closed));
}

const closes = () =>
  fakes.github.requests.filter(
    (request) => request.method === 'PATCH' && /\/issues\/\d+$/.test(request.path),
  );

it('labels the new issue from FREESCOUT_AUTOLINK_LABELS, freescout-linked always first', async () => {
  const { issue } = await linkedTicket(['bug', 'auto:status']);
  expect(issue.labels).toEqual(['freescout-linked', 'bug', 'customer-impact', 'incident']);
});

it('adds no extra label for a trigger tag the mapping does not name', async () => {
  const other = await startAutolinkInstance(database.db, fakes, {
    FREESCOUT_AUTOLINK_TAGS: 'bug,urgent',
    FREESCOUT_AUTOLINK_LABELS: 'bug=bug',
  });
  try {
    const ticket = fakes.freescout.state.insertConversation({ mailboxId: 1, tags: ['urgent'] });
    await other.deliver('convo.created', webhookBody(ticket));
    await drain(other, fakes.clock);
    expect(fakes.github.state.issues().at(-1)?.labels).toEqual(['freescout-linked']);
  } finally {
    await other.close();
  }
});

it('closes the issue as completed after the one resolved comment, once whatever the duplicates', async () => {
  const { ticket, issue } = await linkedTicket(['bug']);
  await close(ticket.id);
  const body = webhookBody(fakes.freescout.state.conversation(ticket.id) ?? ticket);
  await instance.deliver('convo.status', body);
  await drain(instance, fakes.clock);

  const stored = fakes.github.state.issue(issue.number);
  expect(stored?.comments).toHaveLength(1);
  expect(stored?.state).toBe('closed');
  expect(stored?.state_reason).toBe('completed');
  expect(closes()).toHaveLength(1);
  expect(closes()[0]?.body).toEqual({ state: 'closed', state_reason: 'completed' });
  const comment = fakes.github.requests.findIndex(
    (request) => /\/comments$/.test(request.path) && request.method === 'POST',
  );
  const patch = fakes.github.requests.findIndex((request) => request.method === 'PATCH');
  expect(comment).toBeLessThan(patch);
});

it('closes the issue on the next attempt when GitHub failed the close after the comment', async () => {
  const { ticket, issue } = await linkedTicket(['bug']);
  fakes.github.failNext({ status: 422 }, { method: 'PATCH' });
  await close(ticket.id);
  await drain(instance, fakes.clock);
  expect(fakes.github.state.issue(issue.number)?.comments).toHaveLength(1);
  expect(fakes.github.state.issue(issue.number)?.state).toBe('closed');
});

it('leaves the issue open while FREESCOUT_AUTOLINK_CLOSE_ISSUE is off (the default)', async () => {
  const other = await startAutolinkInstance(database.db, fakes);
  try {
    const ticket = fakes.freescout.state.insertConversation({ mailboxId: 1, tags: ['bug'] });
    await other.deliver('convo.created', webhookBody(ticket));
    await drain(other, fakes.clock);
    fakes.clock.advance(60_000);
    await other.deliver('convo.status', webhookBody(fakes.freescout.state.setStatus(ticket.id, 'closed')));
    await drain(other, fakes.clock);
    const issue = fakes.github.state.issues().at(-1);
    expect(issue?.comments).toHaveLength(1);
    expect(issue?.state).toBe('open');
    expect(closes()).toHaveLength(0);
  } finally {
    await other.close();
  }
});
