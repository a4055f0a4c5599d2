import { describe, expect, it } from 'vitest';
import { systemClock } from '../../src/lib/clock.ts';
import { issuePosts, notesOn, useAutolink, webhookBody } from '../support/autolink.ts';

/**
 * GitHub (or FreeScout, for the note) slower than the client's timeout, in real time: the write
 * times out, the upstream still makes it afterwards, and the retry must not make a second one.
 * (Production measured
 * 20 s against a 15 s timeout; here 3 s against 1 s.)
 */

const TIMEOUT_MS = 1_000;
const SETTLE_MS = 2 * TIMEOUT_MS;
const ISSUE_CREATE = /\/repos\/[^/]+\/[^/]+\/issues$/;

const { database, fakes, instance } = useAutolink({
  clock: systemClock,
  env: { GITHUB_API_TIMEOUT_MS: String(TIMEOUT_MS), FREESCOUT_API_TIMEOUT_MS: String(TIMEOUT_MS) },
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const deliveryRows = () => database.db.selectFrom('autolink_delivery').selectAll().execute();

/** The operator's Retry button (or a short backoff): due again now, through the HTTP route. */
async function retryNow(deliveryId: number) {
  const answer = await instance.app.app.inject({
    method: 'POST',
    url: `/api/_internal/autolink/deliveries/${deliveryId}/retry`,
  });
  expect(answer.statusCode).toBe(202);
}

describe('writes slower than the upstream timeout', () => {
  it('opens exactly one issue: the retry waits for the create to settle, then finds it', async () => {
    const ticket = fakes.freescout.state.insertConversation({
      mailboxId: 1,
      subject: 'Slow GitHub',
      tags: ['bug'],
    });
    fakes.github.failNext({ delayMs: 3 * TIMEOUT_MS }, { method: 'POST', path: ISSUE_CREATE });
    const delivered = await instance.deliver('convo.created', webhookBody(ticket));
    const deliveryId = Number(delivered.body.delivery_id);

    const started = Date.now();
    await instance.runWorker();
    expect(Date.now() - started).toBeGreaterThanOrEqual(TIMEOUT_MS - 20);
    const [afterTimeout] = await deliveryRows();
    expect(afterTimeout).toMatchObject({ status: 'pending', last_error: expect.stringContaining('GitHub') });
    const [link] = await database.db.selectFrom('autolink_link').selectAll().execute();
    expect(link?.create_started_at).not.toBeNull();
    expect(link?.issue_number).toBeNull();

    // A retry before GitHub finished: its search finds nothing, and that proves nothing yet.
    await retryNow(deliveryId);
    await instance.runWorker();
    expect(issuePosts(fakes.github)).toHaveLength(1);
    const [waiting] = await deliveryRows();
    expect(waiting).toMatchObject({
      status: 'pending',
      last_error: expect.stringContaining('unknown outcome'),
    });
    expect(new Date(waiting?.next_attempt_at ?? 0).getTime()).toBeGreaterThanOrEqual(
      new Date(link?.create_started_at ?? 0).getTime() + SETTLE_MS,
    );

    // GitHub has finished by the time the create settles: the search finds its issue.
    await sleep(3 * TIMEOUT_MS + 100);
    await instance.runWorker();
    expect(issuePosts(fakes.github)).toHaveLength(1);
    expect(
      fakes.github.state.issues().filter((issue) => issue.body?.includes(`ticket:${ticket.id} `)),
    ).toHaveLength(1);
    const [done] = await deliveryRows();
    expect(done).toMatchObject({ status: 'done', outcome: 'issue_recovered' });
    expect(notesOn(fakes.freescout, ticket.id)).toHaveLength(1);
  });

  it('creates again only after the create settled and a later search found nothing', async () => {
    const ticket = fakes.freescout.state.insertConversation({
      mailboxId: 1,
      subject: 'Lost create',
      tags: ['bug'],
    });
    // GitHub never answers and never creates.
    fakes.github.failNext({ hang: true }, { method: 'POST', path: ISSUE_CREATE });
    const delivered = await instance.deliver('convo.created', webhookBody(ticket));
    await instance.runWorker();
    await retryNow(Number(delivered.body.delivery_id));
    await instance.runWorker();
    expect(issuePosts(fakes.github)).toHaveLength(1);

    await sleep(SETTLE_MS);
    await instance.runWorker();
    expect(issuePosts(fakes.github)).toHaveLength(2);
    expect(
      fakes.github.state.issues().filter((issue) => issue.body?.includes(`ticket:${ticket.id} `)),
    ).toHaveLength(1);
    const [done] = await deliveryRows();
    expect(done).toMatchObject({ status: 'done', outcome: 'issue_created' });
  });

  it('does not wait when GitHub refused the create outright (nothing can have been created)', async () => {
    const ticket = fakes.freescout.state.insertConversation({
      mailboxId: 1,
      subject: 'Refused',
      tags: ['bug'],
    });
    fakes.github.failNext({ status: 422 }, { method: 'POST', path: ISSUE_CREATE });
    const delivered = await instance.deliver('convo.created', webhookBody(ticket));
    await instance.runWorker();
    await retryNow(Number(delivered.body.delivery_id));
    await instance.runWorker();
    expect(issuePosts(fakes.github)).toHaveLength(2);
    const [done] = await deliveryRows();
    expect(done).toMatchObject({ status: 'done', outcome: 'issue_created' });
  });

  it('adds exactly one note when FreeScout stores it after our timeout', async () => {
    const ticket = fakes.freescout.state.insertConversation({
      mailboxId: 1,
      subject: 'Slow note',
      tags: ['bug'],
    });
    fakes.freescout.failNext({ delayMs: TIMEOUT_MS + 1_000 }, { method: 'POST', path: /\/threads$/ });
    const delivered = await instance.deliver('convo.created', webhookBody(ticket));
    await instance.runWorker();
    const landsAt = Date.now() + 1_000;
    expect(notesOn(fakes.freescout, ticket.id)).toHaveLength(0);

    await retryNow(Number(delivered.body.delivery_id));
    await instance.runWorker();
    const [waiting] = await deliveryRows();
    expect(waiting).toMatchObject({
      status: 'pending',
      last_error: expect.stringContaining('FreeScout note'),
    });

    await sleep(Math.max(0, landsAt - Date.now()) + SETTLE_MS);
    await instance.runWorker();
    expect(notesOn(fakes.freescout, ticket.id)).toHaveLength(1);
    const notePosts = fakes.freescout.requests.filter(
      (request) => request.method === 'POST' && request.path === `/api/conversations/${ticket.id}/threads`,
    );
    expect(notePosts).toHaveLength(1);
    const [done] = await deliveryRows();
    expect(done?.status).toBe('done');
  });
});
