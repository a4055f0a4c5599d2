import type { ColumnType, Generated } from 'kysely';

/**
 * The typed record of every table. Each feature's tables are declared here, next to each
 * other, so the whole data model reads in one place; migrations in `migrations/` create them.
 */
export interface Database {
  job_lease: JobLeaseTable;
  investigate_ticket: InvestigateTicketTable;
  investigate_attempt: InvestigateAttemptTable;
}

/** Timestamps are written as Date and read back as Date on both drivers. */
export type Timestamp = ColumnType<Date, Date | string, Date | string>;
export type { Generated };

export interface JobLeaseTable {
  name: string;
  holder: string;
  expires_at: Timestamp;
}

/** One per console surface: the dedup claim shared by every instance (see features/investigate). */
export interface InvestigateTicketTable {
  surface: string;
  /** `pending` while one request creates the ticket under a lease; `open` once it exists. */
  state: 'pending' | 'open';
  workflow_id: string;
  claimed_at: Timestamp;
  lease_expires_at: Timestamp;
  conversation_id: number | null;
  ticket_url: string | null;
  /** Start of the dedup window. */
  opened_at: Timestamp | null;
}

export type InvestigateAttemptOutcome = 'in_flight' | 'created' | 'failed' | 'unknown' | 'abandoned';

/** Every FreeScout create attempt, kept so an attempt of unknown outcome can be found by its marker. */
export interface InvestigateAttemptTable {
  workflow_id: string;
  surface: string;
  console_state: string;
  requested_by: string | null;
  started_at: Timestamp;
  outcome: InvestigateAttemptOutcome;
  conversation_id: number | null;
  error: string | null;
  finished_at: Timestamp | null;
}
