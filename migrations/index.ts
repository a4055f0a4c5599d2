import type { Migration } from 'kysely';
import * as serviceBase from './20261124T0600_service_base.ts';
import * as autolink from './20261124T0730_autolink.ts';

/**
 * Every migration, keyed by its timestamped name. Listed here instead of read from the folder,
 * so the same set runs under tsx, vitest and any bundler without a dynamic `import()`.
 */
export const migrations: Record<string, Migration> = {
  '20261124T0600_service_base': serviceBase,
  '20261124T0730_autolink': autolink,
};
