import { type Kysely, sql } from 'kysely';

/**
 * `investigate_ticket`: one row per console surface, the claim that makes concurrent clicks
 * (on any instance) share one FreeScout ticket. `investigate_attempt`: every create attempt
 * with its workflow UUID, so an attempt whose outcome is unknown can be found again by its
 * marker before a new ticket is opened.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table investigate_ticket (
      surface text primary key,
      state text not null check (state in ('pending', 'open')),
      workflow_id uuid not null,
      claimed_at timestamptz not null,
      lease_expires_at timestamptz not null,
      conversation_id integer,
      ticket_url text,
      opened_at timestamptz,
      check (state = 'pending' or (conversation_id is not null and ticket_url is not null and opened_at is not null))
    )`.execute(db);
  await sql`
    create table investigate_attempt (
      workflow_id uuid primary key,
      surface text not null,
      console_state text not null,
      requested_by text,
      started_at timestamptz not null,
      outcome text not null check (outcome in ('in_flight', 'created', 'failed', 'unknown', 'abandoned')),
      conversation_id integer,
      error text,
      finished_at timestamptz
    )`.execute(db);
  await sql`create index investigate_attempt_surface_started on investigate_attempt (surface, started_at)`.execute(
    db,
  );
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table investigate_attempt`.execute(db);
  await sql`drop table investigate_ticket`.execute(db);
}
