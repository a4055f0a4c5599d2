import { z } from 'zod';
import type { NewConversation } from '../../clients/freescout.ts';
import type { SyncLabelEffect } from '../../config.ts';

/** What Direction B reads from a GitHub `issues` delivery and writes into FreeScout; pure functions. */

/** Direction A labels the issues it opens with this; Direction B never opens a ticket for them. */
export const LINK_LABEL = 'freescout-linked';
/** Every ticket Direction B opens carries it; Direction A skips such tickets. */
export const FROM_GITHUB_TAG = '_from_github';
/** The sentinel that starts the comment linking an issue to its ticket (the seed's loop lock). */
export const COMMENT_PREFIX = '[freescout-autolink]';

/** FreeScout needs a customer on every conversation; GitHub is the one asking. */
const GITHUB_CUSTOMER = { email: 'github-sync@raxx.app', firstName: 'GitHub', lastName: 'Issues' };

const labelSchema = z.object({ name: z.string() });

/** Only what Direction B uses; GitHub sends much more, and unknown keys are dropped unread. */
export const issuesEventSchema = z.object({
  action: z.string(),
  issue: z.object({
    number: z.number().int().positive().max(2_147_483_647),
    title: z.string(),
    html_url: z.string(),
    state: z.string().optional(),
    labels: z.array(labelSchema).nullish(),
    updated_at: z.string().nullish(),
  }),
  label: labelSchema.nullish(),
  repository: z.object({ full_name: z.string() }),
  sender: z.object({ login: z.string(), type: z.string().optional() }),
});

export type IssuesEvent = z.infer<typeof issuesEventSchema>;

/** The issue as a delivery described it, kept with the delivery for the worker. */
export const issueSnapshotSchema = z.object({
  title: z.string(),
  url: z.string(),
  labels: z.array(z.string()),
  senderType: z.string().nullable(),
});

export type IssueSnapshot = z.infer<typeof issueSnapshotSchema>;

export function issueSnapshot(event: IssuesEvent): IssueSnapshot {
  return {
    title: event.issue.title,
    url: event.issue.html_url,
    labels: (event.issue.labels ?? []).map((label) => label.name),
    senderType: event.sender.type ?? null,
  };
}

export function labelEffect(
  labels: Map<string, SyncLabelEffect>,
  label: string,
): SyncLabelEffect | undefined {
  return labels.get(label.trim().toLowerCase());
}

export function carriesLinkLabel(snapshot: IssueSnapshot): boolean {
  return snapshot.labels.some((label) => label.trim().toLowerCase() === LINK_LABEL);
}

export function isLinkComment(body: string): boolean {
  return body.trimStart().startsWith(COMMENT_PREFIX);
}

export function linkCommentText(publicUrl: string, conversationId: number): string {
  return `${COMMENT_PREFIX} FreeScout ticket: ${publicUrl}/conversation/${conversationId}`;
}

/** The ticket's tags: the loop-lock tag first, then the label's, without repeats. */
export function ticketTags(effectTags: string[]): string[] {
  return [...new Set([FROM_GITHUB_TAG, ...effectTags])];
}

/**
 * The ticket of one issue. The issue URL in `github_issue_url` (set on create, which FreeScout
 * honours for custom fields) is both Direction A's loop lock and recovery's marker: conversation
 * lists carry custom fields, so a create of unknown outcome can be found again.
 */
export function draftTicket(input: {
  snapshot: IssueSnapshot;
  issueNumber: number;
  repo: string;
  mailboxId: number;
  fieldId: number;
  label: string;
}): NewConversation {
  const { snapshot, issueNumber, repo, mailboxId, fieldId, label } = input;
  const url = escapeHtml(snapshot.url);
  const lines = [
    `GitHub issue <a href="${url}">${escapeHtml(repo)}#${issueNumber}</a> was labelled <b>${escapeHtml(label)}</b>.`,
    `Issue: ${url}`,
    'Opened by Raptor from GitHub; engineering work stays in the issue.',
  ];
  return {
    type: 'email',
    mailboxId,
    subject: snapshot.title.trim().slice(0, 255) || `GitHub issue #${issueNumber}`,
    customer: GITHUB_CUSTOMER,
    threads: [{ type: 'customer', text: lines.join('<br>\n') }],
    status: 'active',
    imported: false,
    customFields: [{ id: fieldId, value: snapshot.url }],
  };
}

export function confirmNoteText(issueNumber: number, url: string, login: string): string {
  return `GitHub issue #${issueNumber} needs customer confirmation (labelled by ${login}): please ask the customer to confirm. ${url}`;
}

export function stateNoteText(issueNumber: number, action: 'closed' | 'reopened', login: string): string {
  return `GitHub issue #${issueNumber} ${action} by ${login}`;
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
