import type { ColumnType, Generated } from 'kysely';

/**
 * The typed record of every table. Each feature's tables are declared here, next to each
 * other, so the whole data model reads in one place; migrations in `migrations/` create them.
 */
export interface Database {
  job_lease: JobLeaseTable;
  autolink_delivery: AutolinkDeliveryTable;
  autolink_link: AutolinkLinkTable;
  autolink_close_comment: AutolinkCloseCommentTable;
}

/** Timestamps are written as Date and read back as Date on both drivers. */
export type Timestamp = ColumnType<Date, Date | string, Date | string>;
export type { Generated };

export interface JobLeaseTable {
  name: string;
  holder: string;
  expires_at: Timestamp;
}

export type AutolinkDeliveryStatus = 'pending' | 'processing' | 'done' | 'failed';
export type AutolinkEventKind = 'created' | 'status';

/** One verified FreeScout delivery; the worker claims due rows with `for update skip locked`. */
export interface AutolinkDeliveryTable {
  id: Generated<number>;
  /** sha256 of the event name and the raw body: FreeScout's retries repeat both byte for byte. */
  dedup_key: string;
  /** Which route received it: `ops` or `support`. */
  source: string;
  event: string;
  kind: AutolinkEventKind;
  conversation_id: number;
  /** The status the delivery reported (status events); the fresh ticket decides everything else. */
  reported_status: string | null;
  /** Status events: identifies the close (its closedAt), so each close comments once. */
  close_key: string | null;
  status: ColumnType<AutolinkDeliveryStatus, AutolinkDeliveryStatus | undefined, AutolinkDeliveryStatus>;
  attempts: ColumnType<number, number | undefined, number>;
  next_attempt_at: Timestamp;
  locked_by: string | null;
  locked_until: Timestamp | null;
  last_error: string | null;
  outcome: string | null;
  received_at: Timestamp;
  updated_at: Timestamp;
}

/** The one GitHub issue of a FreeScout ticket, claimed before GitHub is called. */
export interface AutolinkLinkTable {
  conversation_id: number;
  /** Carried in the issue body's marker, so recovery can find the issue this claim opened. */
  claim_id: string;
  claimed_at: Timestamp;
  lease_holder: string | null;
  lease_expires_at: Timestamp | null;
  /** Set before `createIssue`: from then on an issue may exist, so recovery looks before creating. */
  create_started_at: Timestamp | null;
  issue_number: number | null;
  issue_url: string | null;
  linked_at: Timestamp | null;
  field_written_at: Timestamp | null;
  /** Set before `addNote` (not idempotent): a retry checks the ticket's threads first. */
  note_started_at: Timestamp | null;
  note_added_at: Timestamp | null;
}

/** One "FreeScout ticket resolved" comment per close of a linked ticket. */
export interface AutolinkCloseCommentTable {
  conversation_id: number;
  close_key: string;
  issue_number: number;
  /** Exactly the text posted; recovery finds an earlier attempt's comment by it. */
  comment_body: string;
  lease_holder: string | null;
  lease_expires_at: Timestamp | null;
  started_at: Timestamp | null;
  comment_id: number | null;
  posted_at: Timestamp | null;
  created_at: Timestamp;
}
