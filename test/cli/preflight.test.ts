import { describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/run.ts';
import { startFakeFreeScout } from '../support/fake-freescout.ts';
import { startFakeGitHub } from '../support/fake-github.ts';
import { startFakeSlack } from '../support/fake-slack.ts';
import { useFixture } from '../support/setup.ts';
import { captureOutput } from './capture.ts';

const FREESCOUT_KEY = 'preflight-freescout-key';
const GITHUB_TOKEN = 'ghp_preflight';
const SLACK_TOKEN = 'xoxb-preflight';
/** As in FreeScout, each mailbox has its own `github_issue_url`: Support's 7, Operations' 8. */
const ISSUE_URL_FIELDS = [
  { id: 7, mailboxId: 1, name: 'github_issue_url' },
  { id: 8, mailboxId: 2, name: 'github_issue_url' },
];

const freescout = useFixture(() =>
  startFakeFreeScout({ apiKey: FREESCOUT_KEY, customFields: ISSUE_URL_FIELDS }),
);
const github = useFixture(() => startFakeGitHub({ owner: 'raxx', repo: 'ops', token: GITHUB_TOKEN }));
const slack = useFixture(() => startFakeSlack({ token: SLACK_TOKEN }));

/** Every flag on, every prerequisite met. */
function healthyEnv(): Record<string, string | undefined> {
  return {
    INTERNAL_API_TOKEN: 'internal-token',
    FREESCOUT_API_URL: freescout.url,
    FREESCOUT_API_KEY: FREESCOUT_KEY,
    SLACK_BOT_TOKEN: SLACK_TOKEN,
    SLACK_API_URL: slack.url,
    GITHUB_API_URL: github.url,
    GITHUB_REPO: 'raxx/ops',
    GITHUB_ISSUE_BOT_TOKEN: GITHUB_TOKEN,
    FLAG_FREESCOUT_WEBHOOK_RECEIVE: '1',
    FREESCOUT_AUDIT_WEBHOOK_SECRET: 'audit-secret',
    FLAG_FREESCOUT_RBAC_REVOKE: '1',
    FLAG_FREESCOUT_CACHE_POLL: '1',
    FLAG_POSTMARK_DELIVERY_MONITOR: '1',
    POSTMARK_DELIVERY_WEBHOOK_SECRET: 'postmark-token',
    FLAG_CONSOLE_INVESTIGATE_FROM_STATUS: '1',
    FREESCOUT_OPERATIONS_MAILBOX_ID: '2',
    FLAG_FREESCOUT_GITHUB_AUTOLINK: '1',
    FREESCOUT_WEBHOOK_SECRET: 'autolink-secret',
    FREESCOUT_AUTOLINK_MAILBOX_IDS: '1,2',
    FLAG_GITHUB_FREESCOUT_SYNC: '1',
    GITHUB_WEBHOOK_SECRET: 'github-webhook-secret',
    FREESCOUT_API_USER_ID: '1',
  };
}

async function preflight(env: Record<string, string | undefined>) {
  const output = captureOutput();
  const code = await runCli(['preflight'], env, output);
  const rows = output.stdout.filter((line) => /^[✓✗]/.test(line));
  const failed = (flag: string) => rows.filter((line) => line.startsWith('✗') && line.includes(flag));
  return { code, output, rows, failed };
}

describe('cli: preflight', () => {
  it('passes every check and exits 0 when every prerequisite is met', async () => {
    const { code, output, rows } = await preflight(healthyEnv());
    expect(rows.length).toBeGreaterThan(15);
    expect(rows.every((line) => line.startsWith('✓'))).toBe(true);
    expect(output.stdout.at(-1)).toMatch(/^All \d+ checks passed\.$/);
    expect(code).toBe(0);
  });

  it('checks only the flags that are on', async () => {
    const { code, output, rows } = await preflight({
      ...healthyEnv(),
      FLAG_FREESCOUT_WEBHOOK_RECEIVE: '0',
      FLAG_FREESCOUT_RBAC_REVOKE: '0',
      FLAG_FREESCOUT_CACHE_POLL: '0',
      FLAG_POSTMARK_DELIVERY_MONITOR: '0',
      FLAG_FREESCOUT_GITHUB_AUTOLINK: '0',
      FLAG_GITHUB_FREESCOUT_SYNC: '0',
    });
    expect(code).toBe(0);
    expect(rows.every((line) => line.includes('FLAG_CONSOLE_INVESTIGATE_FROM_STATUS'))).toBe(true);
    expect(output.stdout).toContain(
      'Off, not checked: FLAG_FREESCOUT_WEBHOOK_RECEIVE, FLAG_FREESCOUT_RBAC_REVOKE, FLAG_FREESCOUT_CACHE_POLL, FLAG_POSTMARK_DELIVERY_MONITOR, FLAG_FREESCOUT_GITHUB_AUTOLINK, FLAG_GITHUB_FREESCOUT_SYNC',
    );
  });

  it('has nothing to check when every flag is off', async () => {
    const { code, output } = await preflight({});
    expect(code).toBe(0);
    expect(output.stdout).toEqual(['No feature flag is on: nothing to check.']);
  });

  it('fails when a flag’s secret is unset', async () => {
    const { code, failed } = await preflight({
      ...healthyEnv(),
      POSTMARK_DELIVERY_WEBHOOK_SECRET: undefined,
    });
    expect(code).toBe(1);
    expect(failed('FLAG_POSTMARK_DELIVERY_MONITOR')).toEqual([
      expect.stringMatching(/POSTMARK_DELIVERY_WEBHOOK_SECRET is set\s+unset$/),
    ]);
  });

  it('fails every FreeScout check when FreeScout refuses the key', async () => {
    const { code, failed } = await preflight({ ...healthyEnv(), FREESCOUT_API_KEY: 'revoked-key' });
    expect(code).toBe(1);
    expect(failed('FLAG_FREESCOUT_CACHE_POLL')).toEqual([expect.stringContaining('answered 401')]);
    expect(failed('FLAG_CONSOLE_INVESTIGATE_FROM_STATUS').length).toBeGreaterThanOrEqual(2);
  });

  it('fails when the Operations mailbox id names no mailbox', async () => {
    const { code, failed } = await preflight({ ...healthyEnv(), FREESCOUT_OPERATIONS_MAILBOX_ID: '99' });
    expect(code).toBe(1);
    expect(failed('FLAG_CONSOLE_INVESTIGATE_FROM_STATUS')).toEqual([
      expect.stringContaining('no mailbox 99'),
    ]);
  });

  it('finds each autolink mailbox’s own github_issue_url field by name, and the sync mailbox’s', async () => {
    const { rows } = await preflight(healthyEnv());
    expect(rows).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /^✓.*autolink mailbox 1 has its own github_issue_url field\s+field 7 "github_issue_url" \(by name\)$/,
        ),
        expect.stringMatching(
          /^✓.*autolink mailbox 2 has its own github_issue_url field\s+field 8 "github_issue_url" \(by name\)$/,
        ),
        expect.stringMatching(
          /^✓.*FLAG_GITHUB_FREESCOUT_SYNC.*GitHub sync mailbox has its own github_issue_url field\s+field 8/,
        ),
        expect.stringMatching(/^✓.*FLAG_FREESCOUT_GITHUB_AUTOLINK.*Tags module is active/),
        expect.stringMatching(/^✓.*FLAG_FREESCOUT_GITHUB_AUTOLINK.*Custom Fields module is active/),
        expect.stringMatching(/^✓.*FLAG_CONSOLE_INVESTIGATE_FROM_STATUS.*Tags module is active/),
      ]),
    );
  });

  it('fails the mailbox whose field an override names when that field is another mailbox’s', async () => {
    const { code, failed } = await preflight({
      ...healthyEnv(),
      FREESCOUT_GITHUB_ISSUE_URL_FIELD_IDS: '1:8',
    });
    expect(code).toBe(1);
    expect(failed('FLAG_FREESCOUT_GITHUB_AUTOLINK')).toEqual([
      expect.stringContaining(
        'FREESCOUT_GITHUB_ISSUE_URL_FIELD_IDS names field 8 for mailbox 1, which is not one of its custom fields (7 "github_issue_url")',
      ),
    ]);
    const right = await preflight({ ...healthyEnv(), FREESCOUT_GITHUB_ISSUE_URL_FIELD_IDS: '1:7, 2:8' });
    expect(right.code).toBe(0);
    expect(right.rows).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/field 7 "github_issue_url" \(FREESCOUT_GITHUB_ISSUE_URL_FIELD_IDS\)$/),
      ]),
    );
  });

  it('keeps passing with the old single field id, and says which one mailbox it stands for', async () => {
    const { code, rows } = await preflight({ ...healthyEnv(), FREESCOUT_GITHUB_ISSUE_URL_FIELD_ID: '8' });
    expect(code).toBe(0);
    expect(rows).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /autolink mailbox 1 has its own github_issue_url field\s+field 7 "github_issue_url" \(by name\)$/,
        ),
        expect.stringMatching(
          /autolink mailbox 2 has its own github_issue_url field\s+field 8 "github_issue_url" \(FREESCOUT_GITHUB_ISSUE_URL_FIELD_ID\)$/,
        ),
        expect.stringMatching(
          /^✓.*FREESCOUT_GITHUB_ISSUE_URL_FIELD_ID \(deprecated\).*used for mailbox 2 only; set FREESCOUT_GITHUB_ISSUE_URL_FIELD_IDS=2:8 or unset it$/,
        ),
      ]),
    );
    const stray = await preflight({ ...healthyEnv(), FREESCOUT_GITHUB_ISSUE_URL_FIELD_ID: '99' });
    expect(stray.code).toBe(1);
    expect(stray.failed('FLAG_FREESCOUT_GITHUB_AUTOLINK')).toEqual([
      expect.stringContaining('field 99 belongs to none of mailboxes 1, 2: unset it'),
    ]);
  });

  it('fails when FREESCOUT_API_USER_ID is unset or names no FreeScout user (GET /api/users/{id})', async () => {
    const unset = await preflight({ ...healthyEnv(), FREESCOUT_API_USER_ID: undefined });
    expect(unset.code).toBe(1);
    expect(unset.failed('FLAG_FREESCOUT_GITHUB_AUTOLINK')).toEqual([
      expect.stringMatching(/FREESCOUT_API_USER_ID is a FreeScout user.*unset$/),
    ]);
    const unknown = await preflight({ ...healthyEnv(), FREESCOUT_API_USER_ID: '42' });
    expect(unknown.failed('FLAG_FREESCOUT_GITHUB_AUTOLINK')).toEqual([expect.stringContaining('no user 42')]);
    expect(freescout.requests.some((request) => request.path === '/api/users/42')).toBe(true);
  });

  it('fails when the GitHub token cannot see GITHUB_REPO', async () => {
    const { code, failed } = await preflight({ ...healthyEnv(), GITHUB_REPO: 'raxx/secret' });
    expect(code).toBe(1);
    expect(failed('FLAG_FREESCOUT_GITHUB_AUTOLINK')).toEqual([
      expect.stringMatching(/GitHub credentials can see GITHUB_REPO.*404/),
    ]);
  });

  it('fails the GitHub sync when its webhook secret is unset or its mailbox does not exist', async () => {
    const unset = await preflight({ ...healthyEnv(), GITHUB_WEBHOOK_SECRET: undefined });
    expect(unset.code).toBe(1);
    expect(unset.failed('FLAG_GITHUB_FREESCOUT_SYNC')).toEqual([
      expect.stringMatching(/GITHUB_WEBHOOK_SECRET is set\s+unset$/),
    ]);
    const missing = await preflight({ ...healthyEnv(), GITHUB_SYNC_MAILBOX_ID: '99' });
    expect(missing.code).toBe(1);
    expect(missing.failed('FLAG_GITHUB_FREESCOUT_SYNC')).toEqual([
      expect.stringContaining('no mailbox 99'),
      expect.stringContaining('no mailbox 99'),
    ]);
  });

  it('fails when Slack refuses the bot token', async () => {
    const { code, failed } = await preflight({ ...healthyEnv(), SLACK_BOT_TOKEN: 'xoxb-revoked' });
    expect(code).toBe(1);
    expect(failed('FLAG_POSTMARK_DELIVERY_MONITOR')).toEqual([expect.stringContaining('invalid_auth')]);
    expect(failed('FLAG_FREESCOUT_WEBHOOK_RECEIVE')).toEqual([expect.stringContaining('invalid_auth')]);
  });

  it('asks FreeScout for its mailboxes once, however many flags need them', async () => {
    freescout.requests.length = 0;
    await preflight(healthyEnv());
    expect(freescout.requests.filter((request) => request.path === '/api/mailboxes')).toHaveLength(1);
  });

  it('never prints a secret', async () => {
    const env = healthyEnv();
    const { output } = await preflight({ ...env, FREESCOUT_API_KEY: 'revoked-key-0042' });
    const printed = [...output.stdout, ...output.stderr].join('\n');
    for (const secret of [
      'revoked-key-0042',
      GITHUB_TOKEN,
      SLACK_TOKEN,
      'audit-secret',
      'postmark-token',
      'github-webhook-secret',
    ]) {
      expect(printed).not.toContain(secret);
    }
  });
});

describe('cli: preflight, FreeScout modules off', () => {
  const bare = useFixture(() =>
    startFakeFreeScout({
      apiKey: FREESCOUT_KEY,
      customFields: ISSUE_URL_FIELDS,
      modules: { tags: false, customFields: false },
    }),
  );

  it('fails the Tags and Custom Fields checks with FreeScout’s reason when the modules are not active', async () => {
    const { code, failed } = await preflight({ ...healthyEnv(), FREESCOUT_API_URL: bare.url });
    expect(code).toBe(1);
    expect(failed('FLAG_CONSOLE_INVESTIGATE_FROM_STATUS')).toEqual([
      expect.stringMatching(/Tags module is active.*Tags module is not installed or not activated/),
    ]);
    expect(failed('FLAG_FREESCOUT_GITHUB_AUTOLINK')).toEqual([
      expect.stringMatching(/Tags module is active.*Tags module is not installed or not activated/),
      expect.stringMatching(
        /Custom Fields module is active.*Custom Fields module is not installed or not activated/,
      ),
      expect.stringContaining('Custom Fields module is not installed or not activated'),
      expect.stringContaining('Custom Fields module is not installed or not activated'),
    ]);
  });
});

describe('cli: preflight, a mailbox without its own field', () => {
  const supportOnly = useFixture(() =>
    startFakeFreeScout({ apiKey: FREESCOUT_KEY, customFields: ISSUE_URL_FIELDS.slice(0, 1) }),
  );

  it('fails the mailbox that has no github_issue_url field of its own, for autolink and the sync', async () => {
    const { code, failed } = await preflight({ ...healthyEnv(), FREESCOUT_API_URL: supportOnly.url });
    expect(code).toBe(1);
    const problem = 'mailbox 2 has no custom field named github_issue_url (its fields: none)';
    expect(failed('FLAG_FREESCOUT_GITHUB_AUTOLINK')).toEqual([
      expect.stringMatching(/autolink mailbox 2 has its own github_issue_url field.*\(its fields: none\)$/),
    ]);
    expect(failed('FLAG_GITHUB_FREESCOUT_SYNC')).toEqual([expect.stringContaining(problem)]);
  });
});
