import { describe, expect, it } from 'vitest';
import {
  githubExample,
  issuesEvent,
  signGitHub,
  startSyncInstance,
  useGitHubSync,
} from '../support/github-sync.ts';

const { database, fakes, instance } = useGitHubSync();

const storedDeliveries = () => database.db.selectFrom('github_sync_delivery').selectAll().execute();

describe('POST /api/webhooks/github', () => {
  it('answers 404 feature_disabled while FLAG_GITHUB_FREESCOUT_SYNC is off', async () => {
    const off = await startSyncInstance(database.db, fakes, { FLAG_GITHUB_FREESCOUT_SYNC: undefined });
    try {
      const reply = await off.deliver(
        'issues',
        issuesEvent('labeled', { number: 1, label: 'customer-reported' }),
      );
      expect(reply).toEqual({
        status: 404,
        body: { error: 'feature_disabled', message: expect.any(String) },
      });
    } finally {
      await off.close();
    }
  });

  it('answers 503 not_configured when GITHUB_WEBHOOK_SECRET is unset', async () => {
    const unset = await startSyncInstance(database.db, fakes, { GITHUB_WEBHOOK_SECRET: undefined });
    try {
      const reply = await unset.deliver('ping', githubExample('ping'));
      expect(reply.status).toBe(503);
      expect(reply.body.error).toBe('not_configured');
    } finally {
      await unset.close();
    }
  });

  it("accepts GitHub's published test vector", async () => {
    const vector = await startSyncInstance(database.db, fakes, {
      GITHUB_WEBHOOK_SECRET: "It's a Secret to Everybody",
    });
    try {
      const reply = await vector.deliver('ping', 'Hello, World!', {
        signature: 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17',
      });
      expect(reply.status).toBe(200);
    } finally {
      await vector.close();
    }
  });

  it('answers ping with 200', async () => {
    expect(await instance.deliver('ping', githubExample('ping'))).toEqual({
      status: 200,
      body: { ok: true },
    });
  });

  it.each([
    ['missing', null],
    ['wrong', signGitHub('{"other":"body"}')],
    ['signed with another secret', 'sha256=0000'],
    ['not prefixed', signGitHub('x').replace('sha256=', '')],
  ])('rejects a %s signature with 401 and stores nothing', async (_name, signature) => {
    const reply = await instance.deliver(
      'issues',
      issuesEvent('labeled', { number: 1, label: 'customer-reported' }),
      {
        signature,
      },
    );
    expect(reply).toEqual({ status: 401, body: { error: 'invalid_signature', message: expect.any(String) } });
    expect(await storedDeliveries()).toHaveLength(0);
  });

  it('accepts the previous secret during a rotation', async () => {
    const rotating = await startSyncInstance(database.db, fakes, {
      GITHUB_WEBHOOK_SECRET: 'new-secret',
      GITHUB_WEBHOOK_SECRET_PREVIOUS: 'github-webhook-secret',
    });
    try {
      const event = issuesEvent('labeled', { number: 2, label: 'customer-reported' });
      expect((await rotating.deliver('issues', event)).status).toBe(202);
      expect((await rotating.deliver('issues', event, { secret: 'new-secret' })).status).toBe(202);
      expect((await rotating.deliver('issues', event, { secret: 'older-secret' })).status).toBe(401);
    } finally {
      await rotating.close();
    }
  });

  it('stores a trigger label durably and answers 202 with its delivery id', async () => {
    const reply = await instance.deliver(
      'issues',
      issuesEvent('labeled', { number: 3, label: 'customer-reported' }),
      {
        guid: '72d3162e-cc78-11e3-81ab-4c9367dc0958',
      },
    );
    expect(reply).toEqual({ status: 202, body: { ok: true, delivery_id: expect.any(Number) } });
    const [row] = await storedDeliveries();
    expect(row).toMatchObject({
      id: reply.body.delivery_id,
      delivery_guid: '72d3162e-cc78-11e3-81ab-4c9367dc0958',
      action: 'labeled',
      issue_number: 3,
      label: 'customer-reported',
      status: 'pending',
    });
  });

  it('keeps one row for a redelivery of the same X-GitHub-Delivery', async () => {
    const event = issuesEvent('labeled', { number: 4, label: 'regression' });
    const first = await instance.deliver('issues', event, { guid: 'guid-redelivered' });
    const again = await instance.deliver('issues', event, { guid: 'guid-redelivered' });
    expect(again).toEqual(first);
    expect(await storedDeliveries()).toHaveLength(1);
  });

  it.each([
    ['another event', 'push', githubExample('push')],
    ['an action not handled', 'issues', issuesEvent('opened', { number: 5 })],
    ['a label not configured', 'issues', issuesEvent('labeled', { number: 5, label: 'documentation' })],
    ['an unlabel', 'issues', issuesEvent('unlabeled', { number: 5, label: 'customer-reported' })],
    [
      'another repository',
      'issues',
      issuesEvent('labeled', { number: 5, label: 'customer-reported', repo: 'raxx-app/other' }),
    ],
    ['a close of an issue never linked', 'issues', issuesEvent('closed', { number: 5 })],
  ])('ignores %s with 200 and stores nothing', async (_name, event, payload) => {
    expect(await instance.deliver(event, payload)).toEqual({
      status: 200,
      body: { ok: true, ignored: true },
    });
    expect(await storedDeliveries()).toHaveLength(0);
  });

  it('refuses a delivery whose strings carry NUL characters with 400, storing nothing', async () => {
    const event = issuesEvent('labeled', {
      number: 9,
      label: 'customer-reported',
      title: 'Broken\u0000title',
    });
    event.sender = { ...event.sender, login: 'octo\u0000cat' };
    expect((await instance.deliver('issues', event)).status).toBe(400);
    expect(await storedDeliveries()).toHaveLength(0);
  });

  it('matches label names case-insensitively, as GitHub does', async () => {
    const reply = await instance.deliver(
      'issues',
      issuesEvent('labeled', { number: 6, label: 'Customer-Reported' }),
    );
    expect(reply.status).toBe(202);
  });

  it('honours GITHUB_SYNC_LABELS', async () => {
    const custom = await startSyncInstance(database.db, fakes, {
      GITHUB_SYNC_LABELS: 'support=ticket:support,ask-customer=confirm',
    });
    try {
      expect(
        (await custom.deliver('issues', issuesEvent('labeled', { number: 7, label: 'support' }))).status,
      ).toBe(202);
      expect(
        (await custom.deliver('issues', issuesEvent('labeled', { number: 7, label: 'customer-reported' })))
          .status,
      ).toBe(200);
    } finally {
      await custom.close();
    }
  });

  it('refuses a webhook created with the form-encoded content type, and stores nothing', async () => {
    const form = `payload=${encodeURIComponent(JSON.stringify(issuesEvent('labeled', { number: 8, label: 'regression' })))}`;
    const reply = await instance.app.app.inject({
      method: 'POST',
      url: '/api/webhooks/github',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-github-event': 'issues',
        'x-github-delivery': 'form-guid',
        'x-hub-signature-256': signGitHub(form),
      },
      payload: form,
    });
    expect(reply.statusCode).toBe(415);
    expect(reply.json()).toMatchObject({ error: expect.any(String), message: expect.any(String) });
    expect(await storedDeliveries()).toHaveLength(0);
  });

  it('answers 400 for a signed body that is not JSON or not an issues event, and stores nothing', async () => {
    expect((await instance.deliver('issues', '{not json')).status).toBe(400);
    expect(await instance.deliver('issues', { action: 'labeled' })).toMatchObject({
      status: 400,
      body: { error: 'invalid_payload' },
    });
    expect(await storedDeliveries()).toHaveLength(0);
  });
});
