import { afterEach, describe, expect, it, vi } from 'vitest';
import { manualClock, startTestApp, type TestApp } from '../support/app.ts';
import { startFakeAlertsSource } from '../support/fake-alerts-source.ts';
import { startFakeSlack } from '../support/fake-slack.ts';
import {
  bouncePayload,
  deliveryPayload,
  postmarkEnv,
  postPostmark,
  spamComplaintPayload,
} from '../support/postmark.ts';
import { useFixture, useTestDatabase } from '../support/setup.ts';

const SLACK_TOKEN = 'xoxb-test-0123456789';
const OPERATOR_CHANNEL = 'D0OPERATOR1';

const database = useTestDatabase({
  truncateBeforeEach: ['postmark_event', 'postmark_event_rollup', 'postmark_alert_state'],
});
const alertsSource = useFixture(startFakeAlertsSource, { each: true });
const apps: TestApp[] = [];
afterEach(() => closeAll());
// Opened last, so closed first, before the apps: a hanging request must end before an app
// waits for its alerts on close.
const slack = useFixture(() => startFakeSlack({ token: SLACK_TOKEN, channels: [OPERATOR_CHANNEL] }), {
  each: true,
});

async function startMonitor(env: Record<string, string> = {}, db = database.db) {
  const app = await startTestApp({
    db,
    clock: manualClock(),
    env: {
      ...postmarkEnv,
      SLACK_BOT_TOKEN: SLACK_TOKEN,
      SLACK_API_URL: slack.url,
      SLACK_OPERATOR_DM_CHANNEL: OPERATOR_CHANNEL,
      ALERTS_SOURCE_URL: `${alertsSource.url}/api/_internal/alerts/sources/postmark`,
      ...env,
    },
  });
  apps.push(app);
  return app;
}

/** Posts each payload in turn and returns every reply's status and body. */
async function postAll(app: TestApp, payloads: unknown[]) {
  const replies = [];
  for (const payload of payloads) {
    const response = await postPostmark(app, payload);
    replies.push({ status: response.statusCode, body: response.json() });
  }
  return replies;
}

const deliveries = (count: number) => Array.from({ length: count }, () => deliveryPayload());

/** Closing an app waits for its threshold checks and sends, so what the fakes hold is final. */
async function closeAll() {
  for (const app of apps.splice(0)) await app.close();
}

describe('bounce-rate alert', () => {
  it('DMs the operator and posts to the alerts source once the last hour is over the rate with enough volume', async () => {
    const app = await startMonitor();
    await postAll(app, [...deliveries(49), bouncePayload()]);
    await closeAll();

    expect(slack.state.messages).toEqual([
      expect.objectContaining({
        channel: OPERATOR_CHANNEL,
        text: expect.stringContaining('bounce rate 2.00% over the last hour (1 bounces of 50 messages'),
      }),
    ]);
    expect(slack.requests[0]?.headers.authorization).toBe(`Bearer ${SLACK_TOKEN}`);
    expect(alertsSource.requests).toEqual([
      expect.objectContaining({
        method: 'POST',
        path: '/api/_internal/alerts/sources/postmark',
        body: {
          source: 'postmark',
          kind: 'bounce_rate',
          severity: 'warning',
          message: expect.stringContaining('bounce rate'),
          rate: 0.02,
          threshold: 0.01,
          events: 1,
          messages: 50,
          window_seconds: 3600,
          detected_at: '2026-11-24T12:00:00.000Z',
        },
      }),
    ]);
    const [state] = await database.db.selectFrom('postmark_alert_state').selectAll().execute();
    expect(state).toMatchObject({ kind: 'bounce_rate', events: 1, messages: 50 });
  });

  it('sends no alert below the minimum volume, whatever the rate', async () => {
    const app = await startMonitor();
    await postAll(app, [...deliveries(45), ...Array.from({ length: 4 }, () => bouncePayload())]);
    await closeAll();
    expect(slack.requests).toEqual([]);
    expect(alertsSource.requests).toEqual([]);
  });

  it('sends no alert at or under the rate', async () => {
    const app = await startMonitor({ POSTMARK_BOUNCE_ALERT_RATE: '0.02' });
    await postAll(app, [...deliveries(49), bouncePayload()]);
    await closeAll();
    expect(slack.requests).toEqual([]);
  });

  it('alerts exactly once under many deliveries spread over two instances', async () => {
    const other = await database.openAnother();
    try {
      const first = await startMonitor();
      const second = await startMonitor({}, other.db);
      const payloads = [...deliveries(150), ...Array.from({ length: 20 }, () => bouncePayload())];
      const replies = await Promise.all(
        payloads.map((payload, index) => postPostmark(index % 2 === 0 ? first : second, payload)),
      );
      expect(replies.every((reply) => reply.statusCode === 200)).toBe(true);
      await closeAll();
    } finally {
      await other.close();
    }
    expect(slack.state.messages).toHaveLength(1);
    expect(slack.state.messages[0]?.text).toContain('bounce rate');
    expect(alertsSource.requests).toHaveLength(1);
  });
});

describe('spam-complaint-rate alert', () => {
  it('alerts when complaints over the last 24 hours pass the rate', async () => {
    const app = await startMonitor({ POSTMARK_SPAM_ALERT_RATE: '0.01' });
    await postAll(app, [...deliveries(60), spamComplaintPayload()]);
    await closeAll();
    expect(slack.state.messages).toEqual([
      expect.objectContaining({
        text: expect.stringContaining(
          'spam-complaint rate 1.64% over the last 24 hours (1 spam complaints of 61',
        ),
      }),
    ]);
    expect(alertsSource.requests.map((request) => (request.body as { kind: string }).kind)).toEqual([
      'spam_rate',
    ]);
  });
});

describe('alerting never delays or fails the webhook', () => {
  it('answers every webhook 200 when Slack answers 500, and logs the failure', async () => {
    slack.failNext({ status: 500 }, { path: /chat\.postMessage/ });
    const app = await startMonitor();
    const replies = await postAll(app, [...deliveries(49), bouncePayload(), deliveryPayload()]);
    expect(
      replies.every((reply) => reply.status === 200 && reply.body.ok === true && !reply.body.ignored),
    ).toBe(true);
    await vi.waitFor(() =>
      expect(app.logs.some((line) => line.msg === 'postmark alert not delivered')).toBe(true),
    );
    expect(slack.requests).toHaveLength(1);
    expect(slack.state.messages).toEqual([]);
    // The console still hears about it.
    expect(alertsSource.requests).toHaveLength(1);
  });

  it('answers webhooks while Slack hangs on the alert', async () => {
    slack.failNext({ hang: true }, { path: /chat\.postMessage/ });
    const app = await startMonitor();
    const replies = await postAll(app, [...deliveries(49), bouncePayload()]);
    expect(replies.at(-1)).toEqual({ status: 200, body: { ok: true } });
    await vi.waitFor(() => expect(slack.requests).toHaveLength(1));
    // Slack still has not answered, and the next webhook is answered all the same.
    const next = await postPostmark(app, bouncePayload());
    expect({ status: next.statusCode, body: next.json() }).toEqual({ status: 200, body: { ok: true } });
    expect(slack.state.messages).toEqual([]);
    expect(await database.db.selectFrom('postmark_event').select('id').execute()).toHaveLength(51);
  });

  it('answers every webhook 200 when the alerts source fails, and still DMs Slack', async () => {
    alertsSource.failNext({ status: 503 });
    const app = await startMonitor();
    const replies = await postAll(app, [...deliveries(49), bouncePayload()]);
    expect(replies.every((reply) => reply.status === 200)).toBe(true);
    await closeAll();
    expect(slack.state.messages).toHaveLength(1);
    expect(alertsSource.requests).toHaveLength(1);
  });
});
