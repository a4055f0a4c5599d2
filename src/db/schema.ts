import type { ColumnType, Generated } from 'kysely';

/**
 * The typed record of every table. Each feature's tables are declared here, next to each
 * other, so the whole data model reads in one place; migrations in `migrations/` create them.
 */
export interface Database {
  job_lease: JobLeaseTable;
}

/** Timestamps are written as Date and read back as Date on both drivers. */
export type Timestamp = ColumnType<Date, Date | string, Date | string>;
export type { Generated };

export interface JobLeaseTable {
  name: string;
  holder: string;
  expires_at: Timestamp;
}
