import { beforeAll, describe, expect, it } from 'vitest';
import { drain, issuePosts, notesOn, subscribe, useAutolink } from '../support/autolink.ts';

/**
 * An Investigate click, end to end: the ticket is created in FreeScout (which drops tags sent
 * with the create), tagged `auto:status` afterwards, evaluated by autolink without waiting for
 * FreeScout's webhook, and linked to exactly one GitHub issue — while FreeScout's webhooks for
 * the service's own writes (the created ticket, its note) come back and change nothing.
 */

const TOKEN = 'e2e-internal-token';
const { database, fakes, instance } = useAutolink({
  env: ({ freescout }) => ({
    FREESCOUT_WEBHOOK_SECRET: freescout.webhookSecret,
    FLAG_CONSOLE_INVESTIGATE_FROM_STATUS: '1',
    FREESCOUT_OPERATIONS_MAILBOX_ID: '2',
    INTERNAL_API_TOKEN: TOKEN,
  }),
  listen: true,
});
beforeAll(() => subscribe(fakes, instance));

describe('an Investigate ticket', () => {
  it('reaches GitHub as exactly one issue, its own webhooks causing nothing more', async () => {
    const click = await instance.app.app.inject({
      method: 'POST',
      url: '/api/console/status/investigate',
      headers: { authorization: `Bearer ${TOKEN}` },
      payload: {
        surface: 'payments',
        state: 'DEGRADED',
        tile_url: 'https://console.raxx.test/status#payments',
      },
    });
    expect(click.statusCode).toBe(201);
    const conversationId = click.json().conversation_id as number;
    const ticket = fakes.freescout.state.conversation(conversationId);
    expect(ticket?.tags.map((tag) => tag.name)).toEqual(['auto:status']);

    // Queued at once by the service itself, not only by FreeScout's webhook.
    const queued = await database.db
      .selectFrom('autolink_delivery')
      .select(['event', 'kind', 'conversation_id'])
      .where('event', '=', 'raptor.created_by_service')
      .execute();
    expect(queued).toEqual([
      { event: 'raptor.created_by_service', kind: 'evaluate', conversation_id: conversationId },
    ]);

    await fakes.freescout.state.flushWebhooks();
    await drain(instance, fakes.clock);
    await fakes.freescout.state.flushWebhooks();
    await drain(instance, fakes.clock);

    expect(issuePosts(fakes.github)).toHaveLength(1);
    expect(issuePosts(fakes.github)[0]?.body).toMatchObject({ labels: ['freescout-linked', 'ops'] });
    expect(notesOn(fakes.freescout, conversationId)).toHaveLength(1);
    const events = fakes.freescout.state.deliveries.map((delivery) => [delivery.event, delivery.status]);
    expect(events).toEqual([
      ['convo.created', 202],
      ['convo.note.created', 202],
    ]);
    const rows = await database.db
      .selectFrom('autolink_delivery')
      .select(['event', 'status', 'attempts'])
      .orderBy('id')
      .execute();
    expect(rows.every((row) => row.status === 'done')).toBe(true);
    expect(rows.map((row) => row.event).sort()).toEqual(
      ['convo.created', 'convo.note.created', 'raptor.created_by_service'].sort(),
    );
  });
});
