import { sql } from 'kysely';
import type { Db } from '../db/database.ts';

/**
 * The service's copy of a linked issue's title, state and labels (`github_issue_detail`),
 * written by GitHub's `issues` events (Direction B's webhook) and by the links feature's
 * refresh on read. Shared here because both features write it; neither imports the other.
 */
export interface IssueDetails {
  issueNumber: number;
  title: string;
  state: string;
  labels: string[];
  /** GitHub's `updated_at`, when known: a copy never goes back to an older one. */
  updatedAt: string | null;
}

/**
 * Stores the copy when the issue is linked to a ticket (either direction or by hand) and the
 * copy is not newer than this one; events for issues nobody linked are not kept.
 */
export async function recordIssueDetails(db: Db, details: IssueDetails, now: Date): Promise<void> {
  const updatedAt = validTime(details.updatedAt);
  const title = storable(details.title);
  const labels = JSON.stringify(details.labels.map(storable));
  await sql`
    insert into github_issue_detail (issue_number, title, state, labels, issue_updated_at, fetched_at)
    select ${details.issueNumber}, ${title}, ${storable(details.state)}, ${labels},
      ${updatedAt}, ${now}
    where exists (select 1 from autolink_link where issue_number = ${details.issueNumber})
    on conflict (issue_number) do update set
      title = excluded.title, state = excluded.state, labels = excluded.labels,
      issue_updated_at = excluded.issue_updated_at, fetched_at = excluded.fetched_at
    where github_issue_detail.issue_updated_at is null
      or excluded.issue_updated_at is null
      or excluded.issue_updated_at >= github_issue_detail.issue_updated_at`.execute(db);
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Postgres text holds no NUL and no lone surrogate; GitHub's strings may carry either. */
function storable(text: string): string {
  return text.replaceAll('\u0000', '').replace(LONE_SURROGATE, '\uFFFD');
}

function validTime(value: string | null): Date | null {
  if (value === null) return null;
  const time = Date.parse(value);
  return Number.isNaN(time) ? null : new Date(time);
}
