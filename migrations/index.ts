import type { Migration } from 'kysely';
import * as serviceBase from './20261124T0600_service_base.ts';
import * as freescoutWebhooks from './20261124T0700_freescout_webhooks.ts';
import * as postmarkEvents from './20261124T0710_postmark_events.ts';
import * as investigate from './20261124T0720_investigate.ts';
import * as autolink from './20261124T0730_autolink.ts';
import * as freescoutRealApi from './20261125T0800_freescout_real_api.ts';
import * as ops from './20261125T0800_ops.ts';
import * as postmarkRollupBounceType from './20261125T1200_postmark_rollup_bounce_type.ts';
import * as githubSync from './20261125T1300_github_sync.ts';
import * as links from './20261125T1400_links.ts';
import * as postmarkEventKeyHash from './20261204T2300_postmark_event_key_hash.ts';

/**
 * Every migration, keyed by its timestamped name. Listed here instead of read from the folder,
 * so the same set runs under tsx, vitest and any bundler without a dynamic `import()`.
 */
export const migrations: Record<string, Migration> = {
  '20261124T0600_service_base': serviceBase,
  '20261124T0700_freescout_webhooks': freescoutWebhooks,
  '20261124T0710_postmark_events': postmarkEvents,
  '20261124T0720_investigate': investigate,
  '20261124T0730_autolink': autolink,
  '20261125T0800_freescout_real_api': freescoutRealApi,
  '20261125T0800_ops': ops,
  '20261125T1200_postmark_rollup_bounce_type': postmarkRollupBounceType,
  '20261125T1300_github_sync': githubSync,
  '20261125T1400_links': links,
  '20261204T2300_postmark_event_key_hash': postmarkEventKeyHash,
};
