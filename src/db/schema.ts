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
