import { type Kysely, sql } from 'kysely';

/**
 * The operator page and delivery log: one row per inbound webhook (`delivery_log`), the poll's
 * last run, the clicks an Investigate ticket absorbed, hourly Postmark rollups kept for the
 * 7-day chart (the per-minute ones live 25 hours), the history of alerts sent, and an index
 * that finds the latest bounces without walking millions of deliveries.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table delivery_log (
      id bigint generated always as identity primary key,
      received_at timestamptz not null,
      route text not null,
      event text,
      delivery_id text,
      status smallint not null,
      duration_ms real not null,
      outcome text not null check (outcome in ('processed', 'accepted', 'ignored', 'rejected', 'failed')),
      detail text
    )`.execute(db);
  await sql`create index delivery_log_route_idx on delivery_log (route, id)`.execute(db);
  await sql`create index delivery_log_problem_idx on delivery_log (received_at) where status >= 400`.execute(
    db,
  );

  await sql`alter table freescout_poll_cursor add column last_polled_at timestamptz`.execute(db);
  await sql`alter table investigate_attempt add column clicks_absorbed integer not null default 0`.execute(
    db,
  );
  await sql`create index investigate_attempt_created on investigate_attempt (finished_at) where outcome = 'created'`.execute(
    db,
  );

  await sql`
    create table postmark_event_hourly (
      hour timestamptz not null,
      event_type text not null,
      count integer not null,
      primary key (hour, event_type)
    )`.execute(db);
  await sql`
    create table postmark_alert_sent (
      id bigint generated always as identity primary key,
      kind text not null,
      alerted_at timestamptz not null,
      rate double precision not null,
      threshold double precision not null,
      events integer not null,
      messages integer not null
    )`.execute(db);
  await sql`create index postmark_event_problem_idx on postmark_event (id) where event_type <> 'Delivery'`.execute(
    db,
  );
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop index postmark_event_problem_idx`.execute(db);
  await sql`drop table postmark_alert_sent`.execute(db);
  await sql`drop table postmark_event_hourly`.execute(db);
  await sql`drop index investigate_attempt_created`.execute(db);
  await sql`alter table investigate_attempt drop column clicks_absorbed`.execute(db);
  await sql`alter table freescout_poll_cursor drop column last_polled_at`.execute(db);
  await sql`drop table delivery_log`.execute(db);
}
