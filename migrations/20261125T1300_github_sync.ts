import { type Kysely, sql } from 'kysely';

/**
 * GitHub → FreeScout sync (Direction B): the durable inbox of verified GitHub deliveries, the
 * per-issue claim held while its ticket is opened, and the direction of each recorded link.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  // Ids come from Direction A's sequence: one id space, so the operator routes address either inbox.
  await sql`
    create table github_sync_delivery (
      id bigint primary key default nextval('autolink_delivery_id_seq'),
      delivery_guid text not null unique,
      event text not null,
      action text not null,
      issue_number integer not null,
      label text,
      sender_login text not null,
      payload text not null,
      status text not null default 'pending'
        check (status in ('pending', 'processing', 'done', 'failed')),
      attempts integer not null default 0,
      next_attempt_at timestamptz not null,
      locked_by text,
      locked_until timestamptz,
      last_error text,
      outcome text,
      note_started_at timestamptz,
      received_at timestamptz not null,
      updated_at timestamptz not null
    )`.execute(db);
  await sql`
    create index github_sync_delivery_due on github_sync_delivery (next_attempt_at)
      where status in ('pending', 'processing')`.execute(db);
  await sql`create index github_sync_delivery_status on github_sync_delivery (status, id)`.execute(db);
  await sql`create index github_sync_delivery_issue on github_sync_delivery (issue_number)`.execute(db);

  await sql`
    create table github_sync_issue (
      repo text not null,
      issue_number integer not null,
      issue_url text not null,
      claim_id uuid not null,
      claimed_at timestamptz not null,
      lease_holder text,
      lease_expires_at timestamptz,
      create_started_at timestamptz,
      conversation_id integer,
      linked_at timestamptz,
      comment_started_at timestamptz,
      comment_id bigint,
      commented_at timestamptz,
      primary key (repo, issue_number)
    )`.execute(db);

  await sql`
    alter table autolink_link add column direction text not null default 'freescout_to_github'
      check (direction in ('freescout_to_github', 'github_to_freescout', 'manual'))`.execute(db);
  await sql`create index autolink_link_issue on autolink_link (issue_number)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop index autolink_link_issue`.execute(db);
  await sql`alter table autolink_link drop column direction`.execute(db);
  await sql`drop table github_sync_issue`.execute(db);
  await sql`drop table github_sync_delivery`.execute(db);
}
