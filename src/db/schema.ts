import type { ColumnType, Generated } from 'kysely';

/**
 * The typed record of every table. Each feature's tables are declared here, next to each
 * other, so the whole data model reads in one place; migrations in `migrations/` create them.
 */
export interface Database {
  job_lease: JobLeaseTable;
  freescout_ticket_cache: FreescoutTicketCacheTable;
  operator_interaction_audit: OperatorInteractionAuditTable;
  security_notification: SecurityNotificationTable;
  rbac_access_grant: RbacAccessGrantTable;
  freescout_poll_cursor: FreescoutPollCursorTable;
  investigate_ticket: InvestigateTicketTable;
  investigate_attempt: InvestigateAttemptTable;
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

export type CachedTicketStatus = 'active' | 'pending' | 'closed' | 'spam' | 'deleted';

export interface FreescoutTicketCacheTable {
  ticket_id: number;
  status: CachedTicketStatus;
  /** When FreeScout says the conversation last changed. */
  updated_at: Timestamp;
  /** After this the row no longer counts (reads fail closed to `none`). */
  ttl_expires: Timestamp;
  /** When we last wrote or confirmed the row. */
  refreshed_at: Timestamp;
  source: 'webhook' | 'poll';
}

export interface OperatorInteractionAuditTable {
  id: Generated<number>;
  operator_id: string;
  ticket_id: number;
  action: string;
  resource: string | null;
  ticket_state_at_read: CachedTicketStatus | 'none';
  path: 'A' | 'B';
  created_at: Timestamp;
}

export interface SecurityNotificationTable {
  id: Generated<number>;
  audit_event_id: number;
  text: string;
  created_at: Timestamp;
  attempts: Generated<number>;
  next_attempt_at: Timestamp;
  delivered_at: Timestamp | null;
  last_error: string | null;
}

export interface RbacAccessGrantTable {
  id: Generated<number>;
  operator_id: string;
  ticket_id: number;
  scope: string;
  granted_at: Timestamp;
  expires_at: Timestamp | null;
  revoked_at: Timestamp | null;
  revoke_reason: string | null;
}

export interface FreescoutPollCursorTable {
  name: string;
  updated_since: Timestamp;
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
