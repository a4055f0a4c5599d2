import { z } from 'zod';
import {
  type FakeHttpServer,
  type FakeReply,
  type RecordedRequest,
  startFakeHttpServer,
} from './fake-http.ts';

export interface FakeSlackMessage {
  channel: string;
  text: string | undefined;
  blocks: unknown[] | undefined;
  ts: string;
}

export interface FakeSlack extends FakeHttpServer {
  state: { messages: FakeSlackMessage[] };
}

export interface FakeSlackOptions {
  /** When set, any other bearer token is `invalid_auth`; unset, auth is not checked. */
  token?: string;
  /** When set, posting elsewhere is `channel_not_found`; unset, every channel exists. */
  channels?: string[];
}

const postMessageSchema = z.object({
  channel: z.string().min(1),
  text: z.string().optional(),
  blocks: z.array(z.unknown()).optional(),
});

/** Slack answers failures with HTTP 200 and `ok: false`, except rate limits and outages. */
const SLACK_ERRORS: Record<number, string> = {
  400: 'invalid_json',
  404: 'unknown_method',
  429: 'ratelimited',
};

export async function startFakeSlack(options: FakeSlackOptions = {}): Promise<FakeSlack> {
  const messages: FakeSlackMessage[] = [];

  const slackError = (error: string): FakeReply => ({ status: 200, body: { ok: false, error } });

  function authorize(request: RecordedRequest): FakeReply | undefined {
    if (options.token === undefined) return undefined;
    const authorization = request.headers.authorization;
    if (!authorization) return slackError('not_authed');
    return authorization === `Bearer ${options.token}` ? undefined : slackError('invalid_auth');
  }

  const server = await startFakeHttpServer({
    authorize,
    errorReply: (status) => ({
      status: status === 400 ? 200 : status,
      body: { ok: false, error: SLACK_ERRORS[status] ?? 'internal_error' },
    }),
    routes: [
      {
        method: 'POST',
        path: /^\/chat\.postMessage$/,
        handle: (request) => {
          const input = postMessageSchema.safeParse(request.body ?? {});
          if (!input.success) return slackError('channel_not_found');
          const { channel, text, blocks } = input.data;
          if (options.channels && !options.channels.includes(channel)) return slackError('channel_not_found');
          if (!text && !blocks?.length) return slackError('no_text');
          const ts = `${Math.floor(Date.now() / 1000)}.${String(messages.length + 1).padStart(6, '0')}`;
          messages.push({ channel, text, blocks, ts });
          return { status: 200, body: { ok: true, channel, ts, message: { text, ts } } };
        },
      },
      {
        method: 'POST',
        path: /^\/auth\.test$/,
        handle: () => ({
          status: 200,
          body: {
            ok: true,
            url: 'https://raxx.slack.test/',
            team: 'Raxx',
            user: 'raptor',
            team_id: 'T0FAKE',
            user_id: 'U0FAKE',
          },
        }),
      },
    ],
  });

  return {
    ...server,
    state: { messages },
    reset() {
      server.reset();
      messages.length = 0;
    },
  };
}
