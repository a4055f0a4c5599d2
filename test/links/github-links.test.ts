import { describe, expect, it } from 'vitest';
import {
  drainSync,
  ISSUE_URL_FIELD_ID,
  issuesEvent,
  issueUrlShown,
  linkComments,
  notesOn,
  OPERATIONS_ISSUE_URL_FIELD_ID,
  OWNER,
  PUBLIC_URL,
  REPO,
  startSyncInstance,
  useGitHubSync,
} from '../support/github-sync.ts';

const { database, fakes, instance } = useGitHubSync();

const linkPath = (ticketId: number) => `/api/console/tickets/${ticketId}/github-link`;

async function call(method: 'GET' | 'PUT' | 'DELETE', url: string, payload?: unknown, target = instance) {
  const response = await target.app.app.inject({
    method,
    url,
    ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }),
  });
  return { status: response.statusCode, body: response.json() as Record<string, unknown> };
}

function seed(title = 'Checkout fails for EU customers') {
  const issue = fakes.github.state.insertIssue({ title, labels: ['bug'] });
  const ticket = fakes.freescout.state.insertConversation({ mailboxId: 2, subject: 'Checkout broken' });
  return { issue, ticket, htmlUrl: `${fakes.github.url}/${OWNER}/${REPO}/issues/${issue.number}` };
}

const issueReads = (number: number) =>
  fakes.github.requests.filter(
    (request) => request.method === 'GET' && request.path === `/repos/${OWNER}/${REPO}/issues/${number}`,
  );

describe('PUT /api/console/tickets/{ticket_id}/github-link', () => {
  it('links an existing issue: field, one note, the label and one [freescout-autolink] comment', async () => {
    const { issue, ticket, htmlUrl } = seed();
    const linked = await call('PUT', linkPath(ticket.id), { issue_url: htmlUrl });
    expect(linked.status).toBe(200);
    expect(linked.body).toMatchObject({
      ticket_id: ticket.id,
      issue_url: htmlUrl,
      issue_number: issue.number,
      repo: `${OWNER}/${REPO}`,
      direction: 'manual',
      issue: { title: 'Checkout fails for EU customers', state: 'open', labels: ['bug', 'freescout-linked'] },
    });
    expect(issueUrlShown(fakes.freescout, ticket.id)).toBe(htmlUrl);
    expect(notesOn(fakes.freescout, ticket.id).map((note) => note.body)).toEqual([
      expect.stringContaining(`GitHub issue #${issue.number} linked`),
    ]);
    expect(fakes.github.state.issue(issue.number)?.labels).toContain('freescout-linked');
    expect(linkComments(fakes.github, issue.number).map((comment) => comment.body)).toEqual([
      `[freescout-autolink] FreeScout ticket: ${PUBLIC_URL}/conversation/${ticket.id}`,
    ]);

    // Again, in each accepted form: the same link, no second note or comment.
    for (const issueUrl of [`${OWNER}/${REPO}#${issue.number}`, `#${issue.number}`, `${htmlUrl}/`]) {
      const again = await call('PUT', linkPath(ticket.id), { issue_url: issueUrl });
      expect(again.status).toBe(200);
      expect(again.body).toMatchObject({ issue_number: issue.number, direction: 'manual' });
    }
    expect(notesOn(fakes.freescout, ticket.id)).toHaveLength(1);
    expect(linkComments(fakes.github, issue.number)).toHaveLength(1);
  });

  it('makes one note and one comment when the same PUT arrives twice at once', async () => {
    const { issue, ticket } = seed();
    const answers = await Promise.all([
      call('PUT', linkPath(ticket.id), { issue_url: `#${issue.number}` }),
      call('PUT', linkPath(ticket.id), { issue_url: `#${issue.number}` }),
    ]);
    expect(answers.map((answer) => answer.status)).toEqual([200, 200]);
    expect(notesOn(fakes.freescout, ticket.id)).toHaveLength(1);
    expect(linkComments(fakes.github, issue.number)).toHaveLength(1);
  });

  it('resumes after GitHub failed mid-way, repeating no step that was done', async () => {
    const { issue, ticket } = seed();
    fakes.github.failNext({ status: 422 }, { method: 'POST', path: /\/comments$/ });
    const failed = await call('PUT', linkPath(ticket.id), { issue_url: `#${issue.number}` });
    expect(failed.status).toBe(502);
    expect(failed.body).toMatchObject({ error: 'github_unavailable' });
    const retried = await call('PUT', linkPath(ticket.id), { issue_url: `#${issue.number}` });
    expect(retried.status).toBe(200);
    expect(notesOn(fakes.freescout, ticket.id)).toHaveLength(1);
    expect(linkComments(fakes.github, issue.number)).toHaveLength(1);
  });

  it('answers 409 already_linked for a ticket linked to another issue, or an issue linked to another ticket', async () => {
    const first = seed();
    const second = seed('Another issue');
    expect(
      (await call('PUT', linkPath(first.ticket.id), { issue_url: `#${first.issue.number}` })).status,
    ).toBe(200);
    const otherIssue = await call('PUT', linkPath(first.ticket.id), { issue_url: `#${second.issue.number}` });
    expect(otherIssue).toMatchObject({ status: 409, body: { error: 'already_linked' } });
    const otherTicket = await call('PUT', linkPath(second.ticket.id), {
      issue_url: `#${first.issue.number}`,
    });
    expect(otherTicket).toMatchObject({ status: 409, body: { error: 'already_linked' } });
    expect(notesOn(fakes.freescout, second.ticket.id)).toHaveLength(0);
  });

  it.each([
    ['an issue that does not exist', () => '#999'],
    ['an issue of another repository', () => 'someone/else#1'],
    ['a URL of another repository', () => `${fakes.github.url}/someone/else/issues/1`],
  ])('answers 422 issue_not_found for %s and changes nothing', async (_name, reference) => {
    const { ticket } = seed();
    const answer = await call('PUT', linkPath(ticket.id), { issue_url: reference() });
    expect(answer).toMatchObject({ status: 422, body: { error: 'issue_not_found' } });
    expect(notesOn(fakes.freescout, ticket.id)).toHaveLength(0);
    expect((await call('GET', linkPath(ticket.id))).status).toBe(404);
  });

  // GITHUB_API_URL is the loopback fake (http://127.0.0.1:<port>), so that is the configured
  // GitHub's origin here; in production it is https://github.com or the GHE host.
  it.each([
    ['another host', (number: number) => `https://evil.example/${OWNER}/${REPO}/issues/${number}`],
    [
      'another scheme',
      (number: number) => `${fakes.github.url.replace(/^http:/, 'https:')}/${OWNER}/${REPO}/issues/${number}`,
    ],
    ['another port', (number: number) => `http://127.0.0.1:9/${OWNER}/${REPO}/issues/${number}`],
    [
      'user info before another host',
      (number: number) => `${fakes.github.url}@evil.example/${OWNER}/${REPO}/issues/${number}`,
    ],
    [
      'github.com when another GitHub is configured',
      (number: number) => `https://github.com/${OWNER}/${REPO}/issues/${number}`,
    ],
  ])('answers 422 to an issue URL on %s before any call to GitHub', async (_name, url) => {
    const { issue, ticket } = seed();
    fakes.github.clearRequests();
    const answer = await call('PUT', linkPath(ticket.id), { issue_url: url(issue.number) });
    expect(answer).toMatchObject({ status: 422, body: { error: 'issue_not_found' } });
    expect(answer.body.message).toContain(fakes.github.url);
    expect(fakes.github.requests).toEqual([]);
    expect(notesOn(fakes.freescout, ticket.id)).toHaveLength(0);
  });

  it('answers 422 for an issue transferred to another repository (GitHub answers 301)', async () => {
    const { issue, ticket } = seed();
    fakes.github.state.transferIssue(issue.number, 'raxx-app/elsewhere');
    const answer = await call('PUT', linkPath(ticket.id), { issue_url: `#${issue.number}` });
    expect(answer).toMatchObject({ status: 422, body: { error: 'issue_not_found' } });
  });

  it.each([[''], ['not a url'], ['https://github.com/o/r/pull/1'], ['#0']])(
    'refuses issue_url %j with 400',
    async (issueUrl) => {
      const { ticket } = seed();
      const answer = await call('PUT', linkPath(ticket.id), { issue_url: issueUrl });
      expect(answer.status).toBe(400);
      expect(answer.body).toMatchObject({ error: 'invalid_payload' });
    },
  );

  it('answers 404 ticket_not_found for a ticket FreeScout does not have', async () => {
    const { issue } = seed();
    const answer = await call('PUT', linkPath(987654), { issue_url: `#${issue.number}` });
    expect(answer).toMatchObject({ status: 404, body: { error: 'ticket_not_found' } });
  });
});

describe('links made by hand are links for Direction B', () => {
  it('notes a close of a manually linked issue on its ticket', async () => {
    const { issue, ticket } = seed();
    await call('PUT', linkPath(ticket.id), { issue_url: `#${issue.number}` });
    const closed = await instance.deliver('issues', issuesEvent('closed', { number: issue.number }));
    expect(closed.status).toBe(202);
    await drainSync(instance, fakes.clock);
    expect(notesOn(fakes.freescout, ticket.id).map((note) => note.body)).toContainEqual(
      expect.stringContaining(`GitHub issue #${issue.number} closed`),
    );
  });
});

describe('links in each mailbox’s own field', () => {
  it('writes a Support ticket’s link to Support’s field and an Operations ticket’s to Operations’', async () => {
    const operations = seed();
    const supportIssue = fakes.github.state.insertIssue({ title: 'Login loops', labels: ['bug'] });
    const support = fakes.freescout.state.insertConversation({ mailboxId: 1, subject: 'Cannot log in' });
    for (const [ticketId, number] of [
      [operations.ticket.id, operations.issue.number],
      [support.id, supportIssue.number],
    ] as const) {
      expect((await call('PUT', linkPath(ticketId), { issue_url: `#${number}` })).status).toBe(200);
    }
    const supportUrl = `${fakes.github.url}/${OWNER}/${REPO}/issues/${supportIssue.number}`;
    expect(issueUrlShown(fakes.freescout, support.id)).toBe(supportUrl);
    expect(issueUrlShown(fakes.freescout, operations.ticket.id)).toBe(operations.htmlUrl);
    expect(fakes.freescout.state.conversation(support.id)?.customFieldValues).toEqual({
      [ISSUE_URL_FIELD_ID]: supportUrl,
    });
    expect(fakes.freescout.state.conversation(operations.ticket.id)?.customFieldValues).toEqual({
      [OPERATIONS_ISSUE_URL_FIELD_ID]: operations.htmlUrl,
    });
    expect((await call('GET', linkPath(support.id))).body).toMatchObject({ issue_url: supportUrl });
  });
});

describe('DELETE /api/console/tickets/{ticket_id}/github-link', () => {
  it('clears the field and notes the unlink; the ticket then reads as not linked', async () => {
    const { issue, ticket } = seed();
    await call('PUT', linkPath(ticket.id), { issue_url: `#${issue.number}` });
    const unlinked = await call('DELETE', linkPath(ticket.id));
    expect(unlinked).toMatchObject({ status: 200, body: { ticket_id: ticket.id, unlinked: true } });
    expect(issueUrlShown(fakes.freescout, ticket.id)).toBe('');
    expect(notesOn(fakes.freescout, ticket.id).at(-1)?.body).toContain(
      `GitHub issue #${issue.number} unlinked`,
    );
    expect(await call('GET', linkPath(ticket.id))).toMatchObject({
      status: 404,
      body: { error: 'not_linked' },
    });
    expect((await call('DELETE', linkPath(ticket.id))).status).toBe(404);

    // Linked again afterwards: a new note, and no second comment (the issue has it already).
    expect((await call('PUT', linkPath(ticket.id), { issue_url: `#${issue.number}` })).status).toBe(200);
    expect(linkComments(fakes.github, issue.number)).toHaveLength(1);
  });
});

describe('GET: the issue details the service keeps', () => {
  it('answers 404 not_linked for a ticket without a link', async () => {
    expect(await call('GET', linkPath(4242))).toMatchObject({ status: 404, body: { error: 'not_linked' } });
  });

  it("takes title, state and labels from GitHub's issues events, even actions it otherwise ignores", async () => {
    const { issue, ticket } = seed();
    await call('PUT', linkPath(ticket.id), { issue_url: `#${issue.number}` });
    fakes.github.clearRequests();
    const edited = issuesEvent('edited', { number: issue.number, title: 'Renamed', labels: ['bug', 'p1'] });
    (edited.issue as Record<string, unknown>).updated_at = '2026-11-24T12:30:00Z';
    expect((await instance.deliver('issues', edited)).status).toBe(200);
    const read = await call('GET', linkPath(ticket.id));
    expect(read.body.issue).toEqual({
      title: 'Renamed',
      state: 'open',
      labels: ['bug', 'p1'],
      updated_at: '2026-11-24T12:30:00.000Z',
    });
    expect(fakes.github.requests).toHaveLength(0);

    // An older event arriving late does not undo the newer copy.
    const late = issuesEvent('unlabeled', { number: issue.number, title: 'Old title', label: 'p1' });
    (late.issue as Record<string, unknown>).updated_at = '2026-11-24T12:10:00Z';
    await instance.deliver('issues', late);
    expect((await call('GET', linkPath(ticket.id))).body.issue).toMatchObject({ title: 'Renamed' });
  });

  it('refreshes a stale copy with one GitHub call for many readers at once', async () => {
    const { issue, ticket } = seed();
    await call('PUT', linkPath(ticket.id), { issue_url: `#${issue.number}` });
    fakes.clock.advance(10 * 60_000);
    fakes.github.state.editIssue(issue.number, { title: 'Fixed upstream', state: 'closed' });
    fakes.github.clearRequests();
    const reads = await Promise.all(Array.from({ length: 20 }, () => call('GET', linkPath(ticket.id))));
    expect(issueReads(issue.number)).toHaveLength(1);
    expect(reads.every((read) => read.status === 200)).toBe(true);
    expect(reads.at(-1)?.body.issue).toMatchObject({ title: 'Fixed upstream', state: 'closed' });
    // Fresh now: no call until it is stale again.
    await call('GET', linkPath(ticket.id));
    expect(issueReads(issue.number)).toHaveLength(1);
  });

  it('keeps the last copy of an issue transferred out of the repository', async () => {
    const { issue, ticket } = seed('Before the move');
    await call('PUT', linkPath(ticket.id), { issue_url: `#${issue.number}` });
    fakes.clock.advance(10 * 60_000);
    fakes.github.state.transferIssue(issue.number, 'raxx-app/elsewhere');
    const read = await call('GET', linkPath(ticket.id));
    expect(read.status).toBe(200);
    expect(read.body.issue).toMatchObject({ title: 'Before the move' });
  });

  it('reads many tickets in one request, leaving unlinked ones out, one GitHub call per stale issue', async () => {
    const linked = [seed('one'), seed('two'), seed('three')];
    for (const { ticket, issue } of linked) {
      await call('PUT', linkPath(ticket.id), { issue_url: `#${issue.number}` });
    }
    fakes.clock.advance(10 * 60_000);
    fakes.github.clearRequests();
    const ids = [...linked.map(({ ticket }) => ticket.id), 777777].join(',');
    const read = await call('GET', `/api/console/github-links?ticket_ids=${ids}`);
    expect(read.status).toBe(200);
    const links = read.body.links as Array<Record<string, unknown>>;
    expect(links.map((link) => link.ticket_id)).toEqual(linked.map(({ ticket }) => ticket.id));
    expect(links.map((link) => (link.issue as { title: string }).title)).toEqual(['one', 'two', 'three']);
    expect(fakes.github.requests.filter((request) => request.method === 'GET')).toHaveLength(3);
  }, 60_000);

  it.each([
    [''],
    ['1,x'],
    [Array.from({ length: 101 }, (_, index) => index + 1).join(',')],
    ['-1'],
    ['1,,2'],
    ['1,2,'],
    [',1'],
    ['1;2'],
    ['0'],
    ['1.5'],
    ['1e3'],
    ['2147483648'],
    ['1&ticket_ids=2'],
  ])('refuses ticket_ids=%j with 400 naming ticket_ids', async (ids) => {
    const read = await call('GET', `/api/console/github-links?ticket_ids=${ids}`);
    expect(read.status).toBe(400);
    expect(read.body).toMatchObject({
      error: 'invalid_payload',
      message: expect.stringContaining('ticket_ids'),
    });
  });

  it('reads ticket_ids with blanks around the items and a repeated id once', async () => {
    const { issue, ticket } = seed();
    await call('PUT', linkPath(ticket.id), { issue_url: `#${issue.number}` });
    const read = await call('GET', `/api/console/github-links?ticket_ids=${ticket.id},%20${ticket.id}%20`);
    expect(read.status).toBe(200);
    expect((read.body.links as unknown[]).length).toBe(1);
  });
});

describe('feature flags', () => {
  it('answers 404 on every route while both GitHub flags are off', async () => {
    const off = await startSyncInstance(database.db, fakes, { FLAG_GITHUB_FREESCOUT_SYNC: undefined });
    try {
      for (const [method, url] of [
        ['GET', linkPath(1)],
        ['PUT', linkPath(1)],
        ['DELETE', linkPath(1)],
        ['GET', '/api/console/github-links?ticket_ids=1'],
      ] as const) {
        const answer = await call(method, url, method === 'PUT' ? { issue_url: '#1' } : undefined, off);
        expect(answer).toMatchObject({ status: 404, body: { error: 'feature_disabled' } });
      }
    } finally {
      await off.close();
    }
  });
});

// Last: the refresh GitHub fails keeps retrying in the background after the answer.
describe('GitHub down', () => {
  it('serves the last copy when GitHub is down', async () => {
    const { issue, ticket } = seed();
    await call('PUT', linkPath(ticket.id), { issue_url: `#${issue.number}` });
    fakes.clock.advance(10 * 60_000);
    fakes.github.failNext({ status: 503 }, { method: 'GET', path: /\/issues\/\d+$/, times: 4 });
    const started = Date.now();
    const read = await call('GET', linkPath(ticket.id));
    expect(read.status).toBe(200);
    expect(read.body.issue).toMatchObject({ title: 'Checkout fails for EU customers' });
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
