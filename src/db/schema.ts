import type { ColumnType, Generated } from 'kysely';

/**
 * The typed record of every table. Each feature's tables are declared here, next to each
 * other, so the whole data model reads in one place; migrations in `migrations/` create them.
 */
export interface Database {
  job_lease: JobLeaseTable;
  postmark_event: PostmarkEventTable;
  postmark_event_rollup: PostmarkEventRollupTable;
  postmark_alert_state: PostmarkAlertStateTable;
}

/** Timestamps are written as Date and read back as Date on both drivers. */
export type Timestamp = ColumnType<Date, Date | string, Date | string>;
export type { Generated };

export interface JobLeaseTable {
  name: string;
  holder: string;
  expires_at: Timestamp;
}

export type PostmarkEventType = 'Delivery' | 'Bounce' | 'SpamComplaint';

export interface PostmarkEventTable {
  id: Generated<number>;
  /** Delivery: MessageID + Recipient + DeliveredAt; Bounce/SpamComplaint: Postmark's ID. */
  event_key: string;
  event_type: PostmarkEventType;
  message_id: string | null;
  recipient: string | null;
  tag: string | null;
  bounce_type: string | null;
  bounce_description: string | null;
  /** Postmark's `ID` of a bounce or spam complaint. */
  postmark_id: number | null;
  /** DeliveredAt / BouncedAt as Postmark reports it. */
  occurred_at: Timestamp | null;
  /** When Raptor stored it: the time windows and retention go by this. */
  recorded_at: Timestamp;
  payload: ColumnType<unknown, string, string>;
}

export interface PostmarkEventRollupTable {
  minute: Timestamp;
  event_type: PostmarkEventType;
  /** Spreads one minute's counter over a few rows so concurrent webhooks do not queue on one lock. */
  shard: number;
  count: number;
}

export interface PostmarkAlertStateTable {
  kind: string;
  alerted_at: Timestamp;
  rate: number;
  events: number;
  messages: number;
}
