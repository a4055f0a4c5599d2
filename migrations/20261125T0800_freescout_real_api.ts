import { type Kysely, sql } from 'kysely';

/**
 * Working against FreeScout as it really is:
 * - `autolink_delivery.kind` gains `evaluate`: any conversation event (FreeScout sends none
 *   when a tag is added), a sweep hit, or a ticket the service created, each asking "does this
 *   unlinked ticket qualify now?";
 * - `autolink_sweep_cursor`: where the sweep for tagged tickets resumes;
 * - `investigate_ticket.tagged_at`: FreeScout drops tags on create, so `auto:status` is set
 *   afterwards; until it is, a later click retries it;
 * - `freescout_webhook_registration`: the id of each webhook the CLI registered (FreeScout has
 *   no route listing them), so a re-run replaces it instead of adding a second.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table autolink_delivery drop constraint autolink_delivery_kind_check`.execute(db);
  await sql`
    alter table autolink_delivery add constraint autolink_delivery_kind_check
      check (kind in ('created', 'status', 'evaluate'))`.execute(db);
  await sql`
    create table autolink_sweep_cursor (
      name text primary key,
      updated_since timestamptz not null
    )`.execute(db);
  await sql`alter table investigate_ticket add column tagged_at timestamptz`.execute(db);
  await sql`
    create table freescout_webhook_registration (
      feature text primary key,
      webhook_id integer not null,
      url text not null,
      events text not null,
      registered_at timestamptz not null
    )`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table freescout_webhook_registration`.execute(db);
  await sql`alter table investigate_ticket drop column tagged_at`.execute(db);
  await sql`drop table autolink_sweep_cursor`.execute(db);
  await sql`delete from autolink_delivery where kind = 'evaluate'`.execute(db);
  await sql`alter table autolink_delivery drop constraint autolink_delivery_kind_check`.execute(db);
  await sql`
    alter table autolink_delivery add constraint autolink_delivery_kind_check
      check (kind in ('created', 'status'))`.execute(db);
}
