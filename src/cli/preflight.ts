import type { FreeScoutMailbox } from '../clients/freescout.ts';
import type { Config } from '../config.ts';
import type { Clients } from '../lib/deps.ts';
import { UpstreamError } from '../lib/errors.ts';
import { ISSUE_URL_FIELD_NAME, issueUrlFieldOf } from '../lib/issue-url-field.ts';
import { allReadiness } from '../registry.ts';
import { type CliOutput, formatTable } from './output.ts';

export interface PreflightCheck {
  flag: string;
  check: string;
  ok: boolean;
  detail: string;
}

type Probe = () => Promise<{ ok: boolean; detail: string }>;

interface FlagPlan {
  flag: string;
  enabled: boolean;
  checks: Array<{ check: string; probe: Probe }>;
}

const pass = (detail = '') => ({ ok: true, detail });
const fail = (detail: string) => ({ ok: false, detail });

/** A probe that is answered once per run, however many flags need it. */
function once<T>(run: () => Promise<T>): () => Promise<T> {
  let answer: Promise<T> | undefined;
  return () => {
    answer ??= run();
    return answer;
  };
}

function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * For every flag that is on, checks what it needs before traffic arrives: its secrets are set,
 * FreeScout answers with the key, the mailboxes and custom field it names exist, the GitHub
 * credentials can see GITHUB_REPO (and say whose they are), and Slack accepts the bot token. Flags that are off are
 * not checked.
 */
export async function runPreflight(
  config: Config,
  clients: Clients,
): Promise<{ checks: PreflightCheck[]; flagsOff: string[] }> {
  const isSet = (name: string, value: unknown): { check: string; probe: Probe } => ({
    check: `${name} ${name.includes(' and ') ? 'are' : 'is'} set`,
    probe: async () => (value === undefined || value === '' ? fail('unset') : pass()),
  });

  const freescoutMailboxes = once(async (): Promise<FreeScoutMailbox[] | Error> => {
    if (!clients.freescout) return new Error('FREESCOUT_API_URL and FREESCOUT_API_KEY must both be set');
    return clients.freescout.listMailboxes().catch((error: unknown) => new Error(reason(error)));
  });

  const freescoutReachable = {
    check: 'FreeScout answers with FREESCOUT_API_KEY',
    probe: async () => {
      const mailboxes = await freescoutMailboxes();
      return mailboxes instanceof Error
        ? fail(mailboxes.message)
        : pass(`${mailboxes.length} mailbox${mailboxes.length === 1 ? '' : 'es'}`);
    },
  };

  const mailboxExists = (label: string, id: number | undefined) => ({
    check: `${label} exists`,
    probe: async () => {
      if (id === undefined) return fail('no mailbox id configured');
      const mailboxes = await freescoutMailboxes();
      if (mailboxes instanceof Error) return fail(`cannot list mailboxes: ${mailboxes.message}`);
      const mailbox = mailboxes.find((candidate) => candidate.id === id);
      return mailbox ? pass(`${id} is "${mailbox.name}"`) : fail(`no mailbox ${id}`);
    },
  });

  const slackAccepted = {
    check: 'Slack accepts SLACK_BOT_TOKEN (auth.test)',
    probe: async () => {
      if (!clients.slack) return fail('SLACK_BOT_TOKEN is unset');
      try {
        const identity = await clients.slack.authTest();
        return pass([identity.user, identity.team].filter(Boolean).join(' @ '));
      } catch (error) {
        return fail(reason(error));
      }
    },
  };

  const internalRoutesReachable = {
    check: 'internal routes accept the console (INTERNAL_API_TOKEN or CF_ACCESS_*)',
    probe: async () =>
      config.internalAuth.token || config.internalAuth.cfAccess
        ? pass()
        : fail('neither is set: only loopback clients pass'),
  };

  const githubSeesRepo = {
    check: 'GitHub credentials can see GITHUB_REPO',
    probe: async () => {
      if (!config.github.repo) return fail('GITHUB_REPO is unset');
      if (!clients.github) {
        return fail(
          'set GITHUB_ISSUE_BOT_TOKEN, or GITHUB_APP_ID, GITHUB_APP_PRIVATE_KEY and GITHUB_APP_INSTALLATION_ID',
        );
      }
      try {
        const repository = await clients.github.getRepository();
        return pass(repository.fullName);
      } catch (error) {
        return fail(reason(error));
      }
    },
  };

  // FreeScout refuses a note without an existing agent as its `user`.
  const noteUserExists = {
    check: 'FREESCOUT_API_USER_ID is a FreeScout user (notes are written as it)',
    probe: async () => {
      const userId = config.freescout.apiUserId;
      if (userId === undefined) return fail('FREESCOUT_API_USER_ID is unset');
      if (!clients.freescout) return fail('FREESCOUT_API_URL and FREESCOUT_API_KEY must both be set');
      try {
        const user = await clients.freescout.getUser(userId);
        const name = [user.firstName, user.lastName].filter(Boolean).join(' ') || user.email || '';
        return pass(name ? `${userId} is "${name}"` : String(userId));
      } catch (error) {
        return fail(
          error instanceof UpstreamError && error.status === 404 ? `no user ${userId}` : reason(error),
        );
      }
    },
  };

  const { mailboxIds } = config.autolink;
  const fieldSettings = config.freescout.issueUrlField;

  // Without the Tags module FreeScout refuses every tag write: no trigger tags, no auto:status.
  const tagsModuleActive = {
    check: 'FreeScout Tags module is active (GET /api/tags)',
    probe: async () => {
      if (!clients.freescout) return fail('FREESCOUT_API_URL and FREESCOUT_API_KEY must both be set');
      try {
        const count = await clients.freescout.countTags();
        return pass(`${count} tag${count === 1 ? '' : 's'}`);
      } catch (error) {
        return fail(reason(error));
      }
    },
  };

  // Without the Custom Fields module no ticket can carry its issue URL.
  const customFieldsModuleActive = {
    check: 'FreeScout Custom Fields module is active (GET /api/mailboxes/{id}/custom_fields)',
    probe: async () => {
      if (!clients.freescout) return fail('FREESCOUT_API_URL and FREESCOUT_API_KEY must both be set');
      const mailboxes = await freescoutMailboxes();
      if (mailboxes instanceof Error) return fail(`cannot list mailboxes: ${mailboxes.message}`);
      const id = mailboxes[0]?.id;
      if (id === undefined) return fail('FreeScout has no mailbox');
      try {
        const fields = await clients.freescout.listMailboxCustomFields(id);
        return pass(`mailbox ${id}: ${fields.length} field${fields.length === 1 ? '' : 's'}`);
      } catch (error) {
        return fail(reason(error));
      }
    },
  };

  // A custom field belongs to one mailbox: each mailbox that links tickets needs its own.
  const mailboxIssueUrlField = (label: string, mailboxId: () => Promise<number | Error>) => ({
    check: `${label} has its own ${ISSUE_URL_FIELD_NAME} field`,
    probe: async () => {
      if (!clients.freescout) return fail('FREESCOUT_API_URL and FREESCOUT_API_KEY must both be set');
      const id = await mailboxId();
      if (id instanceof Error) return fail(id.message);
      try {
        const field = await issueUrlFieldOf(clients.freescout, fieldSettings, id);
        if (!field.found) return fail(field.problem);
        const how = {
          override: 'FREESCOUT_GITHUB_ISSUE_URL_FIELD_IDS',
          legacy: 'FREESCOUT_GITHUB_ISSUE_URL_FIELD_ID',
          name: 'by name',
        }[field.source];
        return pass(`field ${field.id} "${field.name}" (${how})`);
      } catch (error) {
        return fail(`mailbox ${id}: ${reason(error)}`);
      }
    },
  });

  // The old single id stands for one mailbox only; saying which keeps an upgrade from surprising anyone.
  const legacyFieldId = fieldSettings.legacyFieldId;
  const legacyIssueUrlField = {
    check: 'FREESCOUT_GITHUB_ISSUE_URL_FIELD_ID (deprecated) is one mailbox’s own field',
    probe: async () => {
      if (!clients.freescout) return fail('FREESCOUT_API_URL and FREESCOUT_API_KEY must both be set');
      const owners: number[] = [];
      const ids = await mailboxIdsInUse();
      if (ids.length === 0) return fail('no autolink or GitHub sync mailbox to check it against');
      for (const id of ids) {
        const fields = await clients.freescout.listMailboxCustomFields(id);
        if (fields.some((field) => field.id === legacyFieldId)) owners.push(id);
      }
      return owners.length > 0
        ? pass(
            `used for mailbox ${owners.join(', ')} only; set FREESCOUT_GITHUB_ISSUE_URL_FIELD_IDS=${owners.map((id) => `${id}:${legacyFieldId}`).join(',')} or unset it`,
          )
        : fail(`field ${legacyFieldId} belongs to none of mailboxes ${ids.join(', ')}: unset it`);
    },
  };

  // Unset, the sync uses the mailbox named Operations, as the worker does.
  const syncMailbox = once(async (): Promise<FreeScoutMailbox | Error> => {
    const mailboxes = await freescoutMailboxes();
    if (mailboxes instanceof Error) return new Error(`cannot list mailboxes: ${mailboxes.message}`);
    const id = config.githubSync.mailboxId;
    const mailbox = mailboxes.find((candidate) =>
      id === undefined ? candidate.name.trim().toLowerCase() === 'operations' : candidate.id === id,
    );
    return (
      mailbox ??
      new Error(id === undefined ? 'no mailbox id configured and none named Operations' : `no mailbox ${id}`)
    );
  });
  const syncMailboxExists = {
    check:
      'GitHub sync mailbox (GITHUB_SYNC_MAILBOX_ID, FREESCOUT_OPERATIONS_MAILBOX_ID or "Operations") exists',
    probe: async () => {
      const mailbox = await syncMailbox();
      return mailbox instanceof Error ? fail(mailbox.message) : pass(`${mailbox.id} is "${mailbox.name}"`);
    },
  };
  const syncMailboxId = async () => {
    const mailbox = await syncMailbox();
    return mailbox instanceof Error ? mailbox : mailbox.id;
  };
  const mailboxIdsInUse = async () => {
    const syncId = isOn('FLAG_GITHUB_FREESCOUT_SYNC') ? await syncMailboxId() : undefined;
    const ids = isOn('FLAG_FREESCOUT_GITHUB_AUTOLINK') ? [...mailboxIds] : [];
    if (typeof syncId === 'number' && !ids.includes(syncId)) ids.push(syncId);
    return ids;
  };

  const githubIdentity = {
    check: 'GitHub says who the service is (its own actions are ignored)',
    probe: async () => {
      if (!clients.github) return fail('GitHub is not configured');
      try {
        return pass(await clients.github.ownLogin());
      } catch (error) {
        return fail(reason(error));
      }
    },
  };

  // Which features are on comes from the same readiness the routes, jobs and operator page use.
  const readiness = allReadiness(config);
  const isOn = (flag: string) => readiness.some((feature) => feature.flag === flag && feature.enabled);
  const plans: FlagPlan[] = [
    {
      flag: 'FLAG_FREESCOUT_WEBHOOK_RECEIVE',
      enabled: isOn('FLAG_FREESCOUT_WEBHOOK_RECEIVE'),
      checks: [
        isSet('FREESCOUT_AUDIT_WEBHOOK_SECRET', config.freescoutWebhooks.auditSecrets[0]),
        internalRoutesReachable,
        slackAccepted,
      ],
    },
    {
      flag: 'FLAG_FREESCOUT_RBAC_REVOKE',
      enabled: isOn('FLAG_FREESCOUT_RBAC_REVOKE'),
      checks: [
        isSet('FREESCOUT_RBAC_WEBHOOK_SECRET (or the audit secret)', config.freescoutWebhooks.rbacSecrets[0]),
        internalRoutesReachable,
      ],
    },
    {
      flag: 'FLAG_FREESCOUT_CACHE_POLL',
      enabled: isOn('FLAG_FREESCOUT_CACHE_POLL'),
      checks: [freescoutReachable],
    },
    {
      flag: 'FLAG_POSTMARK_DELIVERY_MONITOR',
      enabled: isOn('FLAG_POSTMARK_DELIVERY_MONITOR'),
      checks: [
        isSet('POSTMARK_DELIVERY_WEBHOOK_SECRET', config.postmark.webhookSecrets[0]),
        internalRoutesReachable,
        slackAccepted,
      ],
    },
    {
      flag: 'FLAG_CONSOLE_INVESTIGATE_FROM_STATUS',
      enabled: isOn('FLAG_CONSOLE_INVESTIGATE_FROM_STATUS'),
      checks: [
        isSet('FREESCOUT_API_URL and FREESCOUT_API_KEY', config.freescout.api?.baseUrl),
        isSet('FREESCOUT_OPERATIONS_MAILBOX_ID', config.investigate.operationsMailboxId),
        freescoutReachable,
        mailboxExists(
          'Operations mailbox (FREESCOUT_OPERATIONS_MAILBOX_ID)',
          config.investigate.operationsMailboxId,
        ),
        tagsModuleActive,
        internalRoutesReachable,
      ],
    },
    {
      flag: 'FLAG_FREESCOUT_GITHUB_AUTOLINK',
      enabled: isOn('FLAG_FREESCOUT_GITHUB_AUTOLINK'),
      checks: [
        isSet('FREESCOUT_WEBHOOK_SECRET', config.autolink.webhookSecrets[0]),
        isSet('GITHUB_REPO', config.github.repo),
        githubSeesRepo,
        freescoutReachable,
        noteUserExists,
        isSet('FREESCOUT_AUTOLINK_MAILBOX_IDS', mailboxIds[0]),
        ...mailboxIds.map((id) =>
          mailboxExists(`autolink mailbox ${id} (FREESCOUT_AUTOLINK_MAILBOX_IDS)`, id),
        ),
        tagsModuleActive,
        customFieldsModuleActive,
        ...mailboxIds.map((id) => mailboxIssueUrlField(`autolink mailbox ${id}`, async () => id)),
        ...(legacyFieldId === undefined ? [] : [legacyIssueUrlField]),
      ],
    },
    {
      flag: 'FLAG_GITHUB_FREESCOUT_SYNC',
      enabled: isOn('FLAG_GITHUB_FREESCOUT_SYNC'),
      checks: [
        isSet('GITHUB_WEBHOOK_SECRET', config.githubSync.webhookSecrets[0]),
        isSet('GITHUB_REPO', config.github.repo),
        githubSeesRepo,
        githubIdentity,
        freescoutReachable,
        syncMailboxExists,
        tagsModuleActive,
        customFieldsModuleActive,
        mailboxIssueUrlField('GitHub sync mailbox', syncMailboxId),
        // Checked once: under the autolink flag when that is on too.
        ...(legacyFieldId === undefined || isOn('FLAG_FREESCOUT_GITHUB_AUTOLINK')
          ? []
          : [legacyIssueUrlField]),
        isSet('FREESCOUT_API_USER_ID', config.freescout.apiUserId),
        isSet('FREESCOUT_PUBLIC_URL (or FREESCOUT_API_URL)', config.freescout.publicUrl),
      ],
    },
  ];

  const checks: PreflightCheck[] = [];
  for (const plan of plans.filter((candidate) => candidate.enabled)) {
    for (const { check, probe } of plan.checks) {
      const outcome = await probe().catch((error: unknown) => fail(reason(error)));
      checks.push({ flag: plan.flag, check, ...outcome });
    }
  }
  return { checks, flagsOff: plans.filter((plan) => !plan.enabled).map((plan) => plan.flag) };
}

/** `preflight`: prints the ✓/✗ table; exit code 1 when any check failed. */
export async function preflightCommand(config: Config, clients: Clients, output: CliOutput): Promise<number> {
  const { checks, flagsOff } = await runPreflight(config, clients);
  if (checks.length === 0) {
    output.out('No feature flag is on: nothing to check.');
    return 0;
  }
  const rows = checks.map((check) => [check.ok ? '✓' : '✗', check.flag, check.check, check.detail]);
  for (const line of formatTable([[' ', 'FLAG', 'CHECK', 'DETAIL'], ...rows])) output.out(line);
  if (flagsOff.length > 0) output.out(`Off, not checked: ${flagsOff.join(', ')}`);
  const failed = checks.filter((check) => !check.ok).length;
  output.out(
    failed === 0 ? `All ${checks.length} checks passed.` : `${failed} of ${checks.length} checks failed.`,
  );
  return failed === 0 ? 0 : 1;
}
