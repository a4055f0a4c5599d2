import { beforeEach, describe, expect, it } from 'vitest';
import { createFreeScoutClient } from '../../src/clients/freescout.ts';
import { createSlackClient } from '../../src/clients/slack.ts';
import { loadConfig } from '../../src/config.ts';
import { recordOperatorInteraction } from '../../src/features/freescout-webhooks/audit.ts';
import { deliverSecurityNotifications } from '../../src/features/freescout-webhooks/notifications.ts';
import { pollFreescoutChanges } from '../../src/features/freescout-webhooks/poller.ts';
import type { ServiceDeps } from '../../src/lib/deps.ts';
import { createLogger } from '../../src/lib/logger.ts';
import { manualClock } from '../support/app.ts';
import {
  drain,
  notesOn,
  startAutolinkFakes,
  startAutolinkInstance,
  webhookBody,
} from '../support/autolink.ts';
import { truncate } from '../support/db.ts';
import { startFakeFreeScout } from '../support/fake-freescout.ts';
import type { Fault } from '../support/fake-http.ts';
import { startFakeSlack } from '../support/fake-slack.ts';
import {
  drainSync,
  issuesEvent,
  issueUrl,
  linkComments,
  startSyncFakes,
  startSyncInstance,
  notesOn as syncNotesOn,
} from '../support/github-sync.ts';
import { useFixture, useTestDatabase } from '../support/setup.ts';

const log = createLogger({ level: 'silent', secretValues: [] });
const FAULTS: Array<[string, Fault]> = [
  ['a 500', { status: 500 }],
  ['a 429 with Retry-After', { status: 429, retryAfter: 1 }],
  ['a hang past the timeout', { hang: true }],
  ['a connection reset', { reset: true }],
];

const clock = manualClock(new Date('2026-11-24T12:00:00Z'));
const database = useTestDatabase();
const slack = useFixture(() => startFakeSlack());
const slackClient = useFixture(async () =>
  createSlackClient({ apiUrl: slack.url, token: 'xoxb-faults', timeoutMs: 300 }),
);
const freescout = useFixture(() => startFakeFreeScout({ apiKey: 'fs-key', clock }));
const freescoutClient = useFixture(async () =>
  createFreeScoutClient({ baseUrl: freescout.url, apiKey: 'fs-key', timeoutMs: 300 }),
);

describe('Slack faults and security notifications', () => {
  beforeEach(async () => {
    await truncate(database, 'security_notification', 'operator_interaction_audit');
    slack.reset();
  });

  it.each(FAULTS)('delivers exactly once after %s, with bounded attempts', async (_name, fault) => {
    const deps: ServiceDeps = {
      config: loadConfig({ SLACK_OPERATOR_DM_CHANNEL: 'D0AJ7K184TV' }),
      db: database.db,
      clients: { slack: slackClient },
      clock,
      log,
    };
    await recordOperatorInteraction(
      { db: database.db, clock },
      { operator_id: 'op', ticket_id: 1, action: 'read' },
    );
    slack.failNext(fault);
    expect(await deliverSecurityNotifications(deps)).toEqual({ delivered: 0, failed: 1 });
    const [pending] = await database.db.selectFrom('security_notification').selectAll().execute();
    expect(pending).toMatchObject({ attempts: 1, delivered_at: null, last_error: expect.any(String) });
    expect(new Date(pending?.next_attempt_at ?? 0).getTime()).toBeGreaterThan(clock.now().getTime());

    clock.advance(20 * 60_000);
    expect(await deliverSecurityNotifications(deps)).toEqual({ delivered: 1, failed: 0 });
    clock.advance(20 * 60_000);
    expect(await deliverSecurityNotifications(deps)).toEqual({ delivered: 0, failed: 0 });
    expect(slack.state.messages).toHaveLength(1);
  });
});

describe('FreeScout faults and the cache poller', () => {
  beforeEach(() => truncate(database, 'freescout_ticket_cache', 'freescout_poll_cursor', 'job_lease'));

  it.each(FAULTS)('loses no change across %s on the conversation list', async (_name, fault) => {
    const deps: ServiceDeps = {
      config: loadConfig({
        FREESCOUT_CACHE_TTL_SECONDS: '3600',
        FREESCOUT_CACHE_POLL_INTERVAL_SECONDS: '60',
      }),
      db: database.db,
      clients: { freescout: freescoutClient },
      clock,
      log,
    };
    const conversation = freescout.state.insertConversation({ status: 'active' });
    freescout.failNext(fault, { method: 'GET', path: /^\/api\/conversations$/, times: 3 });
    await pollFreescoutChanges(deps, { holder: 'a' }).catch(() => undefined);
    clock.advance(60_000);
    await pollFreescoutChanges(deps, { holder: 'a' });
    const row = await database.db
      .selectFrom('freescout_ticket_cache')
      .select('status')
      .where('ticket_id', '=', conversation.id)
      .executeTakeFirst();
    expect(row?.status).toBe('active');
  });
});

describe('GitHub and FreeScout faults and the autolink worker', () => {
  const faultsOnCreate: Array<[string, Fault]> = [
    ['a 500', { status: 500 }],
    ['a 429 with Retry-After', { status: 429, retryAfter: 1 }],
    ['a connection reset before GitHub acted', { reset: true }],
    ['a lost answer after GitHub created the issue', { applyThenReset: true }],
  ];
  const fakes = useFixture(() => startAutolinkFakes());
  const instance = useFixture(() => startAutolinkInstance(database.db, fakes));

  it.each(faultsOnCreate)('opens exactly one issue and writes it back after %s', async (_name, fault) => {
    const ticket = fakes.freescout.state.insertConversation({
      mailboxId: 1,
      subject: 'Orders fail',
      tags: ['bug'],
    });
    fakes.github.failNext(fault, { method: 'POST', path: /\/issues$/ });
    fakes.freescout.failNext({ status: 503 }, { method: 'PUT', path: /custom_fields$/ });
    await instance.deliver('convo.created', webhookBody(ticket));
    await drain(instance, fakes.clock);
    const issues = fakes.github.state
      .issues()
      .filter((issue) => issue.body?.includes(`ticket:${ticket.id} `));
    expect(issues).toHaveLength(1);
    expect(fakes.freescout.state.conversation(ticket.id)?.customFields).toContainEqual(
      expect.objectContaining({ value: expect.stringContaining(`/issues/${issues[0]?.number}`) }),
    );
    expect(notesOn(fakes.freescout, ticket.id)).toHaveLength(1);
  });
});

describe('FreeScout faults and the GitHub sync worker (Direction B)', () => {
  const freescoutFaults: Array<[string, Fault]> = [
    ['a 500', { status: 500 }],
    ['a 429 with Retry-After', { status: 429, retryAfter: 1 }],
    ['a hang past the timeout', { hang: true }],
  ];
  const writes: Array<[string, string, RegExp]> = [
    ['the ticket create', 'POST', /^\/api\/conversations$/],
    ['the tag write', 'PUT', /\/tags$/],
  ];
  const fakes = useFixture(startSyncFakes);
  const instance = useFixture(() => startSyncInstance(database.db, fakes, {}, { freescoutTimeoutMs: 300 }));
  beforeEach(() => truncate(database, 'github_sync_delivery', 'github_sync_issue', 'autolink_link'));

  const cases = writes.flatMap(([write, method, path]) =>
    freescoutFaults.map(([name, fault]) => [write, name, method, path, fault] as const),
  );

  it.each(cases)('opens exactly one tagged ticket and one comment after %s meets %s', async (...args) => {
    const [, , method, path, fault] = args;
    const issue = fakes.github.state.insertIssue({ title: 'Refunds stuck' });
    fakes.freescout.failNext(fault, { method, path });
    const reply = await instance.deliver(
      'issues',
      issuesEvent('labeled', {
        number: issue.number,
        label: 'regression',
      }),
    );
    expect(reply.status).toBe(202);
    await drainSync(instance, fakes.clock);
    const tickets = fakes.freescout.state
      .conversations()
      .filter((conversation) =>
        conversation.customFields.some((field) => field.value === issueUrl(issue.number)),
      );
    expect(tickets).toHaveLength(1);
    expect(tickets[0]?.tags.map((tag) => tag.name).sort()).toEqual(['_from_github', 'bug', 'regression']);
    expect(linkComments(fakes.github, issue.number)).toHaveLength(1);
  });

  it.each(freescoutFaults)(
    'adds exactly one confirmation note after %s on the note',
    async (_name, fault) => {
      const issue = fakes.github.state.insertIssue({ title: 'Payouts late' });
      await instance.deliver(
        'issues',
        issuesEvent('labeled', { number: issue.number, label: 'customer-reported' }),
      );
      await drainSync(instance, fakes.clock);
      const ticket = fakes.freescout.state
        .conversations()
        .find((conversation) =>
          conversation.customFields.some((field) => field.value === issueUrl(issue.number)),
        );
      fakes.freescout.failNext(fault, { method: 'POST', path: /\/threads$/ });
      await instance.deliver(
        'issues',
        issuesEvent('labeled', {
          number: issue.number,
          label: 'needs-customer-confirm',
          labels: ['customer-reported'],
        }),
      );
      await drainSync(instance, fakes.clock);
      expect(syncNotesOn(fakes.freescout, ticket?.id ?? 0)).toHaveLength(1);
    },
  );
});
