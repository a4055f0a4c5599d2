import dotenv from 'dotenv';
import { z } from 'zod';

/** A flag is on when its value is `1` or `true` (any case); anything else is off. */
const flag = z
  .string()
  .optional()
  .transform((value) => value !== undefined && /^(1|true)$/i.test(value));

/** Unset and empty both mean "not configured". */
const optionalString = z
  .string()
  .optional()
  .transform((value) => (value === undefined || value.trim() === '' ? undefined : value));

/** The service only speaks HTTP(S) to its upstreams: `ftp://x` is a typo to stop on, not a URL to try. */
const optionalUrl = optionalString.pipe(
  z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' }).optional(),
);

const databaseUrl = optionalString.pipe(
  z.url({ protocol: /^postgres(ql)?$/, error: 'expected a postgres:// or postgresql:// URL' }).optional(),
);

const positiveInt = (fallback: number, max?: number) => {
  const int = z.coerce.number<string>().int().positive();
  return optionalString.pipe((max ? int.max(max) : int).optional()).transform((value) => value ?? fallback);
};

/** A count of seconds where `0` switches the job off. */
const nonNegativeInt = (fallback: number) =>
  optionalString
    .pipe(z.coerce.number<string>().int().min(0).optional())
    .transform((value) => value ?? fallback);

const rate = (fallback: number) =>
  optionalString
    .pipe(z.coerce.number<string>().gt(0).lte(1).optional())
    .transform((value) => value ?? fallback);

const csv = (fallback: string) =>
  optionalString.transform((value) =>
    (value ?? fallback)
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item !== ''),
  );

const intList = optionalString.pipe(
  z
    .string()
    .regex(/^\s*\d+(\s*,\s*\d+)*\s*$/, 'expected comma-separated integers')
    .optional()
    .transform((value) => (value ? value.split(',').map((id) => Number(id.trim())) : [])),
);

const githubRepo = optionalString.pipe(
  z
    .string()
    .regex(/^[\w.-]+\/[\w.-]+$/, 'expected owner/name')
    .optional(),
);

/** `all`, `none`, or job names; names are checked against the features' jobs at start. */
const jobSelection = (fallback: string) =>
  optionalString.transform((value): 'all' | string[] => {
    const text = (value ?? fallback).trim().toLowerCase();
    if (text === 'all') return 'all';
    if (text === 'none') return [];
    return text
      .split(',')
      .map((name) => name.trim())
      .filter((name) => name !== '');
  });

const envSchema = z.object({
  NODE_ENV: optionalString,
  PORT: positiveInt(3000, 65535),
  HOST: optionalString.transform((value) => value ?? '0.0.0.0'),
  DATABASE_URL: databaseUrl,
  PGLITE_DATA_DIR: optionalString,
  REQUEST_TIMEOUT_SECONDS: positiveInt(30, 600),
  LOG_LEVEL: optionalString.pipe(
    z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).optional().default('info'),
  ),
  INTERNAL_API_TOKEN: optionalString,
  CF_ACCESS_TEAM_DOMAIN: optionalString,
  CF_ACCESS_AUD: optionalString,

  SLACK_BOT_TOKEN: optionalString,
  SLACK_OPERATOR_DM_CHANNEL: optionalString.transform((value) => value ?? 'D0AJ7K184TV'),
  SLACK_API_URL: optionalUrl.transform((value) => value ?? 'https://slack.com/api'),

  FREESCOUT_API_URL: optionalUrl,
  FREESCOUT_API_KEY: optionalString,
  FREESCOUT_PUBLIC_URL: optionalUrl,
  FREESCOUT_API_USER_ID: optionalString.pipe(z.coerce.number<string>().int().positive().optional()),
  FREESCOUT_API_TIMEOUT_MS: positiveInt(10_000, 120_000),

  FLAG_FREESCOUT_WEBHOOK_RECEIVE: flag,
  FREESCOUT_AUDIT_WEBHOOK_SECRET: optionalString,
  FREESCOUT_AUDIT_WEBHOOK_SECRET_PREVIOUS: optionalString,
  FLAG_FREESCOUT_RBAC_REVOKE: flag,
  FREESCOUT_RBAC_WEBHOOK_SECRET: optionalString,
  FREESCOUT_RBAC_WEBHOOK_SECRET_PREVIOUS: optionalString,
  FREESCOUT_CACHE_TTL_SECONDS: positiveInt(86400),
  FLAG_FREESCOUT_CACHE_POLL: flag,
  FREESCOUT_CACHE_POLL_INTERVAL_SECONDS: positiveInt(60, 300),

  FLAG_POSTMARK_DELIVERY_MONITOR: flag,
  POSTMARK_DELIVERY_WEBHOOK_SECRET: optionalString,
  POSTMARK_DELIVERY_WEBHOOK_SECRET_PREVIOUS: optionalString,
  POSTMARK_BOUNCE_ALERT_RATE: rate(0.01),
  POSTMARK_SPAM_ALERT_RATE: rate(0.001),
  POSTMARK_ALERT_MIN_VOLUME: positiveInt(50),
  POSTMARK_BOUNCE_ALERT_TYPES: csv(
    'HardBounce,SoftBounce,DnsError,Blocked,BadEmailAddress,ManuallyDeactivated,DMARCPolicy',
  ),
  POSTMARK_EVENT_RETENTION_DAYS: positiveInt(90),
  ALERTS_SOURCE_URL: optionalUrl,

  FLAG_CONSOLE_INVESTIGATE_FROM_STATUS: flag,
  FREESCOUT_OPERATIONS_MAILBOX_ID: optionalString.pipe(z.coerce.number<string>().int().positive().optional()),
  INVESTIGATE_DEDUP_MINUTES: positiveInt(60),

  FLAG_FREESCOUT_GITHUB_AUTOLINK: flag,
  FREESCOUT_WEBHOOK_SECRET: optionalString,
  FREESCOUT_WEBHOOK_SECRET_PREVIOUS: optionalString,
  GITHUB_REPO: githubRepo,
  FREESCOUT_AUTOLINK_TAGS: csv('bug,feature_request,auto:status'),
  FREESCOUT_AUTOLINK_MAILBOX_IDS: intList,
  FREESCOUT_AUTOLINK_KEYWORDS: csv(''),
  // Deprecated: one id cannot serve several mailboxes (a FreeScout custom field belongs to one).
  FREESCOUT_GITHUB_ISSUE_URL_FIELD_ID: optionalString.pipe(
    z.coerce.number<string>().int().positive().optional(),
  ),
  FREESCOUT_GITHUB_ISSUE_URL_FIELD_IDS: optionalString.pipe(
    z
      .string()
      .regex(/^\s*\d+\s*:\s*\d+(\s*,\s*\d+\s*:\s*\d+)*\s*$/, 'expected mailboxId:fieldId pairs, e.g. 1:7,2:8')
      .optional(),
  ),
  GITHUB_ISSUE_BOT_TOKEN: optionalString,
  GITHUB_APP_ID: optionalString,
  GITHUB_APP_PRIVATE_KEY: optionalString,
  GITHUB_APP_INSTALLATION_ID: optionalString.pipe(z.coerce.number<string>().int().positive().optional()),
  GITHUB_API_URL: optionalUrl.transform((value) => value ?? 'https://api.github.com'),
  GITHUB_API_TIMEOUT_MS: positiveInt(15_000, 120_000),
  AUTOLINK_MAX_ATTEMPTS: positiveInt(10, 100),
  FREESCOUT_AUTOLINK_SWEEP_SECONDS: nonNegativeInt(300),
  FREESCOUT_AUTOLINK_LABELS: optionalString.pipe(
    z
      .string()
      .regex(
        /^\s*[^=,]+=[^=,]+(,\s*[^=,]+=[^=,]+)*\s*$/,
        'expected tag=label pairs, e.g. bug=bug,feature_request=enhancement',
      )
      .optional(),
  ),
  FREESCOUT_AUTOLINK_CLOSE_ISSUE: flag,
  GITHUB_LINK_DETAILS_MAX_AGE_SECONDS: positiveInt(300, 86400),
  CONSOLE_ORIGINS: optionalString.pipe(
    z
      .string()
      .optional()
      .transform((value) => (value ?? '').split(',').map((origin) => origin.trim().replace(/\/+$/, '')))
      .pipe(
        z.array(
          z.union([
            z.literal(''),
            z.url({ protocol: /^https?$/, error: 'expected comma-separated http(s) origins' }),
          ]),
        ),
      )
      .transform((origins) =>
        origins.filter((origin) => origin !== '').map((origin) => new URL(origin).origin),
      ),
  ),

  // 0 turns the delivery log off (nothing recorded, nothing pruned).
  DELIVERY_LOG_RETENTION_DAYS: optionalString
    .pipe(z.coerce.number<string>().int().min(0).max(3650).optional())
    .transform((value) => value ?? 14),

  // Which background jobs each process runs: `all`, `none` or a comma-separated list of job names.
  WEB_JOBS: jobSelection('all'),
  WORKER_JOBS: jobSelection('autolink-worker,autolink-sweep,github-sync-worker'),

  FLAG_GITHUB_FREESCOUT_SYNC: flag,
  GITHUB_WEBHOOK_SECRET: optionalString,
  GITHUB_WEBHOOK_SECRET_PREVIOUS: optionalString,
  GITHUB_SYNC_LABELS: optionalString.pipe(
    z
      .string()
      .regex(
        /^\s*[^=,]+=\s*(ticket(:[^,]+)?|regression|confirm)\s*(,\s*[^=,]+=\s*(ticket(:[^,]+)?|regression|confirm)\s*)*$/,
        'expected label=effect pairs, effect one of ticket, ticket:tag+tag, regression, confirm',
      )
      .optional(),
  ),
  GITHUB_SYNC_MAILBOX_ID: optionalString.pipe(z.coerce.number<string>().int().positive().optional()),
});

type Env = z.infer<typeof envSchema>;

/** Current secret first, then the one being rotated out. */
function secretList(current: string | undefined, previous: string | undefined): string[] {
  // A previous secret alone is a rotation half-done, not a configured webhook.
  if (current === undefined) return [];
  return [current, previous].filter((secret): secret is string => secret !== undefined);
}

const DEFAULT_PGLITE_DATA_DIR = './.data/pglite';

const DEFAULT_AUTOLINK_LABELS = 'bug=bug,feature_request=enhancement,auto:status=ops';

/** Trigger tag (lower case) → the extra labels of the issue it opens; `label+label` gives several. */
function autolinkLabels(value: string | undefined): Map<string, string[]> {
  const labels = new Map<string, string[]>();
  for (const pair of (value ?? DEFAULT_AUTOLINK_LABELS).split(',')) {
    const [tag = '', label = ''] = pair.split('=').map((part) => part.trim());
    const names = label
      .split('+')
      .map((name) => name.trim())
      .filter((name) => name !== '');
    labels.set(tag.toLowerCase(), [...(labels.get(tag.toLowerCase()) ?? []), ...names]);
  }
  return labels;
}

/** `mailboxId:fieldId` pairs → field id by mailbox id. */
function fieldIdsByMailbox(value: string | undefined): Map<number, number> {
  const fields = new Map<number, number>();
  for (const pair of (value ?? '').split(',').filter((item) => item.trim() !== '')) {
    const [mailboxId = '', fieldId = ''] = pair.split(':');
    fields.set(Number(mailboxId.trim()), Number(fieldId.trim()));
  }
  return fields;
}

/** What a label just added to a GitHub issue asks of Direction B. */
export type SyncLabelEffect = { kind: 'ticket'; tags: string[] } | { kind: 'confirm' };

const DEFAULT_SYNC_LABELS = 'customer-reported=ticket,regression=regression,needs-customer-confirm=confirm';

/** `label=effect` pairs; `regression` is `ticket:bug+regression`. Label names compare case-insensitively, as GitHub's do. */
function syncLabels(value: string | undefined): Map<string, SyncLabelEffect> {
  const rules = new Map<string, SyncLabelEffect>();
  for (const pair of (value ?? DEFAULT_SYNC_LABELS).split(',')) {
    const [label = '', effect = ''] = pair.split('=').map((part) => part.trim());
    if (effect === 'confirm') rules.set(label.toLowerCase(), { kind: 'confirm' });
    else if (effect === 'regression')
      rules.set(label.toLowerCase(), { kind: 'ticket', tags: ['bug', 'regression'] });
    else {
      const tags = effect.startsWith('ticket:') ? effect.slice('ticket:'.length).split('+') : [];
      rules.set(label.toLowerCase(), {
        kind: 'ticket',
        tags: tags.map((tag) => tag.trim()).filter((tag) => tag !== ''),
      });
    }
  }
  return rules;
}

function shapeConfig(env: Env) {
  const freescoutApi =
    env.FREESCOUT_API_URL && env.FREESCOUT_API_KEY
      ? {
          baseUrl: env.FREESCOUT_API_URL,
          apiKey: env.FREESCOUT_API_KEY,
          timeoutMs: env.FREESCOUT_API_TIMEOUT_MS,
          ...(env.FREESCOUT_API_USER_ID === undefined ? {} : { userId: env.FREESCOUT_API_USER_ID }),
        }
      : undefined;
  const auditSecrets = secretList(
    env.FREESCOUT_AUDIT_WEBHOOK_SECRET,
    env.FREESCOUT_AUDIT_WEBHOOK_SECRET_PREVIOUS,
  );
  const rbacSecrets = env.FREESCOUT_RBAC_WEBHOOK_SECRET
    ? secretList(env.FREESCOUT_RBAC_WEBHOOK_SECRET, env.FREESCOUT_RBAC_WEBHOOK_SECRET_PREVIOUS)
    : auditSecrets;
  return {
    port: env.PORT,
    host: env.HOST,
    http: { requestTimeoutMs: env.REQUEST_TIMEOUT_SECONDS * 1000 },
    logLevel: env.LOG_LEVEL,
    database: env.DATABASE_URL
      ? ({ kind: 'postgres', url: env.DATABASE_URL } as const)
      : ({ kind: 'pglite', dataDir: env.PGLITE_DATA_DIR ?? DEFAULT_PGLITE_DATA_DIR } as const),
    internalAuth: {
      token: env.INTERNAL_API_TOKEN,
      cfAccess:
        env.CF_ACCESS_TEAM_DOMAIN && env.CF_ACCESS_AUD
          ? { teamDomain: env.CF_ACCESS_TEAM_DOMAIN, audience: env.CF_ACCESS_AUD }
          : undefined,
    },
    slack: {
      apiUrl: env.SLACK_API_URL,
      token: env.SLACK_BOT_TOKEN,
      operatorChannel: env.SLACK_OPERATOR_DM_CHANNEL,
    },
    freescout: {
      api: freescoutApi,
      publicUrl: (env.FREESCOUT_PUBLIC_URL ?? env.FREESCOUT_API_URL)?.replace(/\/+$/, ''),
      /** The agent the service writes notes as; every feature that adds a note needs it. */
      apiUserId: env.FREESCOUT_API_USER_ID,
      /**
       * Where each mailbox keeps a ticket's GitHub issue URL: the field named `github_issue_url`
       * of the ticket's own mailbox, unless `byMailbox` names another; `legacyFieldId` (the old
       * single id) only ever stands for the one mailbox it belongs to.
       */
      issueUrlField: {
        byMailbox: fieldIdsByMailbox(env.FREESCOUT_GITHUB_ISSUE_URL_FIELD_IDS),
        legacyFieldId: env.FREESCOUT_GITHUB_ISSUE_URL_FIELD_ID,
      },
    },
    freescoutWebhooks: {
      auditEnabled: env.FLAG_FREESCOUT_WEBHOOK_RECEIVE,
      auditSecrets,
      rbacEnabled: env.FLAG_FREESCOUT_RBAC_REVOKE,
      rbacSecrets,
      cacheTtlSeconds: env.FREESCOUT_CACHE_TTL_SECONDS,
      pollEnabled: env.FLAG_FREESCOUT_CACHE_POLL,
      pollIntervalSeconds: env.FREESCOUT_CACHE_POLL_INTERVAL_SECONDS,
    },
    postmark: {
      enabled: env.FLAG_POSTMARK_DELIVERY_MONITOR,
      webhookSecrets: secretList(
        env.POSTMARK_DELIVERY_WEBHOOK_SECRET,
        env.POSTMARK_DELIVERY_WEBHOOK_SECRET_PREVIOUS,
      ),
      bounceAlertRate: env.POSTMARK_BOUNCE_ALERT_RATE,
      spamAlertRate: env.POSTMARK_SPAM_ALERT_RATE,
      alertMinVolume: env.POSTMARK_ALERT_MIN_VOLUME,
      bounceAlertTypes: env.POSTMARK_BOUNCE_ALERT_TYPES,
      retentionDays: env.POSTMARK_EVENT_RETENTION_DAYS,
      alertsSourceUrl: env.ALERTS_SOURCE_URL,
    },
    investigate: {
      enabled: env.FLAG_CONSOLE_INVESTIGATE_FROM_STATUS,
      operationsMailboxId: env.FREESCOUT_OPERATIONS_MAILBOX_ID,
      dedupMinutes: env.INVESTIGATE_DEDUP_MINUTES,
    },
    autolink: {
      enabled: env.FLAG_FREESCOUT_GITHUB_AUTOLINK,
      webhookSecrets: secretList(env.FREESCOUT_WEBHOOK_SECRET, env.FREESCOUT_WEBHOOK_SECRET_PREVIOUS),
      triggerTags: env.FREESCOUT_AUTOLINK_TAGS,
      mailboxIds: env.FREESCOUT_AUTOLINK_MAILBOX_IDS,
      keywords: env.FREESCOUT_AUTOLINK_KEYWORDS,
      maxAttempts: env.AUTOLINK_MAX_ATTEMPTS,
      sweepSeconds: env.FREESCOUT_AUTOLINK_SWEEP_SECONDS,
      labelsByTag: autolinkLabels(env.FREESCOUT_AUTOLINK_LABELS),
      closeIssue: env.FREESCOUT_AUTOLINK_CLOSE_ISSUE,
    },
    links: {
      /** The routes serve either direction's links: on while either is. */
      enabled: env.FLAG_FREESCOUT_GITHUB_AUTOLINK || env.FLAG_GITHUB_FREESCOUT_SYNC,
      detailsMaxAgeMs: env.GITHUB_LINK_DETAILS_MAX_AGE_SECONDS * 1000,
    },
    console: { origins: env.CONSOLE_ORIGINS },
    githubSync: {
      enabled: env.FLAG_GITHUB_FREESCOUT_SYNC,
      webhookSecrets: secretList(env.GITHUB_WEBHOOK_SECRET, env.GITHUB_WEBHOOK_SECRET_PREVIOUS),
      labels: syncLabels(env.GITHUB_SYNC_LABELS),
      /** Defaults to the Operations mailbox, where the seed design puts these tickets. */
      mailboxId: env.GITHUB_SYNC_MAILBOX_ID ?? env.FREESCOUT_OPERATIONS_MAILBOX_ID,
      maxAttempts: env.AUTOLINK_MAX_ATTEMPTS,
    },
    github: {
      apiUrl: env.GITHUB_API_URL.replace(/\/+$/, ''),
      repo: env.GITHUB_REPO,
      token: env.GITHUB_ISSUE_BOT_TOKEN,
      timeoutMs: env.GITHUB_API_TIMEOUT_MS,
      app:
        env.GITHUB_APP_ID && env.GITHUB_APP_PRIVATE_KEY && env.GITHUB_APP_INSTALLATION_ID
          ? {
              appId: env.GITHUB_APP_ID,
              privateKey: env.GITHUB_APP_PRIVATE_KEY.replace(/\\n/g, '\n'),
              installationId: env.GITHUB_APP_INSTALLATION_ID,
            }
          : undefined,
    },
    ops: {
      deliveryLogRetentionDays: env.DELIVERY_LOG_RETENTION_DAYS,
    },
    jobs: { web: env.WEB_JOBS, worker: env.WORKER_JOBS },
    /** Every configured secret value, so the logger can scrub them wherever they appear. */
    secretValues: [
      env.INTERNAL_API_TOKEN,
      env.SLACK_BOT_TOKEN,
      env.FREESCOUT_API_KEY,
      env.FREESCOUT_AUDIT_WEBHOOK_SECRET,
      env.FREESCOUT_AUDIT_WEBHOOK_SECRET_PREVIOUS,
      env.FREESCOUT_RBAC_WEBHOOK_SECRET,
      env.FREESCOUT_RBAC_WEBHOOK_SECRET_PREVIOUS,
      env.POSTMARK_DELIVERY_WEBHOOK_SECRET,
      env.POSTMARK_DELIVERY_WEBHOOK_SECRET_PREVIOUS,
      env.FREESCOUT_WEBHOOK_SECRET,
      env.FREESCOUT_WEBHOOK_SECRET_PREVIOUS,
      env.GITHUB_ISSUE_BOT_TOKEN,
      env.GITHUB_APP_PRIVATE_KEY,
      env.GITHUB_WEBHOOK_SECRET,
      env.GITHUB_WEBHOOK_SECRET_PREVIOUS,
      passwordOf(env.DATABASE_URL),
    ].filter((secret): secret is string => secret !== undefined && secret.length >= 4),
  };
}

function passwordOf(databaseUrl: string | undefined): string | undefined {
  if (!databaseUrl) return undefined;
  try {
    return decodeURIComponent(new URL(databaseUrl).password) || undefined;
  } catch {
    return undefined;
  }
}

export type Config = ReturnType<typeof shapeConfig>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export interface LoadOptions {
  /**
   * Started by a production entry point (`npm run start:prod`, the Docker image, the Procfile):
   * the embedded database's files must be placed on purpose, since the default directory sits
   * on the app's own disk, which Heroku and a container without a volume throw away.
   */
  production?: boolean;
}

/** Parses an environment record; tests pass their own, the process passes `processEnv()`. */
export function loadConfig(env: Record<string, string | undefined>, options: LoadOptions = {}): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const variable = issue?.path.join('.') ?? 'environment';
    throw new ConfigError(`invalid configuration: ${variable}: ${issue?.message ?? 'invalid value'}`);
  }
  if (options.production && !parsed.data.DATABASE_URL && !parsed.data.PGLITE_DATA_DIR) {
    throw new ConfigError(
      'invalid configuration: PGLITE_DATA_DIR: unset in production with no DATABASE_URL; set DATABASE_URL, or PGLITE_DATA_DIR to a directory on a disk that persists (the Docker image: a volume at /app/.data)',
    );
  }
  return shapeConfig(parsed.data);
}

/** The process environment with `.env` loaded beneath it (real env wins). The only reader of process.env. */
export function processEnv(): Record<string, string | undefined> {
  dotenv.config({ quiet: true });
  return process.env;
}
