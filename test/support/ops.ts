import { randomUUID } from 'node:crypto';
import type { Db } from '../../src/db/database.ts';
import type { PostmarkEventType } from '../../src/db/schema.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** What `seedOpsData` wrote, for tests to compare with what the page and summary show. */
export interface SeededOps {
  cache: { active: number; pending: number; closed: number; spam: number; deleted: number; expired: number };
  pollLastRun: Date;
  postmark24h: { delivered: number; bounced: number; spam: number };
  lastHour: { delivered: number; bounced: number };
  problems: Array<{ type: string; recipient: string; description: string }>;
  failedWork: Array<{ id: number; lastError: string }>;
  pendingWork: number;
  links: Array<{ ticket: number; issue: number }>;
  investigate: Array<{ surface: string; clicks: number; conversationId: number }>;
  signatureFailures: { route: string; count: number };
}

/**
 * A believable day of operations written straight into the tables (the way the service
 * would have left them), relative to `now`.
 */
export async function seedOpsData(db: Db, now: Date): Promise<SeededOps> {
  const at = (ms: number) => new Date(now.getTime() - ms);

  const cacheRows: Array<[string, number]> = [
    ['active', 5],
    ['pending', 2],
    ['closed', 3],
    ['spam', 1],
    ['deleted', 1],
  ];
  let ticket = 5000;
  for (const [status, count] of cacheRows) {
    for (let index = 0; index < count; index++) {
      ticket += 1;
      await db
        .insertInto('freescout_ticket_cache')
        .values({
          ticket_id: ticket,
          status: status as 'active',
          updated_at: at((ticket - 5000) * MINUTE),
          // One closed row is past its TTL.
          ttl_expires: status === 'closed' && index === 0 ? at(MINUTE) : new Date(now.getTime() + HOUR),
          refreshed_at: at(30_000),
          source: 'webhook',
        })
        .execute();
    }
  }
  const pollLastRun = at(45_000);
  await db
    .insertInto('freescout_poll_cursor')
    .values({ name: 'conversations', updated_since: at(2 * MINUTE), last_polled_at: pollLastRun })
    .execute();

  // Minute rollups for the last 24 hours: 120 deliveries an hour, 1 bounce, and a bad hour.
  const currentHour = Math.floor(now.getTime() / HOUR) * HOUR;
  const rollups: Array<{
    minute: Date;
    event_type: PostmarkEventType;
    bounce_type: string;
    shard: number;
    count: number;
  }> = [];
  const totals = { delivered: 0, bounced: 0, spam: 0 };
  for (let hour = 0; hour < 24; hour++) {
    const start = currentHour - hour * HOUR;
    // The current hour's rows sit at its first minute, never in the future.
    const minute = new Date(hour === 0 ? start : start + 30 * MINUTE);
    const bounced = hour === 5 ? 9 : 1;
    const spam = hour === 7 ? 1 : 0;
    rollups.push({ minute, event_type: 'Delivery', bounce_type: '', shard: 0, count: 120 });
    rollups.push({ minute, event_type: 'Bounce', bounce_type: 'HardBounce', shard: 0, count: bounced });
    if (spam) rollups.push({ minute, event_type: 'SpamComplaint', bounce_type: '', shard: 0, count: spam });
    totals.delivered += 120;
    totals.bounced += bounced;
    totals.spam += spam;
  }
  await db.insertInto('postmark_event_rollup').values(rollups).execute();
  const hourly: Array<{ hour: Date; event_type: PostmarkEventType; count: number }> = [];
  for (let hour = 24; hour < 7 * 24; hour++) {
    const start = new Date(currentHour - hour * HOUR);
    hourly.push({ hour: start, event_type: 'Delivery', count: 60 + (hour % 24) * 3 });
    hourly.push({ hour: start, event_type: 'Bounce', count: hour % 24 === 3 ? 4 : 1 });
  }
  await db.insertInto('postmark_event_hourly').values(hourly).execute();

  const problems = [
    { type: 'HardBounce', recipient: 'gone@example.com', description: 'Unknown user' },
    { type: 'SoftBounce', recipient: 'full@example.org', description: 'Mailbox full' },
    { type: 'SpamComplaint', recipient: 'angry@example.net', description: 'Marked as spam' },
  ];
  for (const [index, problem] of problems.entries()) {
    const spam = problem.type === 'SpamComplaint';
    await db
      .insertInto('postmark_event')
      .values({
        event_key: `seed-problem-${index}`,
        event_type: spam ? 'SpamComplaint' : 'Bounce',
        message_id: randomUUID(),
        recipient: problem.recipient,
        tag: 'support-outbound',
        bounce_type: problem.type,
        bounce_description: problem.description,
        postmark_id: 9000 + index,
        occurred_at: at((3 - index) * MINUTE),
        recorded_at: at((3 - index) * MINUTE),
        payload: '{}',
      })
      .execute();
    await db
      .insertInto('postmark_event')
      .values({
        event_key: `seed-delivery-${index}`,
        event_type: 'Delivery',
        message_id: randomUUID(),
        recipient: `ok${index}@example.com`,
        tag: 'support-outbound',
        bounce_type: null,
        bounce_description: null,
        postmark_id: null,
        occurred_at: at(MINUTE),
        recorded_at: at(MINUTE),
        payload: '{}',
      })
      .execute();
  }
  await db
    .insertInto('postmark_alert_sent')
    .values({
      kind: 'bounce_rate',
      alerted_at: at(5 * HOUR),
      rate: 9 / 129,
      threshold: 0.01,
      events: 9,
      messages: 129,
    })
    .execute();

  const failedWork: SeededOps['failedWork'] = [];
  for (const [index, status] of (['failed', 'failed', 'pending', 'pending', 'done'] as const).entries()) {
    const lastError =
      status === 'failed' ? `UpstreamError: GitHub answered 502 (attempt ${index + 1})` : null;
    const row = await db
      .insertInto('autolink_delivery')
      .values({
        dedup_key: `seed-${index}`,
        source: index % 2 === 0 ? 'ops' : 'support',
        event: 'convo.created',
        kind: 'created',
        conversation_id: 7100 + index,
        reported_status: null,
        close_key: null,
        status,
        attempts: status === 'failed' ? 10 : 1,
        next_attempt_at: at(MINUTE),
        last_error: lastError,
        outcome: status === 'done' ? 'issue_created' : null,
        received_at: at((10 - index) * MINUTE),
        updated_at: at(MINUTE),
        locked_by: null,
        locked_until: null,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    if (lastError) failedWork.push({ id: row.id, lastError });
  }

  const links = [
    { ticket: 7104, issue: 311 },
    { ticket: 6990, issue: 305 },
  ];
  for (const [index, link] of links.entries()) {
    await db
      .insertInto('autolink_link')
      .values({
        conversation_id: link.ticket,
        claim_id: randomUUID(),
        claimed_at: at((index + 1) * HOUR),
        issue_number: link.issue,
        issue_url: `https://github.com/raxx/app/issues/${link.issue}`,
        linked_at: at((index + 1) * HOUR),
        create_started_at: at((index + 1) * HOUR),
        field_written_at: at((index + 1) * HOUR),
        note_added_at: at((index + 1) * HOUR),
      })
      .execute();
  }

  const investigate = [
    { surface: 'billing-api', clicks: 4, conversationId: 8801 },
    { surface: 'status-page', clicks: 0, conversationId: 8802 },
  ];
  for (const [index, ticket] of investigate.entries()) {
    await db
      .insertInto('investigate_attempt')
      .values({
        workflow_id: randomUUID(),
        surface: ticket.surface,
        console_state: 'DEGRADED',
        requested_by: 'dana@raxx.app',
        started_at: at((index + 1) * 20 * MINUTE),
        outcome: 'created',
        conversation_id: ticket.conversationId,
        finished_at: at((index + 1) * 20 * MINUTE),
        clicks_absorbed: ticket.clicks,
      })
      .execute();
  }

  const signatureRoute = '/api/internal/freescout-webhook/rbac';
  const logRows = [
    [
      '/api/internal/freescout-webhook/audit',
      'convo.status',
      200,
      'processed',
      'ticket_id=5001 status=active updated=true',
    ],
    ['/webhooks/postmark/delivery', 'Bounce', 200, 'processed', null],
    ['/api/webhooks/freescout/ops', 'convo.created', 202, 'accepted', 'delivery_id=1'],
    [
      signatureRoute,
      'convo.status',
      401,
      'rejected',
      'invalid_signature: missing or invalid X-FreeScout-Signature',
    ],
    [
      signatureRoute,
      'convo.status',
      401,
      'rejected',
      'invalid_signature: missing or invalid X-FreeScout-Signature',
    ],
  ] as const;
  for (const [index, [route, event, status, outcome, detail]] of logRows.entries()) {
    await db
      .insertInto('delivery_log')
      .values({
        received_at: at((logRows.length - index) * MINUTE),
        route,
        event,
        delivery_id: route.includes('postmark') ? '9001' : null,
        status,
        duration_ms: 3.5,
        outcome,
        detail,
      })
      .execute();
  }

  return {
    cache: { active: 5, pending: 2, closed: 3, spam: 1, deleted: 1, expired: 1 },
    pollLastRun,
    postmark24h: totals,
    lastHour: { delivered: 120, bounced: 1 },
    problems,
    failedWork,
    pendingWork: 2,
    links,
    investigate,
    signatureFailures: { route: signatureRoute, count: 2 },
  };
}
