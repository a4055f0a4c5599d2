import { beforeAll, beforeEach, expect, it } from 'vitest';
import { createGitHubClient, type GitHubClient, githubWebOrigin } from '../../src/clients/github.ts';
import { loadConfig } from '../../src/config.ts';
import { startFakeGitHub } from '../support/fake-github.ts';
import { useFixture } from '../support/setup.ts';

const github = useFixture(() => startFakeGitHub({ owner: 'raxx', repo: 'ops', token: 'ghp_test' }));
let client: GitHubClient;

beforeAll(() => {
  const config = loadConfig({
    GITHUB_API_URL: github.url,
    GITHUB_REPO: 'raxx/ops',
    GITHUB_ISSUE_BOT_TOKEN: 'ghp_test',
  });
  const created = createGitHubClient(config.github, undefined, { timeoutMs: 500 });
  if (!created) throw new Error('client not configured');
  client = created;
});
beforeEach(() => github.reset());

it.each([
  ['https://api.github.com', 'https://github.com'],
  ['https://api.github.com/', 'https://github.com'],
  ['https://ghe.raxx.app/api/v3', 'https://ghe.raxx.app'],
  ['https://api.raxx.ghe.com', 'https://raxx.ghe.com'],
  ['http://127.0.0.1:19300', 'http://127.0.0.1:19300'],
])('knows the web origin of the GitHub whose API is at %s: %s', (apiUrl, origin) => {
  expect(githubWebOrigin(apiUrl)).toBe(origin);
});

it('is not created without a repository or credentials', () => {
  expect(createGitHubClient(loadConfig({ GITHUB_REPO: 'raxx/ops' }).github)).toBeUndefined();
  expect(createGitHubClient(loadConfig({ GITHUB_ISSUE_BOT_TOKEN: 'x' }).github)).toBeUndefined();
});

it('opens an issue, finds it by label, and comments on it', async () => {
  const issue = await client.createIssue({ title: 'T', body: 'marker-1', labels: ['freescout-linked'] });
  expect(issue).toMatchObject({
    number: expect.any(Number),
    title: 'T',
    htmlUrl: expect.stringContaining('/issues/'),
  });
  const listed = await client.listIssuesWithLabel('freescout-linked', new Date(Date.now() - 60_000));
  expect(listed.map((found) => found.body)).toContain('marker-1');
  await client.createComment(issue.number, 'hello');
  expect((await client.listComments(issue.number)).map((comment) => comment.body)).toEqual(['hello']);
  expect(github.requests.find((request) => request.method === 'POST')?.headers.authorization).toMatch(
    /ghp_test/,
  );
});

it('does not repeat an issue creation that failed with a 5xx', async () => {
  github.failNext({ status: 502 }, { method: 'POST', path: /\/issues$/ });
  await expect(client.createIssue({ title: 'T', body: 'b', labels: [] })).rejects.toMatchObject({
    service: 'github',
    details: { status: 502, outcomeUnknown: true },
  });
  expect(github.requests.filter((request) => request.method === 'POST')).toHaveLength(1);
});

it('retries an idempotent read after a 5xx', async () => {
  github.failNext({ status: 500 }, { method: 'GET', path: /\/repos\/raxx\/ops$/ });
  await expect(client.getRepository()).resolves.toMatchObject({ fullName: 'raxx/ops' });
  expect(github.requests.filter((request) => request.method === 'GET')).toHaveLength(2);
});

it('gives up on a GitHub that never answers, saying the outcome is unknown', async () => {
  github.failNext({ hang: true }, { method: 'POST', path: /\/issues$/ });
  await expect(client.createIssue({ title: 'T', body: 'b', labels: [] })).rejects.toMatchObject({
    service: 'github',
    details: { outcomeUnknown: true },
  });
});
