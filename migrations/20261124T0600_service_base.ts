import { type Kysely, sql } from 'kysely';

/** A lease table any background job can use to run on one instance at a time. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table job_lease (
      name text primary key,
      holder text not null,
      expires_at timestamptz not null
    )`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table job_lease`.execute(db);
}
