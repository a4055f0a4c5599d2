import { type Kysely, sql } from 'kysely';

/**
 * GitHub autolink (Direction A): the durable inbox of verified FreeScout deliveries, the
 * per-ticket link claimed before GitHub is called, and the per-close comment record.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table autolink_delivery (
      id bigserial primary key,
      dedup_key text not null unique,
      source text not null,
      event text not null,
      kind text not null check (kind in ('created', 'status')),
      conversation_id integer not null,
      reported_status text,
      close_key text,
      status text not null default 'pending'
        check (status in ('pending', 'processing', 'done', 'failed')),
      attempts integer not null default 0,
      next_attempt_at timestamptz not null,
      locked_by text,
      locked_until timestamptz,
      last_error text,
      outcome text,
      received_at timestamptz not null,
      updated_at timestamptz not null
    )`.execute(db);
  await sql`
    create index autolink_delivery_due on autolink_delivery (next_attempt_at)
      where status in ('pending', 'processing')`.execute(db);
  await sql`create index autolink_delivery_status on autolink_delivery (status, id)`.execute(db);

  await sql`
    create table autolink_link (
      conversation_id integer primary key,
      claim_id uuid not null,
      claimed_at timestamptz not null,
      lease_holder text,
      lease_expires_at timestamptz,
      create_started_at timestamptz,
      issue_number integer,
      issue_url text,
      linked_at timestamptz,
      field_written_at timestamptz,
      note_started_at timestamptz,
      note_added_at timestamptz
    )`.execute(db);

  await sql`
    create table autolink_close_comment (
      conversation_id integer not null,
      close_key text not null,
      issue_number integer not null,
      comment_body text not null,
      lease_holder text,
      lease_expires_at timestamptz,
      started_at timestamptz,
      comment_id bigint,
      posted_at timestamptz,
      created_at timestamptz not null,
      primary key (conversation_id, close_key)
    )`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table autolink_close_comment`.execute(db);
  await sql`drop table autolink_link`.execute(db);
  await sql`drop table autolink_delivery`.execute(db);
}
