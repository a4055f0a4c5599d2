import { type Kysely, sql } from 'kysely';

/** Ticket cache, operator-interaction audit with its Slack outbox, RBAC grants, poll cursor. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table freescout_ticket_cache (
      ticket_id bigint primary key,
      status text not null check (status in ('active', 'pending', 'closed', 'spam', 'deleted')),
      updated_at timestamptz not null,
      ttl_expires timestamptz not null,
      refreshed_at timestamptz not null,
      source text not null check (source in ('webhook', 'poll'))
    )`.execute(db);
  await sql`create index freescout_ticket_cache_ttl_expires_idx on freescout_ticket_cache (ttl_expires)`.execute(
    db,
  );

  await sql`
    create table operator_interaction_audit (
      id bigserial primary key,
      operator_id text not null,
      ticket_id bigint not null,
      action text not null,
      resource text,
      ticket_state_at_read text not null,
      path text not null check (path in ('A', 'B')),
      created_at timestamptz not null
    )`.execute(db);

  await sql`
    create table security_notification (
      id bigserial primary key,
      audit_event_id bigint not null unique references operator_interaction_audit (id),
      text text not null,
      created_at timestamptz not null,
      attempts integer not null default 0,
      next_attempt_at timestamptz not null,
      delivered_at timestamptz,
      last_error text
    )`.execute(db);
  await sql`
    create index security_notification_pending_idx on security_notification (next_attempt_at)
      where delivered_at is null`.execute(db);

  await sql`
    create table rbac_access_grant (
      id bigserial primary key,
      operator_id text not null,
      ticket_id bigint not null,
      scope text not null,
      granted_at timestamptz not null,
      expires_at timestamptz,
      revoked_at timestamptz,
      revoke_reason text
    )`.execute(db);
  await sql`create index rbac_access_grant_active_ticket_idx on rbac_access_grant (ticket_id) where revoked_at is null`.execute(
    db,
  );
  await sql`create index rbac_access_grant_operator_idx on rbac_access_grant (operator_id, granted_at)`.execute(
    db,
  );

  await sql`
    create table freescout_poll_cursor (
      name text primary key,
      updated_since timestamptz not null
    )`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of [
    'freescout_poll_cursor',
    'rbac_access_grant',
    'security_notification',
    'operator_interaction_audit',
    'freescout_ticket_cache',
  ]) {
    await sql`drop table ${sql.table(table)}`.execute(db);
  }
}
