import { z } from 'zod';
import { UpstreamError } from '../lib/errors.ts';
import { createAgent, parseJsonOrText, parseRetryAfter, send } from './http.ts';

const CONNECT_TIMEOUT_MS = 3_000;
const DEFAULT_TIMEOUT_MS = 10_000;

const slackAnswerSchema = z.looseObject({ ok: z.boolean(), error: z.string().optional() });
const postMessageAnswerSchema = z.looseObject({ ts: z.string(), channel: z.string() });
const authTestAnswerSchema = z.looseObject({ team: z.string().optional(), user: z.string().optional() });

export interface SlackMessage {
  channel: string;
  text: string;
  blocks?: unknown[];
}

/** No retries inside: callers own the retry/outbox policy. */
export interface SlackClient {
  postMessage(message: SlackMessage): Promise<{ ts: string; channel: string }>;
  /** Throws like every call when the token is refused (`body.error` says why). */
  authTest(): Promise<{ ok: true; team?: string; user?: string }>;
  close(): Promise<void>;
}

export interface SlackClientOptions {
  apiUrl?: string;
  token: string;
  timeoutMs?: number;
}

export function createSlackClient(options: SlackClientOptions): SlackClient {
  const apiUrl = (options.apiUrl ?? 'https://slack.com/api').replace(/\/+$/, '');
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const agent = createAgent(CONNECT_TIMEOUT_MS);

  async function callMethod<T>(method: string, payload: object, schema: z.ZodType<T>): Promise<T> {
    const requestLabel = `Slack ${method}`;
    const { status, headers, text } = await send({
      upstream: 'slack',
      label: requestLabel,
      url: `${apiUrl}/${method}`,
      method: 'POST',
      agent,
      timeoutMs,
      headers: {
        authorization: `Bearer ${options.token}`,
        'content-type': 'application/json; charset=utf-8',
        accept: 'application/json',
      },
      body: JSON.stringify(payload),
    });
    const body = parseJsonOrText(text);
    if (status === 429) {
      const retryAfterSeconds = parseRetryAfter(headers['retry-after']);
      throw new UpstreamError('slack', `${requestLabel} was rate limited`, {
        status,
        body,
        ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
      });
    }
    if (status >= 400) {
      throw new UpstreamError('slack', `${requestLabel} answered ${status}`, { status, body });
    }
    // Slack reports failures as HTTP 200 with ok:false.
    const answer = slackAnswerSchema.safeParse(body);
    if (!answer.success || !answer.data.ok) {
      const reason = answer.success ? (answer.data.error ?? 'unknown_error') : 'unexpected answer';
      throw new UpstreamError('slack', `${requestLabel} failed: ${reason}`, { status, body });
    }
    const parsed = schema.safeParse(body);
    if (!parsed.success) {
      throw new UpstreamError('slack', `${requestLabel} answered an unexpected shape`, {
        status,
        body,
        cause: parsed.error,
      });
    }
    return parsed.data;
  }

  return {
    async postMessage(message) {
      const { ts, channel } = await callMethod('chat.postMessage', message, postMessageAnswerSchema);
      return { ts, channel };
    },

    async authTest() {
      const { team, user } = await callMethod('auth.test', {}, authTestAnswerSchema);
      return { ok: true, team, user };
    },

    close: () => agent.close(),
  };
}
