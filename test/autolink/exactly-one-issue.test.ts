import { expect, it } from 'vitest';
import { createClients } from '../../src/clients/index.ts';
import { recordLinkProgress } from '../../src/features/autolink/links.ts';
import { draftIssue } from '../../src/features/autolink/ticket.ts';
import { claimDueDelivery, LEASE_MS, renewLeases } from '../../src/lib/durable-inbox.ts';
import { leaseTicketLink } from '../../src/lib/ticket-link.ts';
import {
  drain,
  ISSUE_URL_FIELD_ID,
  issuePosts,
  notesOn,
  PUBLIC_URL,
  sign,
  startAutolinkInstance,
  useAutolink,
  webhookBody,
} from '../support/autolink.ts';

const { database, fakes, instance } = useAutolink();

function qualifyingTicket() {
  return fakes.freescout.state.insertConversation({ mailboxId: 1, subject: 'Orders fail', tags: ['bug'] });
}

/** A new claim on a ticket's link row, as Direction A's worker makes it. */
function directionA(conversationId: number) {
  return { conversationId, claimId: crypto.randomUUID(), direction: 'freescout_to_github' as const };
}

async function expectLinkedOnce(conversationId: number) {
  const issues = fakes.github.state
    .issues()
    .filter((issue) => issue.body?.includes(`ticket:${conversationId} `));
  expect(issues).toHaveLength(1);
  const url = `${fakes.github.url}/raxx-app/TradeMasterAPI/issues/${issues[0]?.number}`;
  expect(fakes.freescout.state.conversation(conversationId)?.customFields).toContainEqual(
    expect.objectContaining({ id: ISSUE_URL_FIELD_ID, value: url }),
  );
  expect(notesOn(fakes.freescout, conversationId).map((note) => note.body)).toEqual([
    `GitHub issue #${issues[0]?.number} filed: ${url}`,
  ]);
  const open = await database.db
    .selectFrom('autolink_delivery')
    .select('status')
    .where('status', '!=', 'done')
    .execute();
  expect(open).toEqual([]);
}

it('stores 10 concurrent copies of one delivery once and opens one issue', async () => {
  const ticket = qualifyingTicket();
  const body = webhookBody(ticket);
  const answers = await Promise.all(
    Array.from({ length: 10 }, () => instance.deliver('convo.created', body)),
  );
  const ids = new Set(answers.map((answer) => answer.body.delivery_id));
  expect(answers.every((answer) => answer.status === 202)).toBe(true);
  expect(ids.size).toBe(1);

  await Promise.all([instance.runWorker(), instance.runWorker(), instance.runWorker()]);
  await drain(instance, fakes.clock);
  expect(issuePosts(fakes.github)).toHaveLength(1);
  await expectLinkedOnce(ticket.id);
});

it('opens one issue for 10 different deliveries of one ticket worked on concurrently', async () => {
  const ticket = qualifyingTicket();
  // Different bytes each time (FreeScout resends after an edit, both routes subscribed, both event names).
  await Promise.all(
    Array.from({ length: 10 }, (_, index) =>
      instance.deliver(
        index % 2 ? 'convo.created' : 'conversation.created',
        { ...webhookBody(ticket), copy: index },
        {
          source: index % 3 ? 'ops' : 'support',
        },
      ),
    ),
  );
  await Promise.all([instance.runWorker(), instance.runWorker(), instance.runWorker()]);
  await drain(instance, fakes.clock);
  expect(issuePosts(fakes.github)).toHaveLength(1);
  await expectLinkedOnce(ticket.id);
});

it('opens one issue when two app instances on one database receive the ticket', async () => {
  const other = await database.openAnother();
  const second = await startAutolinkInstance(other.db, fakes);
  try {
    const ticket = qualifyingTicket();
    const [first, again] = await Promise.all([
      instance.deliver('convo.created', webhookBody(ticket), { source: 'ops' }),
      second.deliver('conversation.created', webhookBody(ticket), { source: 'support' }),
    ]);
    expect([first.status, again.status]).toEqual([202, 202]);
    await Promise.all([instance.runWorker(), second.runWorker(), instance.runWorker(), second.runWorker()]);
    await drain(second, fakes.clock);
    await drain(instance, fakes.clock);
    expect(issuePosts(fakes.github)).toHaveLength(1);
    await expectLinkedOnce(ticket.id);
  } finally {
    await second.close();
    await other.close();
  }
});

it('opens one issue when GitHub answers 500 once, then succeeds', async () => {
  const ticket = qualifyingTicket();
  fakes.github.failNext({ status: 500 }, { method: 'POST', path: /\/issues$/ });
  const delivered = await instance.deliver('convo.created', webhookBody(ticket));

  await instance.runWorker();
  const afterFailure = await database.db
    .selectFrom('autolink_delivery')
    .select(['status', 'attempts', 'last_error'])
    .where('id', '=', Number(delivered.body.delivery_id))
    .executeTakeFirstOrThrow();
  expect(afterFailure).toMatchObject({
    status: 'pending',
    attempts: 1,
    last_error: expect.stringContaining('500'),
  });

  await drain(instance, fakes.clock);
  expect(issuePosts(fakes.github)).toHaveLength(2);
  await expectLinkedOnce(ticket.id);
});

it('recovers the issue GitHub created when the answer was lost, instead of opening a second', async () => {
  const ticket = qualifyingTicket();
  // GitHub creates the issue, then the connection drops: the worker cannot know it happened.
  fakes.github.failNext({ applyThenReset: true }, { method: 'POST', path: /\/issues$/ });
  await instance.deliver('convo.created', webhookBody(ticket));
  await instance.runWorker();
  expect(
    fakes.github.state.issues().filter((issue) => issue.body?.includes(`ticket:${ticket.id} `)),
  ).toHaveLength(1);

  await drain(instance, fakes.clock);
  expect(issuePosts(fakes.github)).toHaveLength(1);
  await expectLinkedOnce(ticket.id);
  const done = await database.db.selectFrom('autolink_delivery').select('outcome').executeTakeFirstOrThrow();
  expect(done.outcome).toBe('issue_recovered');
});

it('completes the link and write-back after a worker died between creating the issue and saving it', async () => {
  const ticket = qualifyingTicket();
  await instance.deliver('convo.created', webhookBody(ticket));

  // A worker claims the delivery and the ticket, opens the issue, then the process dies.
  const crashed = 'crashed-worker';
  const now = fakes.clock.now();
  const until = new Date(now.getTime() + LEASE_MS);
  await claimDueDelivery({ db: database.db, clock: fakes.clock }, 'autolink_delivery', crashed);
  const link = await leaseTicketLink(database.db, directionA(ticket.id), {
    holder: crashed,
    now,
    expiresAt: until,
  });
  if (!link) throw new Error('the crashed worker should have claimed the ticket');
  await recordLinkProgress(database.db, ticket.id, crashed, { create_started_at: now });
  const conversation = await instance.clients.freescout?.getConversation(ticket.id);
  if (!conversation) throw new Error('FreeScout client missing');
  const github = createClients(instance.deps.config).github;
  await github?.createIssue(
    draftIssue({
      conversation,
      claimId: link.claim_id,
      triggerTags: ['bug'],
      keywords: [],
      publicUrl: PUBLIC_URL,
      labelsByTag: instance.deps.config.autolink.labelsByTag,
    }),
  );

  // Restart: nothing happens while the dead worker's claim is live; after it expires, the work completes.
  await instance.runWorker();
  expect(notesOn(fakes.freescout, ticket.id)).toHaveLength(0);
  fakes.clock.advance(LEASE_MS + 1000);
  await drain(instance, fakes.clock);
  expect(issuePosts(fakes.github)).toHaveLength(1);
  await expectLinkedOnce(ticket.id);
});

it('does not add the note twice when FreeScout stored it but the answer was lost', async () => {
  const ticket = qualifyingTicket();
  fakes.freescout.failNext({ applyThenReset: true }, { method: 'POST', path: /\/threads$/ });
  await instance.deliver('convo.created', webhookBody(ticket));
  await drain(instance, fakes.clock);
  await expectLinkedOnce(ticket.id);
});

it('rejects a delivery signed with the wrong secret without storing it', async () => {
  const ticket = qualifyingTicket();
  const raw = JSON.stringify(webhookBody(ticket));
  const answer = await instance.deliver('convo.created', raw, { signature: sign(raw, 'not-the-secret') });
  expect(answer.status).toBe(401);
  expect(await database.db.selectFrom('autolink_delivery').selectAll().execute()).toEqual([]);
});

it("keeps a live worker's ticket claim from being taken over once renewed", async () => {
  const now = fakes.clock.now();
  const lease = (holder: string, at: Date) => ({
    holder,
    now: at,
    expiresAt: new Date(at.getTime() + LEASE_MS),
  });
  expect(await leaseTicketLink(database.db, directionA(4242), lease('slow-worker', now))).toBeDefined();
  // Renewed one lease length later: it now runs until twice the lease length after the first.
  fakes.clock.advance(LEASE_MS);
  await renewLeases({ db: database.db, clock: fakes.clock }, 'slow-worker', ['autolink_link']);

  const afterFirstLease = new Date(now.getTime() + LEASE_MS + 1000);
  expect(
    await leaseTicketLink(database.db, directionA(4242), lease('other-worker', afterFirstLease)),
  ).toBeUndefined();
  const afterRenewal = new Date(now.getTime() + 2 * LEASE_MS + 1000);
  expect(
    await leaseTicketLink(database.db, directionA(4242), lease('other-worker', afterRenewal)),
  ).toMatchObject({
    lease_holder: 'other-worker',
  });
});
