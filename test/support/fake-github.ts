import { z } from 'zod';
import { type Clock, systemClock } from '../../src/lib/clock.ts';
import {
  type FakeHttpServer,
  type FakeReply,
  type FakeRoute,
  type Fault,
  isoSeconds,
  type RecordedRequest,
  startFakeHttpServer,
} from './fake-http.ts';

const DOCUMENTATION_URL = 'https://docs.github.com/rest';

export interface FakeComment {
  id: number;
  body: string;
  created_at: string;
  updated_at: string;
}

export interface FakeIssue {
  id: number;
  number: number;
  title: string;
  body: string | null;
  state: 'open' | 'closed';
  labels: string[];
  created_at: string;
  updated_at: string;
  closed_at: string | null;
  state_reason?: string | null;
  comments: FakeComment[];
}

export interface IssueSeed {
  title: string;
  body?: string;
  labels?: string[];
  state?: 'open' | 'closed';
}

export interface FakeGitHubState {
  /** Stores an issue directly; no request is recorded. */
  insertIssue(seed: IssueSeed): FakeIssue;
  issue(number: number): FakeIssue | undefined;
  /**
   * Moves an issue to another repository, as GitHub's "Transfer issue" does: its old number then
   * answers `301 Moved Permanently` pointing at the issue in its new home.
   */
  transferIssue(number: number, toRepo: string): void;
  /** Changes an issue as someone on GitHub would (no request recorded); `updated_at` moves. */
  editIssue(number: number, change: Partial<Pick<FakeIssue, 'title' | 'state' | 'labels'>>): FakeIssue;
  issues(): FakeIssue[];
  /** Installation tokens minted through `POST /app/installations/{id}/access_tokens`. */
  readonly installationTokens: Array<{ installationId: number; token: string }>;
}

export interface FakeGitHub extends FakeHttpServer {
  state: FakeGitHubState;
}

export interface FakeGitHubOptions {
  /** When set, only this token (or a minted installation token) is accepted; unset, auth is not checked. */
  token?: string;
  owner: string;
  repo: string;
  /** The token's user (`GET /user`); `raptor-bot` unless told. */
  login?: string;
  /** The App's slug (`GET /app`, authenticated by the App's JWT); `raptor-bot` unless told. */
  appSlug?: string;
  clock?: Clock;
}

/** GitHub's primary rate limit: 403 with `x-ratelimit-remaining: 0` until `x-ratelimit-reset`. */
export function rateLimitExhausted(resetInSeconds = 1): Fault {
  const reset = Math.ceil(Date.now() / 1000) + resetInSeconds;
  return {
    status: 403,
    headers: {
      'x-ratelimit-limit': '5000',
      'x-ratelimit-remaining': '0',
      'x-ratelimit-used': '5000',
      'x-ratelimit-reset': String(reset),
      'x-ratelimit-resource': 'core',
    },
    body: { message: 'API rate limit exceeded for installation.', documentation_url: DOCUMENTATION_URL },
  };
}

const newIssueSchema = z.object({
  title: z.union([z.string().min(1), z.number()]),
  body: z.string().nullish(),
  labels: z.array(z.union([z.string(), z.object({ name: z.string() })])).optional(),
});

const pagingSchema = z.object({
  per_page: z.coerce.number().int().positive().max(100).default(30),
  page: z.coerce.number().int().positive().default(1),
});

const issueListQuerySchema = pagingSchema.extend({
  state: z.enum(['open', 'closed', 'all']).default('open'),
  labels: z.string().optional(),
  since: z.iso.datetime({ offset: true }).optional(),
  sort: z.enum(['created', 'updated', 'comments']).default('created'),
  direction: z.enum(['asc', 'desc']).default('desc'),
});

export async function startFakeGitHub(options: FakeGitHubOptions): Promise<FakeGitHub> {
  const clock = options.clock ?? systemClock;
  const { owner, repo } = options;
  const issues = new Map<number, FakeIssue>();
  /** Issues moved out: old number → the full name of the repository now holding it. */
  const transferred = new Map<number, { repo: string; issue: FakeIssue }>();
  const installationTokens: FakeGitHubState['installationTokens'] = [];
  let lastCommentId = 0;
  let lastIssueNumber = 0;
  let baseUrl = '';

  const now = () => isoSeconds(clock.now().getTime());
  const repoPath = `/repos/${owner}/${repo}`;
  const issueUrl = (number: number) => `${baseUrl}${repoPath}/issues/${number}`;
  const htmlIssueUrl = (number: number) => `${baseUrl}/${owner}/${repo}/issues/${number}`;

  function insertIssue(seed: IssueSeed): FakeIssue {
    lastIssueNumber += 1;
    const number = lastIssueNumber;
    const at = now();
    const issue: FakeIssue = {
      id: 9000 + number,
      number,
      title: seed.title,
      body: seed.body ?? null,
      state: seed.state ?? 'open',
      labels: [...new Set(seed.labels ?? [])],
      created_at: at,
      updated_at: at,
      closed_at: seed.state === 'closed' ? at : null,
      comments: [],
    };
    issues.set(number, issue);
    return issue;
  }

  function issueWire(issue: FakeIssue): Record<string, unknown> {
    return {
      id: issue.id,
      node_id: `I_fake${issue.id}`,
      number: issue.number,
      url: issueUrl(issue.number),
      html_url: htmlIssueUrl(issue.number),
      repository_url: `${baseUrl}${repoPath}`,
      comments_url: `${issueUrl(issue.number)}/comments`,
      title: issue.title,
      body: issue.body,
      state: issue.state,
      labels: issue.labels.map((name) => ({ name })),
      user: { login: 'raptor-bot', type: 'Bot' },
      comments: issue.comments.length,
      created_at: issue.created_at,
      updated_at: issue.updated_at,
      closed_at: issue.closed_at,
      state_reason: issue.state_reason ?? null,
    };
  }

  function commentWire(issue: FakeIssue, comment: FakeComment): Record<string, unknown> {
    return {
      id: comment.id,
      node_id: `IC_fake${comment.id}`,
      url: `${baseUrl}${repoPath}/issues/comments/${comment.id}`,
      html_url: `${htmlIssueUrl(issue.number)}#issuecomment-${comment.id}`,
      issue_url: issueUrl(issue.number),
      body: comment.body,
      user: { login: 'raptor-bot', type: 'Bot' },
      created_at: comment.created_at,
      updated_at: comment.updated_at,
    };
  }

  /** A page of a list with GitHub's `Link` header (first/prev/next/last). */
  function listPage(
    request: RecordedRequest,
    items: unknown[],
    paging: z.infer<typeof pagingSchema>,
  ): FakeReply {
    const { page, per_page: perPage } = paging;
    const lastPage = Math.max(1, Math.ceil(items.length / perPage));
    const pageUrl = (target: number) => {
      const query = new URLSearchParams({
        ...request.query,
        page: String(target),
        per_page: String(perPage),
      });
      return `<${baseUrl}${request.path}?${query}>`;
    };
    const links = [
      ...(page > 1 ? [`${pageUrl(1)}; rel="first"`, `${pageUrl(page - 1)}; rel="prev"`] : []),
      ...(page < lastPage ? [`${pageUrl(page + 1)}; rel="next"`, `${pageUrl(lastPage)}; rel="last"`] : []),
    ];
    return {
      status: 200,
      headers: links.length > 0 ? { link: links.join(', ') } : {},
      body: items.slice((page - 1) * perPage, page * perPage),
    };
  }

  function withIssue(params: Record<string, string>, use: (issue: FakeIssue) => FakeReply): FakeReply {
    const issue = issues.get(Number(params.number));
    if (issue) return use(issue);
    const moved = transferred.get(Number(params.number));
    if (moved) {
      // GitHub's answer for a transferred issue: fetch (and Octokit) follow the Location.
      const location = `${baseUrl}/repos/${moved.repo}/issues/${moved.issue.number}`;
      return {
        status: 301,
        headers: { location },
        body: { message: 'Moved Permanently', url: location, documentation_url: DOCUMENTATION_URL },
      };
    }
    return errorReply(404, 'Not Found');
  }

  const labelsInput = z.union([
    z.array(z.string()),
    z.object({ labels: z.array(z.union([z.string(), z.object({ name: z.string() })])) }),
  ]);
  const labelsPath = new RegExp(`^${escapeRegExp(repoPath)}/issues/(?<number>\\d+)/labels$`);
  const movedIssuePath = /^\/repos\/(?<repoOwner>[^/]+)\/(?<repoName>[^/]+)\/issues\/(?<number>\d+)$/;

  const issuesPath = new RegExp(`^${escapeRegExp(repoPath)}/issues$`);
  const issuePath = new RegExp(`^${escapeRegExp(repoPath)}/issues/(?<number>\\d+)$`);
  const commentsPath = new RegExp(`^${escapeRegExp(repoPath)}/issues/(?<number>\\d+)/comments$`);

  const routes: FakeRoute[] = [
    {
      method: 'GET',
      path: new RegExp(`^${escapeRegExp(repoPath)}$`),
      handle: () => ({
        status: 200,
        body: {
          id: 4242,
          node_id: 'R_fake4242',
          name: repo,
          full_name: `${owner}/${repo}`,
          owner: { login: owner },
          private: true,
          html_url: `${baseUrl}/${owner}/${repo}`,
          url: `${baseUrl}${repoPath}`,
          default_branch: 'main',
          has_issues: true,
        },
      }),
    },
    {
      method: 'POST',
      path: issuesPath,
      handle: (request) => {
        const input = newIssueSchema.safeParse(request.body ?? {});
        if (!input.success) return validationFailed(input.error.issues.map((issue) => String(issue.path[0])));
        const { title, body, labels = [] } = input.data;
        const issue = insertIssue({
          title: String(title),
          ...(body ? { body } : {}),
          labels: labels.map((label) => (typeof label === 'string' ? label : label.name)),
        });
        return { status: 201, headers: { location: issueUrl(issue.number) }, body: issueWire(issue) };
      },
    },
    {
      method: 'GET',
      path: issuesPath,
      handle: (request) => {
        const query = issueListQuerySchema.safeParse(request.query);
        if (!query.success) return validationFailed(query.error.issues.map((issue) => String(issue.path[0])));
        const { state, labels, since, sort, direction } = query.data;
        const wanted = labels?.split(',').filter((label) => label !== '') ?? [];
        const sortKey = (issue: FakeIssue) =>
          sort === 'comments'
            ? issue.comments.length
            : Date.parse(sort === 'created' ? issue.created_at : issue.updated_at);
        const matching = [...issues.values()]
          .filter(
            (issue) =>
              (state === 'all' || issue.state === state) &&
              wanted.every((label) => issue.labels.includes(label)) &&
              (since === undefined || Date.parse(issue.updated_at) >= Date.parse(since)),
          )
          .sort((a, b) => (sortKey(a) - sortKey(b) || a.number - b.number) * (direction === 'asc' ? 1 : -1));
        return listPage(request, matching.map(issueWire), query.data);
      },
    },
    {
      method: 'GET',
      path: issuePath,
      handle: (_request, params) => withIssue(params, (issue) => ({ status: 200, body: issueWire(issue) })),
    },
    {
      method: 'POST',
      path: labelsPath,
      handle: (request, params) =>
        withIssue(params, (issue) => {
          const input = labelsInput.safeParse(request.body ?? {});
          if (!input.success) return validationFailed(['labels']);
          const names = Array.isArray(input.data)
            ? input.data
            : input.data.labels.map((label) => (typeof label === 'string' ? label : label.name));
          // GitHub creates a label that does not exist yet; adding one already there changes nothing.
          issue.labels = [...new Set([...issue.labels, ...names])];
          issue.updated_at = now();
          return {
            status: 200,
            body: issue.labels.map((name) => ({ name, color: 'ededed', default: false })),
          };
        }),
    },
    {
      method: 'PATCH',
      path: issuePath,
      handle: (request, params) =>
        withIssue(params, (issue) => {
          const input = z
            .object({
              title: z.string().optional(),
              state: z.enum(['open', 'closed']).optional(),
              state_reason: z.enum(['completed', 'not_planned', 'duplicate', 'reopened']).nullish(),
            })
            .safeParse(request.body ?? {});
          if (!input.success)
            return validationFailed(input.error.issues.map((entry) => String(entry.path[0])));
          if (input.data.title !== undefined) issue.title = input.data.title;
          if (input.data.state !== undefined && input.data.state !== issue.state) {
            issue.state = input.data.state;
            issue.closed_at = input.data.state === 'closed' ? now() : null;
          }
          issue.state_reason = input.data.state_reason ?? issue.state_reason ?? null;
          issue.updated_at = now();
          return { status: 200, body: issueWire(issue) };
        }),
    },
    {
      method: 'GET',
      path: movedIssuePath,
      handle: (_request, params) => {
        const moved = [...transferred.values()].find(
          (entry) =>
            entry.repo === `${params.repoOwner}/${params.repoName}` &&
            entry.issue.number === Number(params.number),
        );
        if (!moved) return errorReply(404, 'Not Found');
        const [movedOwner = '', movedRepo = ''] = moved.repo.split('/');
        return {
          status: 200,
          body: {
            ...issueWire(moved.issue),
            url: `${baseUrl}/repos/${moved.repo}/issues/${moved.issue.number}`,
            html_url: `${baseUrl}/${movedOwner}/${movedRepo}/issues/${moved.issue.number}`,
            repository_url: `${baseUrl}/repos/${moved.repo}`,
          },
        };
      },
    },
    {
      method: 'POST',
      path: commentsPath,
      handle: (request, params) =>
        withIssue(params, (issue) => {
          const input = z.object({ body: z.string().min(1) }).safeParse(request.body ?? {});
          if (!input.success) return validationFailed(['body']);
          lastCommentId += 1;
          const at = now();
          const comment = { id: lastCommentId, body: input.data.body, created_at: at, updated_at: at };
          issue.comments.push(comment);
          issue.updated_at = at;
          return { status: 201, body: commentWire(issue, comment) };
        }),
    },
    {
      method: 'GET',
      path: commentsPath,
      handle: (request, params) =>
        withIssue(params, (issue) => {
          const paging = pagingSchema.safeParse(request.query);
          if (!paging.success) return validationFailed(['per_page']);
          const comments = issue.comments.map((comment) => commentWire(issue, comment));
          return listPage(request, comments, paging.data);
        }),
    },
    {
      method: 'POST',
      path: /^\/app\/installations\/(?<installationId>\d+)\/access_tokens$/,
      handle: (_request, params) => {
        const token = `ghs_fake${installationTokens.length + 1}`;
        installationTokens.push({ installationId: Number(params.installationId), token });
        const expiresAt = isoSeconds(clock.now().getTime() + 3600_000);
        return {
          status: 201,
          body: {
            token,
            expires_at: expiresAt,
            permissions: { issues: 'write', metadata: 'read' },
            repository_selection: 'selected',
          },
        };
      },
    },
    {
      method: 'GET',
      path: /^\/user$/,
      handle: () => {
        const login = options.login ?? 'raptor-bot';
        return { status: 200, body: { login, id: 5150, node_id: 'U_fake5150', type: 'User' } };
      },
    },
    {
      method: 'GET',
      path: /^\/app$/,
      handle: () => {
        const slug = options.appSlug ?? 'raptor-bot';
        return {
          status: 200,
          body: { id: 777, slug, node_id: 'A_fake777', name: slug, owner: { login: owner } },
        };
      },
    },
    {
      method: 'GET',
      path: /^\/rate_limit$/,
      handle: () => {
        const core = {
          limit: 5000,
          used: 0,
          remaining: 5000,
          reset: Math.ceil(clock.now().getTime() / 1000) + 3600,
        };
        return { status: 200, body: { resources: { core }, rate: core } };
      },
    },
  ];

  function authorize(request: RecordedRequest): FakeReply | undefined {
    if (options.token === undefined) return undefined;
    const [scheme = '', credential = ''] = (request.headers.authorization ?? '').split(' ');
    if (request.path === '/app' || request.path.startsWith('/app/')) {
      // The App's JWT is signed with a key the fake does not hold: its shape is all it checks.
      const looksLikeJwt = scheme.toLowerCase() === 'bearer' && credential.split('.').length === 3;
      return looksLikeJwt ? undefined : errorReply(401, 'A JSON web token could not be decoded');
    }
    const known =
      credential === options.token || installationTokens.some((minted) => minted.token === credential);
    return ['token', 'bearer'].includes(scheme.toLowerCase()) && known
      ? undefined
      : errorReply(401, 'Bad credentials');
  }

  const server = await startFakeHttpServer({ routes, authorize, errorReply });
  baseUrl = server.url;

  return {
    ...server,
    reset() {
      server.reset();
      issues.clear();
      installationTokens.length = 0;
    },
    state: {
      insertIssue,
      issue: (number) => issues.get(number),
      transferIssue(number, toRepo) {
        const issue = issues.get(number);
        if (!issue) throw new Error(`no issue #${number} to transfer`);
        issues.delete(number);
        transferred.set(number, { repo: toRepo, issue: { ...issue, number: 1 } });
      },
      editIssue(number, change) {
        const issue = issues.get(number);
        if (!issue) throw new Error(`no issue #${number}`);
        Object.assign(issue, change, { updated_at: now() });
        return issue;
      },
      issues: () => [...issues.values()],
      installationTokens,
    },
  };
}

function errorReply(status: number, message: string): FakeReply {
  return { status, body: { message, documentation_url: DOCUMENTATION_URL, status: String(status) } };
}

function validationFailed(fields: string[]): FakeReply {
  return {
    status: 422,
    body: {
      message: 'Validation Failed',
      errors: fields.map((field) => ({ resource: 'Issue', code: 'missing_field', field })),
      documentation_url: DOCUMENTATION_URL,
      status: '422',
    },
  };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
