import { type Kysely, sql } from 'kysely';

/**
 * Links between tickets and issues: the steps of a link made (or removed) by an operator, so a
 * retried request repeats none of them; the close of an issue after Direction A's resolved
 * comment; and the service's copy of each linked issue's title, state and labels.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    alter table autolink_link
      add column issue_labeled_at timestamptz,
      add column comment_started_at timestamptz,
      add column commented_at timestamptz,
      add column unlink_field_cleared_at timestamptz,
      add column unlink_note_started_at timestamptz,
      add column unlinked_at timestamptz`.execute(db);
  await sql`alter table autolink_close_comment add column issue_closed_at timestamptz`.execute(db);

  await sql`
    create table github_issue_detail (
      issue_number integer primary key,
      title text not null,
      state text not null,
      labels text not null,
      issue_updated_at timestamptz,
      fetched_at timestamptz not null,
      refresh_until timestamptz
    )`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table github_issue_detail`.execute(db);
  await sql`alter table autolink_close_comment drop column issue_closed_at`.execute(db);
  await sql`
    alter table autolink_link
      drop column issue_labeled_at,
      drop column comment_started_at,
      drop column commented_at,
      drop column unlink_field_cleared_at,
      drop column unlink_note_started_at,
      drop column unlinked_at`.execute(db);
}
