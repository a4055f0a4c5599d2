import { createAppAuth } from '@octokit/auth-app';
import { retry } from '@octokit/plugin-retry';
import { throttling } from '@octokit/plugin-throttling';
import { Octokit } from '@octokit/rest';
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import { UpstreamError } from '../lib/errors.ts';
import { parseRetryAfter } from './http.ts';

const RetryingOctokit = Octokit.plugin(retry, throttling);

/** Rate-limit waits longer than this are not slept through: the caller's retry policy takes over. */
const MAX_RATE_LIMIT_WAIT_SECONDS = 30;
const REQUEST_TIMEOUT_MS = 15_000;

export interface GitHubIssue {
  number: number;
  htmlUrl: string;
  title: string;
  body: string | null;
  state: string;
  createdAt: string;
}

/** One issue as read back for the console: where it lives now, its state and labels. */
export interface GitHubIssueDetails {
  number: number;
  htmlUrl: string;
  title: string;
  state: string;
  labels: string[];
  updatedAt: string;
  /** GitHub serves pull requests on the issues endpoints too. */
  isPullRequest: boolean;
}

export interface GitHubComment {
  id: number;
  body: string;
}

export interface GitHubClient {
  readonly repo: string;
  /** Where this GitHub serves its web pages (issue URLs): `githubWebOrigin` of the API URL. */
  readonly webOrigin: string;
  /** How long one request may take; a create older than this (plus a margin) has settled upstream. */
  readonly timeoutMs: number;
  /** Throws when the credentials cannot see the repository. */
  getRepository(): Promise<{ fullName: string; private: boolean }>;
  /** Never retried: a repeat could open a second issue. Callers recover by the body's marker. */
  createIssue(input: { title: string; body: string; labels: string[] }): Promise<GitHubIssue>;
  /** Issues (not pull requests) carrying `label`, updated since `since`, every page. */
  listIssuesWithLabel(label: string, since: Date): Promise<GitHubIssue[]>;
  /** Never retried: a repeat could post a second comment. */
  createComment(issueNumber: number, body: string): Promise<GitHubComment>;
  listComments(issueNumber: number): Promise<GitHubComment[]>;
  /**
   * One issue of the repository; null when GitHub has none by that number (404, or 410 for a
   * deleted one). A transferred issue answers 301 and is followed: its `htmlUrl` then names
   * the repository it lives in now.
   */
  getIssue(issueNumber: number): Promise<GitHubIssueDetails | null>;
  /** Adds labels (idempotent; GitHub creates a label that does not exist yet). */
  addLabels(issueNumber: number, labels: string[]): Promise<void>;
  /** Closes the issue as completed (idempotent). */
  closeIssueAsCompleted(issueNumber: number): Promise<void>;
  /**
   * The login GitHub shows for this client's own actions: `<app slug>[bot]` for a GitHub App
   * (`GET /app`), the token's user otherwise (`GET /user`). Asked once, then remembered.
   */
  ownLogin(): Promise<string>;
}

/**
 * The web origin of the GitHub whose API is at `apiUrl`: `https://github.com` for
 * `https://api.github.com`, `https://<tenant>.ghe.com` for GitHub Enterprise Cloud's
 * `https://api.<tenant>.ghe.com`, and the API's own origin otherwise (GitHub Enterprise Server
 * serves its API at `https://HOST/api/v3` and its pages at `https://HOST`).
 */
export function githubWebOrigin(apiUrl: string): string {
  const url = new URL(apiUrl);
  if (url.hostname === 'api.github.com') return 'https://github.com';
  if (/^api\.[^.]+\.ghe\.com$/.test(url.hostname)) return `https://${url.hostname.slice('api.'.length)}`;
  return url.origin;
}

/** Octokit with retries (idempotent requests), rate-limit handling, and PAT or GitHub App auth. */
export function createGitHubClient(
  settings: Config['github'],
  log?: Logger,
  options: { timeoutMs?: number } = {},
): GitHubClient | undefined {
  const { repo } = settings;
  if (!repo || !(settings.token || settings.app)) return undefined;
  const [owner = '', name = ''] = repo.split('/');
  const timeoutMs = options.timeoutMs ?? settings.timeoutMs ?? REQUEST_TIMEOUT_MS;
  const octokit = new RetryingOctokit({
    baseUrl: settings.apiUrl,
    ...(settings.app ? { authStrategy: createAppAuth, auth: { ...settings.app } } : { auth: settings.token }),
    // Octokit has no timeout of its own: a GitHub that never answers would hold a worker forever.
    request: { fetch: fetchWithTimeout(timeoutMs) },
    // Octokit logs failed requests to the console by default; ours go through pino, without bodies.
    log: {
      debug: () => {},
      info: () => {},
      warn: (message: string) => log?.warn({ client: 'github' }, message),
      error: (message: string) => log?.warn({ client: 'github' }, message),
    },
    retry: { doNotRetry: [400, 401, 403, 404, 410, 422, 451] },
    throttle: {
      onRateLimit: (retryAfter: number, _options: unknown, _octokit: unknown, retryCount: number) =>
        retryCount < 2 && retryAfter <= MAX_RATE_LIMIT_WAIT_SECONDS,
      onSecondaryRateLimit: (retryAfter: number, _options: unknown, _octokit: unknown, retryCount: number) =>
        retryCount < 2 && retryAfter <= MAX_RATE_LIMIT_WAIT_SECONDS,
    },
  });
  const noRetry = { request: { retries: 0 } };

  async function call<T>(label: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      throw toUpstreamError(label, error);
    }
  }

  const toIssue = (issue: {
    number: number;
    html_url: string;
    title: string;
    body?: string | null;
    state: string;
    created_at: string;
  }): GitHubIssue => ({
    number: issue.number,
    htmlUrl: issue.html_url,
    title: issue.title,
    body: issue.body ?? null,
    state: issue.state,
    createdAt: issue.created_at,
  });

  let ownLogin: Promise<string> | undefined;
  const askOwnLogin = () =>
    call('GitHub GET own identity', async () => {
      if (settings.app) {
        const { data } = await octokit.rest.apps.getAuthenticated();
        if (!data?.slug) throw new Error('GitHub did not say the App slug');
        return `${data.slug}[bot]`;
      }
      const { data } = await octokit.rest.users.getAuthenticated();
      return data.login;
    });

  return {
    repo,
    webOrigin: githubWebOrigin(settings.apiUrl),
    timeoutMs,
    ownLogin() {
      ownLogin ??= askOwnLogin().catch((error: unknown) => {
        ownLogin = undefined;
        throw error;
      });
      return ownLogin;
    },
    getRepository: () =>
      call('GitHub GET repository', async () => {
        const { data } = await octokit.rest.repos.get({ owner, repo: name });
        return { fullName: data.full_name, private: data.private };
      }),

    createIssue: (input) =>
      call('GitHub create issue', async () => {
        const { data } = await octokit.rest.issues.create({ owner, repo: name, ...input, ...noRetry });
        return toIssue(data);
      }),

    listIssuesWithLabel: (label, since) =>
      call('GitHub list issues', async () => {
        const issues = await octokit.paginate(octokit.rest.issues.listForRepo, {
          owner,
          repo: name,
          labels: label,
          state: 'all',
          since: since.toISOString(),
          per_page: 100,
        });
        return issues.filter((issue) => !issue.pull_request).map(toIssue);
      }),

    createComment: (issueNumber, body) =>
      call('GitHub create comment', async () => {
        const { data } = await octokit.rest.issues.createComment({
          owner,
          repo: name,
          issue_number: issueNumber,
          body,
          ...noRetry,
        });
        return { id: data.id, body: data.body ?? '' };
      }),

    getIssue: async (issueNumber) => {
      try {
        const { data } = await octokit.rest.issues.get({ owner, repo: name, issue_number: issueNumber });
        return {
          number: data.number,
          htmlUrl: data.html_url,
          title: data.title,
          state: data.state,
          labels: data.labels.map((label) => (typeof label === 'string' ? label : (label.name ?? ''))),
          updatedAt: data.updated_at,
          isPullRequest: Boolean(data.pull_request),
        };
      } catch (error) {
        const status = (error as { status?: number }).status;
        if (status === 404 || status === 410) return null;
        throw toUpstreamError('GitHub GET issue', error);
      }
    },

    addLabels: (issueNumber, labels) =>
      call('GitHub add labels', async () => {
        await octokit.rest.issues.addLabels({ owner, repo: name, issue_number: issueNumber, labels });
      }),

    closeIssueAsCompleted: (issueNumber) =>
      call('GitHub close issue', async () => {
        await octokit.rest.issues.update({
          owner,
          repo: name,
          issue_number: issueNumber,
          state: 'closed',
          state_reason: 'completed',
        });
      }),

    listComments: (issueNumber) =>
      call('GitHub list comments', async () => {
        const comments = await octokit.paginate(octokit.rest.issues.listComments, {
          owner,
          repo: name,
          issue_number: issueNumber,
          per_page: 100,
        });
        return comments.map((comment) => ({ id: comment.id, body: comment.body ?? '' }));
      }),
  };
}

function fetchWithTimeout(timeoutMs: number): typeof fetch {
  return (input, init = {}) => {
    const timeout = AbortSignal.timeout(timeoutMs);
    return fetch(input, { ...init, signal: init.signal ? AbortSignal.any([init.signal, timeout]) : timeout });
  };
}

function toUpstreamError(label: string, error: unknown): UpstreamError {
  const status =
    typeof error === 'object' && error !== null && 'status' in error ? Number(error.status) : undefined;
  const headers =
    typeof error === 'object' && error !== null && 'response' in error
      ? (error.response as { headers?: Record<string, string> } | undefined)?.headers
      : undefined;
  // An exhausted primary rate limit says when it resets instead of sending Retry-After.
  const resetsAt =
    headers?.['x-ratelimit-remaining'] === '0' ? Number(headers['x-ratelimit-reset']) : Number.NaN;
  const retryAfter =
    parseRetryAfter(headers?.['retry-after']) ?? Math.max(0, Math.ceil(resetsAt - Date.now() / 1000));
  const message = error instanceof Error ? error.message : String(error);
  return new UpstreamError('github', `${label} failed${status ? ` (${status})` : ''}: ${message}`, {
    ...(status ? { status } : {}),
    ...(Number.isFinite(retryAfter) ? { retryAfterSeconds: retryAfter } : {}),
    // A POST that failed without an answer, or with a 5xx, may still have taken effect.
    outcomeUnknown: status === undefined || status >= 500,
    cause: error,
  });
}
