import { expect, it } from 'vitest';
import { drain, issuePosts, useAutolink, webhookBody } from '../support/autolink.ts';

const { fakes, instance } = useAutolink();

async function linkRoute(
  method: 'GET' | 'PUT' | 'DELETE',
  ticketId: number,
  payload?: Record<string, unknown>,
) {
  const response = await instance.app.app.inject({
    method,
    url: `/api/console/tickets/${ticketId}/github-link`,
    ...(payload ? { payload } : {}),
  });
  return { status: response.statusCode, body: response.json() as Record<string, unknown> };
}

it('opens no issue for a tagged ticket an operator linked by hand, nor after unlinking it', async () => {
  const existing = fakes.github.state.insertIssue({ title: 'Known bug' });
  const ticket = fakes.freescout.state.insertConversation({
    mailboxId: 1,
    subject: 'Same bug',
    tags: ['bug'],
  });
  expect((await linkRoute('PUT', ticket.id, { issue_url: `#${existing.number}` })).status).toBe(200);

  await instance.deliver('convo.created', webhookBody(ticket));
  await drain(instance, fakes.clock);
  expect(issuePosts(fakes.github)).toHaveLength(0);

  expect((await linkRoute('DELETE', ticket.id)).status).toBe(200);
  await instance.deliver(
    'convo.updated',
    webhookBody(fakes.freescout.state.conversation(ticket.id) ?? ticket),
  );
  await drain(instance, fakes.clock);
  expect(issuePosts(fakes.github)).toHaveLength(0);
});

it('reads a Direction A link with its direction and the issue as GitHub has it', async () => {
  const ticket = fakes.freescout.state.insertConversation({
    mailboxId: 1,
    subject: 'Export fails',
    tags: ['bug'],
  });
  await instance.deliver('convo.created', webhookBody(ticket));
  await drain(instance, fakes.clock);
  const issue = fakes.github.state.issues().at(-1);
  const read = await linkRoute('GET', ticket.id);
  expect(read).toMatchObject({
    status: 200,
    body: {
      ticket_id: ticket.id,
      issue_number: issue?.number,
      direction: 'freescout_to_github',
      issue: { state: 'open', labels: ['freescout-linked', 'bug'] },
    },
  });
  // A second ticket asking for the same issue is refused: it belongs to the first.
  const other = fakes.freescout.state.insertConversation({ mailboxId: 1 });
  expect(await linkRoute('PUT', other.id, { issue_url: `#${issue?.number}` })).toMatchObject({
    status: 409,
    body: { error: 'already_linked' },
  });
  // The same issue on the same ticket is the link it already has.
  expect(await linkRoute('PUT', ticket.id, { issue_url: `#${issue?.number}` })).toMatchObject({
    status: 200,
    body: { direction: 'freescout_to_github' },
  });
});
