import { type Kysely, sql } from 'kysely';

/**
 * Rollups per bounce `Type` too: the bounce-rate alert counts only the types that mean a
 * message was not delivered (POSTMARK_BOUNCE_ALERT_TYPES), not out-of-office or
 * subscription notices, and reads that choice at query time. Delivery and SpamComplaint rows
 * carry ''. Rows from before this migration carry '' as well and count as no particular type.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table postmark_event_rollup add column bounce_type text not null default ''`.execute(db);
  await sql`alter table postmark_event_rollup drop constraint postmark_event_rollup_pkey`.execute(db);
  await sql`alter table postmark_event_rollup add primary key (minute, event_type, bounce_type, shard)`.execute(
    db,
  );
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`delete from postmark_event_rollup where bounce_type <> ''`.execute(db);
  await sql`alter table postmark_event_rollup drop constraint postmark_event_rollup_pkey`.execute(db);
  await sql`alter table postmark_event_rollup drop column bounce_type`.execute(db);
  await sql`alter table postmark_event_rollup add primary key (minute, event_type, shard)`.execute(db);
}
