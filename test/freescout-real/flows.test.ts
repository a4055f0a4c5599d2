import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { runCli } from '../../src/cli/run.ts';
import { createFreeScoutClient } from '../../src/clients/freescout.ts';
import type { Db } from '../../src/db/database.ts';
import { pollFreescoutChanges } from '../../src/features/freescout-webhooks/poller.ts';
import { systemClock } from '../../src/lib/clock.ts';
import { captureOutput } from '../cli/capture.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { openTestDatabase } from '../support/db.ts';
import { type FakeGitHub, startFakeGitHub } from '../support/fake-github.ts';
import { BOT_LOGIN, issuesEvent, OWNER, REPO, signGitHub } from '../support/github-sync.ts';
import { useFixture, useTestDatabase } from '../support/setup.ts';
import { type RealFreeScout, realFreeScout } from './instance.ts';

/**
 * Whole flows against a real FreeScout: the service listens on loopback, FreeScout's own
 * webhooks (registered by `freescout webhooks register`) reach it, its background jobs run on
 * real time, and GitHub is the loopback fake. Every wait is on a condition, with FreeScout's
 * real timings as the bound: webhooks leave from its queue worker (about a second here), a
 * failed one is retried at the next minute tick of its schedule.
 *
 * The flows share one helpdesk and one app, so each looks only at its own conversations and
 * issues (found by a unique subject or title).
 */
const real = realFreeScout();

if ('missing' in real) {
  it('whole flows on a real FreeScout', (context) => context.skip(real.missing));
} else {
  flowsOn(real.instance);
}

const GITHUB_TOKEN = 'ghp_real_freescout_flows';
const GITHUB_WEBHOOK_SECRET = 'real-freescout-github-secret';
const CONSOLE_TOKEN = 'real-freescout-console-token';
const RESOLVED = /^FreeScout ticket resolved \(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\)$/;
/** Where the app that answers 503 first listens: FreeScout retries the URL it was given. */
const RETRY_APP_PORT = 19_210;
/** One webhook round trip: the queue worker's sleep, the service's work, the load of this machine. */
const WEBHOOK_MS = 45_000;
/** A retry waits for the next minute tick of FreeScout's schedule, then the queue worker. */
const RETRY_MS = 150_000;

// biome-ignore lint/suspicious/noExplicitAny: wire bodies are read field by field
type Json = Record<string, any>;
type Env = Record<string, string | undefined>;

function flowsOn(fs: RealFreeScout) {
  const mailboxes = { support: fs.mailboxes.Support, operations: fs.mailboxes.Operations };
  const fields = { support: fs.custom_fields.Support, operations: fs.custom_fields.Operations };

  async function api(method: string, path: string, body?: unknown): Promise<{ status: number; body: Json }> {
    const response = await fetch(`${fs.url}${path}`, {
      method,
      headers: { 'x-freescout-api-key': fs.api_key, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    // An error page (HTML) is kept as text, so the failure shows what FreeScout said.
    const json = /^\s*[[{]/.test(text) ? (JSON.parse(text) as Json) : { page: text.slice(0, 200) };
    return { status: response.status, body: text === '' ? {} : json };
  }

  /**
   * An agent tags a ticket. Two requests that first use the same new tag name at once make the
   * Tags module answer 500 for one (observed: a duplicate key on `tags.name`); the agent retries.
   */
  async function tag(id: number, tags: string[]): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const answer = await api('PUT', `/api/conversations/${id}/tags`, { tags });
      if (answer.status === 204) return;
      if (answer.status < 500 || attempt === 3) throw new Error(`tagging answered ${answer.status}`);
    }
  }

  let serial = 0;
  const unique = (what: string) => `${what} ${Date.now()}-${++serial}`;

  /** A customer writes in (FreeScout fires `convo.created` at once). */
  async function customerTicket(mailboxId: number, subject: string): Promise<number> {
    const created = await api('POST', '/api/conversations', {
      type: 'email',
      mailboxId,
      subject,
      customer: { email: 'customer@example.test' },
      threads: [{ type: 'customer', text: `${subject}: it fails when I pay` }],
    });
    expect(created.status).toBe(201);
    return created.body.id as number;
  }

  const conversation = async (id: number) =>
    (await api('GET', `/api/conversations/${id}?embed=threads,tags`)).body;
  const tagsOf = (ticket: Json) => (ticket._embedded?.tags ?? []).map((tag: Json) => tag.name);
  const notesOf = (ticket: Json) =>
    (ticket._embedded?.threads ?? [])
      .filter((thread: Json) => thread.type === 'note')
      .map((thread: Json) => thread.body);
  const fieldValue = (ticket: Json, fieldId: number) =>
    (ticket.customFields ?? []).find((field: Json) => field.id === fieldId)?.value ?? '';

  const issuesTitled = (github: FakeGitHub, title: string) =>
    github.state.issues().filter((issue) => issue.title.includes(title));

  function appEnv(github: FakeGitHub, overrides: Record<string, string | undefined> = {}) {
    return {
      LOG_LEVEL: 'silent',
      FREESCOUT_API_URL: fs.url,
      FREESCOUT_API_KEY: fs.api_key,
      FREESCOUT_API_USER_ID: String(fs.admin_user_id),
      FREESCOUT_PUBLIC_URL: fs.url,
      FLAG_FREESCOUT_WEBHOOK_RECEIVE: '1',
      // The stock module signs every webhook of the instance with one derived secret.
      FREESCOUT_AUDIT_WEBHOOK_SECRET: fs.webhook_secret,
      FLAG_FREESCOUT_GITHUB_AUTOLINK: '1',
      FREESCOUT_WEBHOOK_SECRET: fs.webhook_secret,
      FREESCOUT_AUTOLINK_MAILBOX_IDS: `${mailboxes.support},${mailboxes.operations}`,
      FREESCOUT_AUTOLINK_SWEEP_SECONDS: '5',
      FLAG_CONSOLE_INVESTIGATE_FROM_STATUS: '1',
      INTERNAL_API_TOKEN: CONSOLE_TOKEN,
      FREESCOUT_OPERATIONS_MAILBOX_ID: String(mailboxes.operations),
      FLAG_GITHUB_FREESCOUT_SYNC: '1',
      GITHUB_WEBHOOK_SECRET,
      GITHUB_REPO: `${OWNER}/${REPO}`,
      GITHUB_ISSUE_BOT_TOKEN: GITHUB_TOKEN,
      GITHUB_API_URL: github.url,
      ...overrides,
    };
  }

  const startGitHub = () =>
    startFakeGitHub({ owner: OWNER, repo: REPO, token: GITHUB_TOKEN, login: BOT_LOGIN, clock: systemClock });

  /** The operator's command, run against the instance's database and settings. */
  async function cli(db: Db, env: Env, ...argv: string[]) {
    const output = captureOutput();
    const code = await runCli(argv, env, output, { db });
    expect({ code, stderr: output.stderr }).toEqual({ code: 0, stderr: [] });
    return output.stdout;
  }
  const register = (target: TestApp, db: Db, env: Env, feature: string) =>
    cli(db, env, 'freescout', 'webhooks', 'register', '--feature', feature, '--url', target.url);
  const remove = (db: Db, env: Env, feature: string) =>
    cli(db, env, 'freescout', 'webhooks', 'remove', '--feature', feature);

  const database = useTestDatabase();
  const github = useFixture(startGitHub);
  const env = () => appEnv(github);
  const app = useFixture(() =>
    startTestApp({ db: database.db, env: env(), listen: true, backgroundJobs: true }),
  );
  const FEATURES = ['audit', 'autolink'];

  beforeAll(async () => {
    for (const feature of FEATURES) await register(app, database.db, env(), feature);
  });
  afterAll(async () => {
    // Before the app closes (hooks run in reverse): no webhook is left posting to a closed port.
    for (const feature of FEATURES) await remove(database.db, env(), feature);
  });

  async function githubWebhook(target: TestApp, event: string, payload: unknown) {
    const raw = JSON.stringify(payload);
    const response = await fetch(`${target.url}/api/webhooks/github`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'GitHub-Hookshot/044aadd',
        'x-github-event': event,
        'x-github-delivery': crypto.randomUUID(),
        'x-hub-signature-256': signGitHub(raw, GITHUB_WEBHOOK_SECRET),
      },
      body: raw,
    });
    expect(response.status).toBe(202);
  }

  /** Waits for the ticket's issue: one issue, its URL in the ticket's own mailbox's field. */
  async function linkedIssue(ticketId: number, title: string, fieldId: number) {
    await vi.waitFor(
      async () => expect(fieldValue(await conversation(ticketId), fieldId)).toMatch(/\/issues\/\d+$/),
      { timeout: WEBHOOK_MS, interval: 500 },
    );
    const ticket = await conversation(ticketId);
    const issues = issuesTitled(github, title);
    expect(issues).toHaveLength(1);
    const [issue] = issues;
    expect(fieldValue(ticket, fieldId)).toBe(`${github.url}/${OWNER}/${REPO}/issues/${issue?.number}`);
    return { ticket, issue: issue as NonNullable<typeof issue> };
  }

  describe('with FreeScout’s webhooks registered by the CLI', () => {
    it.concurrent('Investigate opens one tagged Operations ticket per surface, with its workflow id; a repeat click gets the same one; autolink links it', async () => {
      const surface = `payments-${Date.now()}`;
      const click = () =>
        app.app.inject({
          method: 'POST',
          url: '/api/console/status/investigate',
          headers: { authorization: `Bearer ${CONSOLE_TOKEN}` },
          payload: { surface, state: 'DEGRADED' },
        });
      const first = await click();
      expect(first.statusCode).toBe(201);
      const { conversation_id: id, workflow_id: workflowId } = first.json();
      const again = await click();
      expect(again.statusCode).toBe(200);
      expect(again.json()).toMatchObject({
        conversation_id: id,
        workflow_id: workflowId,
        deduplicated: true,
      });

      const ticket = await conversation(id);
      expect(ticket).toMatchObject({ mailboxId: mailboxes.operations });
      expect(ticket.subject).toContain(workflowId);
      expect(tagsOf(ticket)).toContain('auto:status');
      const listed = await api('GET', `/api/conversations?mailboxId=${mailboxes.operations}&pageSize=100`);
      expect(
        listed.body._embedded.conversations.filter((candidate: Json) => candidate.subject.includes(surface)),
      ).toHaveLength(1);
      await linkedIssue(id, workflowId, fields.operations);
    });

    for (const mailbox of ['support', 'operations'] as const) {
      it.concurrent(`Direction A: a tagged ${mailbox} ticket gets one issue, its URL in ${mailbox}’s own field and a note`, async () => {
        const subject = unique(`Direction A ${mailbox}`);
        const id = await customerTicket(mailboxes[mailbox], subject);
        await tag(id, ['Bug']);
        // The tag reaches the service with the next event: an agent's note.
        await api('POST', `/api/conversations/${id}/threads`, {
          type: 'note',
          text: 'Looking',
          user: fs.admin_user_id,
        });
        const { issue } = await linkedIssue(id, subject, fields[mailbox]);
        await vi.waitFor(
          async () => expect(notesOf(await conversation(id)).join('\n')).toContain(`/issues/${issue.number}`),
          {
            timeout: WEBHOOK_MS,
            interval: 500,
          },
        );

        // Closing the ticket comments once on the issue, which stays open.
        const closed = await api('PUT', `/api/conversations/${id}`, {
          status: 'closed',
          byUser: fs.admin_user_id,
        });
        expect(closed.status).toBe(204);
        await vi.waitFor(
          () =>
            expect(issue.comments.map((comment) => comment.body)).toContainEqual(
              expect.stringMatching(RESOLVED),
            ),
          {
            timeout: WEBHOOK_MS,
            interval: 500,
          },
        );
        // A second look after every event of the close has had time to arrive.
        await api('POST', `/api/conversations/${id}/threads`, {
          type: 'note',
          text: 'Closed for good',
          user: fs.admin_user_id,
        });
        await vi.waitFor(async () => expect(notesOf(await conversation(id))).toContain('Closed for good'));
        await new Promise((resolve) => setTimeout(resolve, 3_000));
        expect(issue.comments.filter((comment) => RESOLVED.test(comment.body))).toHaveLength(1);
        expect(issuesTitled(github, subject)).toHaveLength(1);
        expect(github.state.issue(issue.number)?.state).toBe('open');
      });
    }

    it.concurrent('a tag added after the ticket arrived, with no event after it, is found by the sweep', async () => {
      const subject = unique('Tagged later');
      const id = await customerTicket(mailboxes.support, subject);
      // The service has seen the ticket (its convo.created) and found nothing to do.
      await vi.waitFor(
        async () =>
          expect(
            await database.db
              .selectFrom('autolink_delivery')
              .select('status')
              .where('conversation_id', '=', id)
              .where('status', '=', 'done')
              .execute(),
          ).not.toHaveLength(0),
        { timeout: WEBHOOK_MS, interval: 500 },
      );
      expect(issuesTitled(github, subject)).toHaveLength(0);
      await tag(id, ['feature_request']);
      await linkedIssue(id, subject, fields.support);
    });

    it.concurrent('Direction B: a labelled issue opens one Operations ticket with the issue URL in its field; closing the issue adds a note', async () => {
      const title = unique('Direction B');
      const issue = github.state.insertIssue({ title, labels: [] });
      await githubWebhook(
        app,
        'issues',
        issuesEvent('labeled', { number: issue.number, title, label: 'customer-reported' }),
      );
      const link = await vi.waitFor(
        async () => {
          const row = await database.db
            .selectFrom('autolink_link')
            .selectAll()
            .where('issue_number', '=', issue.number)
            .executeTakeFirst();
          expect(row).toBeDefined();
          return row as NonNullable<typeof row>;
        },
        { timeout: WEBHOOK_MS, interval: 500 },
      );
      // Tags go on after the create (FreeScout drops them on create).
      await vi.waitFor(
        async () => expect(tagsOf(await conversation(link.conversation_id))).toContain('_from_github'),
        {
          timeout: WEBHOOK_MS,
          interval: 500,
        },
      );
      const ticket = await conversation(link.conversation_id);
      expect(ticket).toMatchObject({ mailboxId: mailboxes.operations, subject: title });
      expect(fieldValue(ticket, fields.operations)).toBe(
        `https://github.com/${OWNER}/${REPO}/issues/${issue.number}`,
      );
      await vi.waitFor(
        () =>
          expect(issue.comments.map((comment) => comment.body)).toEqual([
            `[freescout-autolink] FreeScout ticket: ${fs.url}/conversation/${link.conversation_id}`,
          ]),
        { timeout: WEBHOOK_MS, interval: 500 },
      );

      await githubWebhook(
        app,
        'issues',
        issuesEvent('closed', { number: issue.number, title, labels: ['customer-reported'] }),
      );
      await vi.waitFor(
        async () =>
          expect(notesOf(await conversation(link.conversation_id)).join('\n')).toContain(`#${issue.number}`),
        { timeout: WEBHOOK_MS, interval: 500 },
      );
      expect(notesOf(await conversation(link.conversation_id))).toHaveLength(1);
    });

    it.concurrent('a delivery the service answered 503 (its secret not yet set) is retried by FreeScout and opens one issue', async () => {
      // An app of its own (database, GitHub, port) that acts only on its own tag.
      const retryDatabase = await openTestDatabase();
      const retryGitHub = await startGitHub();
      const retryEnv = appEnv(retryGitHub, {
        FLAG_FREESCOUT_WEBHOOK_RECEIVE: undefined,
        FLAG_CONSOLE_INVESTIGATE_FROM_STATUS: undefined,
        FLAG_GITHUB_FREESCOUT_SYNC: undefined,
        FREESCOUT_AUTOLINK_TAGS: 'retry-probe',
        FREESCOUT_AUTOLINK_SWEEP_SECONDS: '0',
      });
      const unconfigured = await startTestApp({
        db: retryDatabase.db,
        env: { ...retryEnv, FREESCOUT_WEBHOOK_SECRET: undefined },
        listen: true,
        port: RETRY_APP_PORT,
        backgroundJobs: true,
      });
      let configured: TestApp | undefined;
      try {
        await register(unconfigured, retryDatabase.db, retryEnv, 'autolink');
        const subject = unique('Retried delivery');
        const id = await customerTicket(mailboxes.support, subject);
        await tag(id, ['retry-probe']);
        await vi.waitFor(
          async () =>
            expect(
              await retryDatabase.db
                .selectFrom('delivery_log')
                .select(['status', 'event'])
                .where('route', 'like', '/api/webhooks/freescout/%')
                .execute(),
            ).toContainEqual({ status: 503, event: 'convo.created' }),
          { timeout: WEBHOOK_MS, interval: 250 },
        );
        await unconfigured.close();
        configured = await startTestApp({
          db: retryDatabase.db,
          env: retryEnv,
          listen: true,
          port: RETRY_APP_PORT,
          backgroundJobs: true,
        });

        await vi.waitFor(() => expect(issuesTitled(retryGitHub, subject)).toHaveLength(1), {
          timeout: RETRY_MS,
          interval: 1_000,
        });
        const [issue] = issuesTitled(retryGitHub, subject);
        await vi.waitFor(
          async () =>
            expect(fieldValue(await conversation(id), fields.support)).toContain(`/issues/${issue?.number}`),
          { timeout: WEBHOOK_MS, interval: 500 },
        );
        // The retry and every later event of this ticket lead to that one issue and note.
        await api('POST', `/api/conversations/${id}/threads`, {
          type: 'note',
          text: 'After the retry',
          user: fs.admin_user_id,
        });
        await vi.waitFor(
          async () =>
            expect(
              await retryDatabase.db
                .selectFrom('delivery_log')
                .select('event')
                .where('event', '=', 'convo.note.created')
                .where('status', '=', 202)
                .execute(),
            ).not.toHaveLength(0),
          { timeout: WEBHOOK_MS, interval: 500 },
        );
        expect(issuesTitled(retryGitHub, subject)).toHaveLength(1);
        expect(
          notesOf(await conversation(id)).filter((note: string) => note.includes('/issues/')),
        ).toHaveLength(1);
      } finally {
        await remove(retryDatabase.db, retryEnv, 'autolink');
        await (configured ?? unconfigured).close();
        await retryGitHub.close();
        await retryDatabase.close();
      }
    });
  });

  describe('with the webhooks removed', () => {
    it('the poller brings a close into the cache', async () => {
      const id = await customerTicket(mailboxes.support, unique('Polled close'));
      const cached = () =>
        database.db
          .selectFrom('freescout_ticket_cache')
          .selectAll()
          .where('ticket_id', '=', id)
          .executeTakeFirst();
      await vi.waitFor(
        async () => expect(await cached()).toMatchObject({ status: 'active', source: 'webhook' }),
        {
          timeout: WEBHOOK_MS,
          interval: 500,
        },
      );
      for (const feature of FEATURES) await remove(database.db, env(), feature);
      const freescout = createFreeScoutClient({ baseUrl: fs.url, apiKey: fs.api_key });
      try {
        expect(
          (await api('PUT', `/api/conversations/${id}`, { status: 'closed', byUser: fs.admin_user_id }))
            .status,
        ).toBe(204);
        await new Promise((resolve) => setTimeout(resolve, 3_000));
        expect(await cached()).toMatchObject({ status: 'active' });

        const deps = {
          config: app.config,
          db: database.db,
          clients: { freescout },
          clock: systemClock,
          log: app.app.log,
        };
        await pollFreescoutChanges(deps, { holder: 'real-freescout-suite' });
        expect(await cached()).toMatchObject({ status: 'closed', source: 'poll' });
      } finally {
        await freescout.close();
        for (const feature of FEATURES) await register(app, database.db, env(), feature);
      }
    });
  });
}
