import { type Kysely, sql } from 'kysely';

/**
 * Postmark delivery monitor: one row per Delivery/Bounce/SpamComplaint event, per-minute
 * rollups the 24 h counts and the alert thresholds read (never the raw events), and one
 * alert-state row per alert kind so several instances alert at most once per window.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table postmark_event (
      id bigint generated always as identity primary key,
      event_key text not null,
      event_type text not null check (event_type in ('Delivery', 'Bounce', 'SpamComplaint')),
      message_id text,
      recipient text,
      tag text,
      bounce_type text,
      bounce_description text,
      postmark_id bigint,
      occurred_at timestamptz,
      recorded_at timestamptz not null,
      payload jsonb not null
    )`.execute(db);
  await sql`create unique index postmark_event_key on postmark_event (event_key)`.execute(db);

  await sql`
    create table postmark_event_rollup (
      minute timestamptz not null,
      event_type text not null,
      shard smallint not null,
      count integer not null,
      primary key (minute, event_type, shard)
    )`.execute(db);

  await sql`
    create table postmark_alert_state (
      kind text primary key,
      alerted_at timestamptz not null,
      rate double precision not null,
      events integer not null,
      messages integer not null
    )`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table postmark_alert_state`.execute(db);
  await sql`drop table postmark_event_rollup`.execute(db);
  await sql`drop table postmark_event`.execute(db);
}
