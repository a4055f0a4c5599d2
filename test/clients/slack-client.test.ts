import { describe, expect, it } from 'vitest';
import { createSlackClient } from '../../src/clients/slack.ts';
import { startFakeSlack } from '../support/fake-slack.ts';
import { useCloseAfterTest } from '../support/setup.ts';
import { upstreamErrorFrom } from '../support/upstream-error.ts';

const TOKEN = 'xoxb-test';

const closeAfterTest = useCloseAfterTest();

async function setup(options: { token?: string; timeoutMs?: number } = {}) {
  const fake = closeAfterTest(await startFakeSlack({ token: TOKEN, channels: ['D0AJ7K184TV'] }));
  const client = closeAfterTest(
    createSlackClient({
      apiUrl: fake.url,
      token: options.token ?? TOKEN,
      timeoutMs: options.timeoutMs ?? 2_000,
    }),
  );
  return { fake, client };
}

describe('Slack client', () => {
  it('posts a message with the bot token and returns its ts and channel', async () => {
    const { fake, client } = await setup();
    const posted = await client.postMessage({ channel: 'D0AJ7K184TV', text: 'Bounce rate over 1%' });
    expect(posted).toEqual({ channel: 'D0AJ7K184TV', ts: fake.state.messages[0]?.ts });
    expect(fake.requests[0]?.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(fake.requests[0]?.body).toEqual({ channel: 'D0AJ7K184TV', text: 'Bounce rate over 1%' });
  });

  it('answers auth.test with the team and user', async () => {
    const { client } = await setup();
    await expect(client.authTest()).resolves.toEqual({ ok: true, team: 'Raxx', user: 'raptor' });
  });

  it('turns an HTTP 200 ok:false into an error naming the Slack error', async () => {
    const { client } = await setup();
    const error = await upstreamErrorFrom(client.postMessage({ channel: 'C0NOWHERE', text: 'hello' }));
    expect(error.service).toBe('slack');
    expect(error.message).toContain('channel_not_found');
    expect(error.details).toMatchObject({ status: 200, body: { ok: false, error: 'channel_not_found' } });
  });

  it('reports a refused token as invalid_auth', async () => {
    const { client } = await setup({ token: 'xoxb-wrong' });
    const error = await upstreamErrorFrom(client.authTest());
    expect(error.details.body).toEqual({ ok: false, error: 'invalid_auth' });
  });

  it('reports a rate limit with Retry-After seconds and does not retry it', async () => {
    const { fake, client } = await setup();
    fake.failNext({ status: 429, retryAfter: 30 });
    const error = await upstreamErrorFrom(client.postMessage({ channel: 'D0AJ7K184TV', text: 'hello' }));
    expect(error.details).toMatchObject({ status: 429, retryAfterSeconds: 30 });
    expect(fake.requests).toHaveLength(1);
  });

  it('reports a 5xx answer as an upstream error', async () => {
    const { fake, client } = await setup();
    fake.failNext({ status: 503 });
    const error = await upstreamErrorFrom(client.postMessage({ channel: 'D0AJ7K184TV', text: 'hello' }));
    expect(error.status).toBe(503);
    expect(fake.requests).toHaveLength(1);
  });

  it('times out when Slack never answers', async () => {
    const { fake, client } = await setup({ timeoutMs: 200 });
    fake.failNext({ hang: true });
    const error = await upstreamErrorFrom(client.postMessage({ channel: 'D0AJ7K184TV', text: 'hello' }));
    expect(error.message).toMatch(/timed out after 200 ms/);
    expect(fake.state.messages).toHaveLength(0);
  });
});
