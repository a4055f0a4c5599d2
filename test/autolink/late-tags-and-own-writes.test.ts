import { beforeEach, describe, expect, it } from 'vitest';
import { sweepTaggedTickets } from '../../src/features/autolink/sweep.ts';
import {
  drain,
  issuePosts,
  notesOn,
  startAutolinkInstance,
  subscribe,
  useAutolink,
} from '../support/autolink.ts';

/**
 * Direction A against a FreeScout that behaves like the real one: webhooks come from the fake
 * (signed with FreeScout's own key, carrying no tags), tags only show with `embed=tags`, and
 * an agent's new tag sends no event at all.
 */

const { database, fakes, instance } = useAutolink({
  env: ({ freescout }) => ({ FREESCOUT_WEBHOOK_SECRET: freescout.webhookSecret }),
  listen: true,
});
beforeEach(async () => {
  fakes.freescout.state.reset();
  await subscribe(fakes, instance);
});

const deliveries = () => database.db.selectFrom('autolink_delivery').selectAll().orderBy('id').execute();

async function settle(): Promise<void> {
  await fakes.freescout.state.flushWebhooks();
  await drain(instance, fakes.clock);
}

describe('a trigger tag added after the ticket arrived', () => {
  it('is picked up by the next conversation event', async () => {
    const ticket = fakes.freescout.state.insertConversation({ mailboxId: 1, subject: 'Export broken' });
    fakes.freescout.state.fire('convo.created', ticket.id);
    await settle();
    expect(issuePosts(fakes.github)).toHaveLength(0);
    expect((await deliveries()).map((row) => row.outcome)).toEqual(['skipped:no_trigger']);

    // The agent tags the ticket: FreeScout sends nothing.
    const before = fakes.freescout.state.deliveries.length;
    fakes.freescout.state.addTags(ticket.id, ['bug']);
    await fakes.freescout.state.flushWebhooks();
    expect(fakes.freescout.state.deliveries).toHaveLength(before);

    // The customer's next reply carries no tags either, but the ticket is read with embed=tags.
    fakes.freescout.state.fire('convo.customer.reply.created', ticket.id);
    await settle();
    expect(issuePosts(fakes.github)).toHaveLength(1);
    expect(issuePosts(fakes.github)[0]?.body).toMatchObject({ labels: ['freescout-linked', 'bug'] });
    const reads = fakes.freescout.requests.filter(
      (request) => request.method === 'GET' && request.path === `/api/conversations/${ticket.id}`,
    );
    expect(reads.every((request) => request.query.embed === 'threads,tags')).toBe(true);
  });

  it('is found by the sweep when no event follows, in any status, once', async () => {
    const ticket = fakes.freescout.state.insertConversation({ mailboxId: 2, subject: 'Quiet ticket' });
    fakes.freescout.state.setStatus(ticket.id, 'pending');
    fakes.clock.advance(60_000);
    fakes.freescout.state.addTags(ticket.id, ['feature_request']);
    fakes.freescout.state.insertConversation({ mailboxId: 2, tags: ['billing'] });

    expect(await sweepTaggedTickets(instance.deps)).toEqual({ swept: true, queued: 1 });
    await settle();
    expect(issuePosts(fakes.github)).toHaveLength(1);
    expect(issuePosts(fakes.github)[0]?.body).toMatchObject({ labels: ['freescout-linked', 'enhancement'] });
    const lists = fakes.freescout.requests.filter(
      (request) => request.method === 'GET' && request.path === '/api/conversations',
    );
    expect(lists.length).toBeGreaterThan(0);
    expect(lists.every((request) => request.query.status === 'active,pending,closed,spam')).toBe(true);
    expect(lists.map((request) => request.query.tag)).toEqual(
      expect.arrayContaining(['bug', 'feature_request', 'auto:status']),
    );

    // The cursor is kept; a linked ticket is not queued again.
    const cursor = await database.db.selectFrom('autolink_sweep_cursor').selectAll().execute();
    expect(cursor).toHaveLength(1);
    fakes.clock.advance(300_000);
    expect(await sweepTaggedTickets(instance.deps)).toEqual({ swept: true, queued: 0 });
    await settle();
    expect(issuePosts(fakes.github)).toHaveLength(1);
  });

  it('is found by the sweep although tagging does not move the ticket’s updatedAt', async () => {
    const ticket = fakes.freescout.state.insertConversation({ mailboxId: 1, subject: 'Tagged later' });
    expect(await sweepTaggedTickets(instance.deps)).toEqual({ swept: true, queued: 0 });
    fakes.clock.advance(300_000);
    const before = ticket.updatedAt;
    fakes.freescout.state.addTags(ticket.id, ['bug']);
    expect(fakes.freescout.state.conversation(ticket.id)?.updatedAt).toBe(before);

    expect(await sweepTaggedTickets(instance.deps)).toEqual({ swept: true, queued: 1 });
    await settle();
    expect(issuePosts(fakes.github)).toHaveLength(1);
    // Read again by later sweeps, but queued once per (ticket, updatedAt) and skipped once linked.
    fakes.clock.advance(300_000);
    expect(await sweepTaggedTickets(instance.deps)).toEqual({ swept: true, queued: 0 });
  });

  it('sweeps on one instance at a time', async () => {
    fakes.freescout.state.insertConversation({ mailboxId: 1, tags: ['bug'] });
    const first = await sweepTaggedTickets(instance.deps, 'instance-a');
    const second = await sweepTaggedTickets(instance.deps, 'instance-b');
    expect(first.swept).toBe(true);
    expect(second).toEqual({ swept: false, queued: 0 });
  });
});

describe('the service’s own writes coming back as webhooks', () => {
  it('cause no second issue, note or retry', async () => {
    const ticket = fakes.freescout.state.insertConversation({ mailboxId: 1, tags: ['bug'] });
    fakes.freescout.state.fire('convo.created', ticket.id);
    await settle();
    await fakes.freescout.state.flushWebhooks();
    // The field write fires nothing; the note fires convo.note.created, which comes back here.
    const echoes = fakes.freescout.state.deliveries.filter(
      (delivery) => delivery.event === 'convo.note.created',
    );
    expect(echoes).toHaveLength(1);
    expect(echoes[0]?.status).toBe(202);
    await settle();
    expect(issuePosts(fakes.github)).toHaveLength(1);
    expect(notesOn(fakes.freescout, ticket.id)).toHaveLength(1);
    const rows = await deliveries();
    expect(rows.map((row) => [row.event, row.status, row.outcome])).toEqual([
      ['convo.created', 'done', 'issue_created'],
      ['convo.note.created', 'done', 'already_linked'],
    ]);
    expect(rows.every((row) => row.attempts === 1)).toBe(true);
    // The note is written as the configured agent, as FreeScout requires.
    const notePost = fakes.freescout.requests.find(
      (request) => request.method === 'POST' && request.path === `/api/conversations/${ticket.id}/threads`,
    );
    expect(notePost?.body).toMatchObject({ type: 'note', user: 1 });
  });
});

describe('a conversation FreeScout no longer has', () => {
  it('ends its work as done on the first attempt, with that reason', async () => {
    const ticket = fakes.freescout.state.insertConversation({ mailboxId: 1, tags: ['bug'] });
    fakes.freescout.state.fire('convo.assigned', ticket.id);
    await fakes.freescout.state.flushWebhooks();
    fakes.freescout.state.deleteConversation(ticket.id);
    await instance.runWorker();
    expect((await deliveries()).map((row) => [row.status, row.outcome, row.attempts])).toEqual([
      ['done', 'skipped:conversation_not_found', 1],
    ]);
    expect(issuePosts(fakes.github)).toHaveLength(0);
  });
});

describe('configuration', () => {
  it('answers 503 not_configured while FREESCOUT_API_USER_ID is unset (notes need a FreeScout user)', async () => {
    const unset = await startAutolinkInstance(database.db, fakes, { FREESCOUT_API_USER_ID: undefined });
    try {
      const answer = await unset.deliver('convo.created', { id: 1, mailboxId: 1 });
      expect(answer).toEqual({
        status: 503,
        body: { error: 'not_configured', message: expect.stringContaining('FREESCOUT_API_USER_ID') },
      });
      expect(await deliveries()).toEqual([]);
    } finally {
      await unset.close();
    }
  });
});
