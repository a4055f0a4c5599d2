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
  autolink_delivery: AutolinkDeliveryTable;
  autolink_link: AutolinkLinkTable;
  autolink_close_comment: AutolinkCloseCommentTable;
  delivery_log: DeliveryLogTable;
  postmark_event_hourly: PostmarkEventHourlyTable;
  postmark_alert_sent: PostmarkAlertSentTable;
  autolink_sweep_cursor: AutolinkSweepCursorTable;
  freescout_webhook_registration: FreescoutWebhookRegistrationTable;
  github_sync_delivery: GithubSyncDeliveryTable;
  github_sync_issue: GithubSyncIssueTable;
  github_issue_detail: GithubIssueDetailTable;
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
  /** When a poll cycle last finished (the operator page shows the poller's lag from it). */
  last_polled_at: ColumnType<Date | null, Date | string | undefined, Date | string>;
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
  /** When `auto:status` was seen on the ticket (FreeScout drops tags sent with the create). */
  tagged_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
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
  /** Clicks answered with this attempt's ticket instead of a new one (dedup hits). */
  clicks_absorbed: ColumnType<number, number | undefined, number>;
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
  /** Postmark's `ID` of a bounce or spam complaint; bigint, read back as a number, so compare exact IDs through `event_key`. */
  postmark_id: number | string | null;
  /** DeliveredAt / BouncedAt as Postmark reports it. */
  occurred_at: Timestamp | null;
  /** When Raptor stored it: the time windows and retention go by this. */
  recorded_at: Timestamp;
  payload: ColumnType<unknown, string, string>;
}

export interface PostmarkEventRollupTable {
  minute: Timestamp;
  event_type: PostmarkEventType;
  /** A Bounce's `Type` (HardBounce, AutoResponder, ...); '' for other event types. */
  bounce_type: string;
  /** Spreads one minute's counter over a few rows so concurrent webhooks do not queue on one lock. */
  shard: number;
  count: number;
}

/** Per-hour counts compacted from the minute rollups, kept for the 7-day chart. */
export interface PostmarkEventHourlyTable {
  hour: Timestamp;
  event_type: PostmarkEventType;
  count: number;
}

/** Every alert claimed for sending, for the operator page's history. */
export interface PostmarkAlertSentTable {
  id: Generated<number>;
  kind: string;
  alerted_at: Timestamp;
  rate: number;
  threshold: number;
  events: number;
  messages: number;
}

export interface PostmarkAlertStateTable {
  kind: string;
  alerted_at: Timestamp;
  rate: number;
  events: number;
  messages: number;
}

export type AutolinkDeliveryStatus = 'pending' | 'processing' | 'done' | 'failed';
/**
 * `created` and `status`: FreeScout's events of those names; `evaluate`: any other conversation
 * event, a sweep hit or a ticket the service created — each only re-checks the criteria.
 */
export type AutolinkEventKind = 'created' | 'status' | 'evaluate';

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
  /** Who made the link: Direction A, Direction B, or an operator. */
  direction: ColumnType<LinkDirection, LinkDirection | undefined, LinkDirection>;
  /** A manual link's steps on the issue: the `freescout-linked` label, then the comment. */
  issue_labeled_at: Timestamp | null;
  /** Set before `createComment` (not idempotent): a retry lists the issue's comments first. */
  comment_started_at: Timestamp | null;
  commented_at: Timestamp | null;
  /** An unlink's steps: the field cleared, then the note (not idempotent, started first). */
  unlink_field_cleared_at: Timestamp | null;
  unlink_note_started_at: Timestamp | null;
  /**
   * Set when an operator unlinked the ticket: the row stays (issue cleared) so Direction A does
   * not open a new issue for a ticket an operator deliberately took off its issue.
   */
  unlinked_at: Timestamp | null;
}

export type LinkDirection = 'freescout_to_github' | 'github_to_freescout' | 'manual';

/** One verified GitHub delivery (Direction B); ids share Direction A's sequence. */
export interface GithubSyncDeliveryTable {
  id: Generated<number>;
  /** `X-GitHub-Delivery`: a manual redelivery repeats it, for up to 3 days. */
  delivery_guid: string;
  event: string;
  action: string;
  issue_number: number;
  /** `labeled`: the label just added. */
  label: string | null;
  sender_login: string;
  /** The issue as the delivery described it (JSON): title, URL, labels, state. */
  payload: string;
  status: ColumnType<AutolinkDeliveryStatus, AutolinkDeliveryStatus | undefined, AutolinkDeliveryStatus>;
  attempts: ColumnType<number, number | undefined, number>;
  next_attempt_at: Timestamp;
  locked_by: string | null;
  locked_until: Timestamp | null;
  last_error: string | null;
  outcome: string | null;
  /** Set before this delivery's FreeScout note (not idempotent): a retry checks the threads first. */
  note_started_at: Timestamp | null;
  received_at: Timestamp;
  updated_at: Timestamp;
}

/** The one FreeScout ticket of a GitHub issue, claimed before FreeScout is called. */
export interface GithubSyncIssueTable {
  repo: string;
  issue_number: number;
  issue_url: string;
  claim_id: string;
  claimed_at: Timestamp;
  lease_holder: string | null;
  lease_expires_at: Timestamp | null;
  /** Set before the create: from then on a ticket may exist, so recovery looks before creating. */
  create_started_at: Timestamp | null;
  conversation_id: number | null;
  linked_at: Timestamp | null;
  /** Set before the `[freescout-autolink]` comment: a retry lists the comments first. */
  comment_started_at: Timestamp | null;
  comment_id: number | null;
  commented_at: Timestamp | null;
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
  /** `FREESCOUT_AUTOLINK_CLOSE_ISSUE`: the issue closed as completed, after the comment. */
  issue_closed_at: Timestamp | null;
}

/** The service's copy of a linked issue, from GitHub's `issues` events or a read of the issue. */
export interface GithubIssueDetailTable {
  issue_number: number;
  title: string;
  state: string;
  /** JSON array of label names. */
  labels: string;
  /** GitHub's `updated_at`: an older event never overwrites a newer copy. */
  issue_updated_at: Timestamp | null;
  fetched_at: Timestamp;
  /** One refresh per issue across instances: a reader claims it until then. */
  refresh_until: Timestamp | null;
}

export type DeliveryOutcome = 'processed' | 'accepted' | 'ignored' | 'rejected' | 'failed';

/** One inbound webhook and how it was answered; written in batches, pruned after the retention. */
export interface DeliveryLogTable {
  id: Generated<number>;
  received_at: Timestamp;
  /** The route pattern, e.g. `/api/webhooks/freescout/:source`. */
  route: string;
  event: string | null;
  /** The sender's own id of the delivery (`X-GitHub-Delivery`, Postmark's MessageID/ID), when it gives one. */
  delivery_id: string | null;
  status: number;
  duration_ms: number;
  outcome: DeliveryOutcome;
  /** What was done, or why it was ignored or refused. */
  detail: string | null;
}

/** Where the autolink sweep (tickets tagged after they arrived) resumes. */
export interface AutolinkSweepCursorTable {
  name: string;
  updated_since: Timestamp;
}

/** A webhook the CLI registered in FreeScout, by feature: FreeScout cannot list them. */
export interface FreescoutWebhookRegistrationTable {
  feature: string;
  webhook_id: number;
  url: string;
  /** Comma-separated event names. */
  events: string;
  registered_at: Timestamp;
}
