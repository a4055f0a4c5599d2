import { z } from 'zod';
import { conversationTagNames, type FreeScoutConversation } from '../../clients/freescout.ts';
import type { Config } from '../../config.ts';
import { formatUtc } from '../../lib/clock.ts';

/** What Direction A reads from a FreeScout ticket and writes into a GitHub issue; pure functions. */

export const LINK_LABEL = 'freescout-linked';
/** Tickets opened by Direction B carry one of these; linking them back would loop. */
const FROM_GITHUB_TAGS = ['_from_github', '_from_github_action'];

export type Verdict =
  | { eligible: true; triggerTags: string[]; keywords: string[] }
  | {
      eligible: false;
      reason: 'deleted' | 'from_github' | 'mailbox_not_enabled' | 'already_linked' | 'no_trigger';
    };

/** Is the ticket's mailbox one autolink serves (`FREESCOUT_AUTOLINK_MAILBOX_IDS`)? */
export function inAutolinkMailbox(
  conversation: Pick<FreeScoutConversation, 'mailboxId'>,
  settings: Config['autolink'],
): boolean {
  return conversation.mailboxId !== undefined && settings.mailboxIds.includes(conversation.mailboxId);
}

/**
 * The contract's criteria, over a ticket read fresh from FreeScout; `linkedUrl` is what its
 * own mailbox's `github_issue_url` field shows.
 */
export function evaluateCriteria(
  conversation: FreeScoutConversation,
  settings: Config['autolink'],
  linkedUrl: string | null,
): Verdict {
  const tags = conversationTagNames(conversation).map((tag) => tag.trim().toLowerCase());
  // FreeScout keeps deleted conversations (state `deleted`, in the trash) readable.
  if (conversation.state === 'deleted') return { eligible: false, reason: 'deleted' };
  if (tags.some((tag) => FROM_GITHUB_TAGS.includes(tag))) return { eligible: false, reason: 'from_github' };
  if (!inAutolinkMailbox(conversation, settings)) return { eligible: false, reason: 'mailbox_not_enabled' };
  if (linkedUrl !== null) return { eligible: false, reason: 'already_linked' };
  const triggerTags = settings.triggerTags.filter((tag) => tags.includes(tag.toLowerCase()));
  const text = searchableText(conversation).toLowerCase();
  const keywords = settings.keywords.filter((keyword) => text.includes(keyword.toLowerCase()));
  if (triggerTags.length === 0 && keywords.length === 0) return { eligible: false, reason: 'no_trigger' };
  return { eligible: true, triggerTags, keywords };
}

const threadsSchema = z.object({
  _embedded: z
    .object({ threads: z.array(z.looseObject({ type: z.string().optional(), body: z.string().nullish() })) })
    .optional(),
});

export function threadBodies(conversation: FreeScoutConversation): Array<{ type?: string; body: string }> {
  const parsed = threadsSchema.safeParse(conversation);
  return (parsed.success ? (parsed.data._embedded?.threads ?? []) : []).map((thread) => ({
    ...(thread.type === undefined ? {} : { type: thread.type }),
    body: thread.body ?? '',
  }));
}

function searchableText(conversation: FreeScoutConversation): string {
  const preview = typeof conversation.preview === 'string' ? conversation.preview : '';
  return [
    conversation.subject ?? '',
    preview,
    ...threadBodies(conversation).map((thread) => thread.body),
  ].join('\n');
}

/** Hidden in the rendered issue; recovery lists the repo's linked issues and matches it. */
export function issueMarker(conversationId: number, claimId: string): string {
  return `<!-- raptor:freescout-ticket:${conversationId} claim:${claimId} -->`;
}

// The subject is the customer's words; an address typed into it must not reach GitHub.
const EMAIL_ADDRESS = /[^\s@<>()[\]"',;:]+@[^\s@<>()[\]"',;:]+\.[a-z]{2,}/gi;

export function redactEmailAddresses(text: string): string {
  return text.replace(EMAIL_ADDRESS, '[email removed]');
}

export interface IssueDraft {
  title: string;
  body: string;
  labels: string[];
}

/** Title, body and labels; no customer name or email address, by construction. */
export function draftIssue(input: {
  conversation: FreeScoutConversation;
  claimId: string;
  triggerTags: string[];
  keywords: string[];
  publicUrl: string;
  mailboxName?: string | undefined;
  /** `FREESCOUT_AUTOLINK_LABELS`: a trigger tag without an entry adds no label. */
  labelsByTag: Map<string, string[]>;
}): IssueDraft {
  const { conversation, claimId, triggerTags, keywords, publicUrl, mailboxName, labelsByTag } = input;
  const number = conversation.number ?? conversation.id;
  const subject = redactEmailAddresses((conversation.subject ?? '').trim()) || '(no subject)';
  const tags = conversationTagNames(conversation);
  const ticketUrl = `${publicUrl}/conversation/${conversation.id}`;
  const lines = [
    `Filed automatically from FreeScout ticket [#${number}](${ticketUrl}).`,
    '',
    `- Ticket: ${ticketUrl}`,
    `- Mailbox: ${mailboxName ? `${mailboxName} (${conversation.mailboxId})` : (conversation.mailboxId ?? 'unknown')}`,
    `- Tags: ${tags.length > 0 ? tags.map((tag) => `\`${tag}\``).join(', ') : 'none'}`,
    ...(keywords.length > 0 ? [`- Matched keywords: ${keywords.join(', ')}`] : []),
    '',
    'The conversation itself stays in FreeScout (customer details are not copied here).',
    '',
    issueMarker(conversation.id, claimId),
  ];
  const labels = [LINK_LABEL, ...triggerTags.flatMap((tag) => labelsByTag.get(tag.toLowerCase()) ?? [])];
  return { title: `[FreeScout #${number}] ${subject}`, body: lines.join('\n'), labels: [...new Set(labels)] };
}

export function notePrefix(issueNumber: number): string {
  return `GitHub issue #${issueNumber} filed:`;
}

export function noteText(issueNumber: number, issueUrl: string): string {
  return `${notePrefix(issueNumber)} ${issueUrl}`;
}

export function resolvedCommentText(closedAt: Date): string {
  return `FreeScout ticket resolved (${formatUtc(closedAt)} UTC)`;
}

/** The issue number of a URL pointing at an issue of `repo` (`owner/name`), else null. */
export function issueNumberInRepo(issueUrl: string, repo: string): number | null {
  let path: string;
  try {
    path = new URL(issueUrl).pathname;
  } catch {
    return null;
  }
  const match = /\/([^/]+)\/([^/]+)\/issues\/(\d+)\/?$/.exec(path);
  if (!match) return null;
  const [, owner = '', name = '', number = ''] = match;
  return `${owner}/${name}`.toLowerCase() === repo.toLowerCase() ? Number(number) : null;
}
