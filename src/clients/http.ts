import type { IncomingHttpHeaders } from 'node:http';
import { Agent, type Dispatcher, request } from 'undici';
import { UpstreamError } from '../lib/errors.ts';

/**
 * The outbound HTTP every hand-written client shares (FreeScout, Slack, the alerts source):
 * one connect timeout, one whole-request timeout, one way to read `Retry-After` and one
 * backoff curve. GitHub goes through Octokit's own retry and throttling plugins.
 */

export type Upstream = UpstreamError['service'];

/** A pooled connection agent whose connect attempt gives up after `connectTimeoutMs`. */
export function createAgent(connectTimeoutMs: number): Agent {
  return new Agent({ connect: { timeout: connectTimeoutMs } });
}

export interface HttpAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

export interface HttpCall {
  upstream: Upstream;
  /** How errors and logs name the call, e.g. `FreeScout GET /api/mailboxes`. */
  label: string;
  url: string;
  method: Dispatcher.HttpMethod;
  headers: Record<string, string>;
  body?: string;
  agent: Agent;
  timeoutMs: number;
  /** Whether a transport failure may have reached the service (decides `outcomeUnknown`). */
  outcomeUnknown?: (error: unknown) => boolean;
}

/**
 * One request, read to the end within `timeoutMs`. A transport failure or timeout becomes an
 * `UpstreamError` naming the call; the status is left to the caller.
 */
export async function send(call: HttpCall): Promise<HttpAnswer> {
  try {
    const response = await request(call.url, {
      method: call.method,
      dispatcher: call.agent,
      signal: AbortSignal.timeout(call.timeoutMs),
      headers: call.headers,
      body: call.body,
    });
    return { status: response.statusCode, headers: response.headers, text: await response.body.text() };
  } catch (error) {
    const timedOut = error instanceof Error && error.name === 'TimeoutError';
    throw new UpstreamError(
      call.upstream,
      timedOut
        ? `${call.label} timed out after ${call.timeoutMs} ms`
        : `${call.label} failed: ${String(error)}`,
      { cause: error, ...(call.outcomeUnknown ? { outcomeUnknown: call.outcomeUnknown(error) } : {}) },
    );
  }
}

/** `Retry-After` in seconds: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(header: string | string[] | undefined, now = Date.now()): number | undefined {
  const value = (Array.isArray(header) ? header[0] : header)?.trim();
  if (!value) return undefined;
  if (/^\d+$/.test(value)) return Number(value);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - now) / 1000));
}

/** The `Retry-After` an upstream error carried, in seconds. */
export function retryAfterOf(error: unknown): number | undefined {
  return error instanceof UpstreamError ? error.details.retryAfterSeconds : undefined;
}

export interface Backoff {
  baseMs: number;
  capMs: number;
  /** `equal`: half the delay fixed, half random, so retries of many items spread out. */
  jitter?: 'none' | 'equal';
}

/**
 * Exponential backoff for attempt `attempt` (from 1): `baseMs · 2^(attempt-1)` up to `capMs`,
 * and never sooner than the service's `Retry-After`.
 */
export function backoffMs(
  attempt: number,
  curve: Backoff,
  retryAfterSeconds?: number,
  random: () => number = Math.random,
): number {
  const exponential = Math.min(curve.capMs, curve.baseMs * 2 ** Math.max(0, attempt - 1));
  const delay = curve.jitter === 'equal' ? exponential / 2 + (exponential / 2) * random() : exponential;
  return Math.max(delay, (retryAfterSeconds ?? 0) * 1000);
}

export function parseJsonOrText(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
