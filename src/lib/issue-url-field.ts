import {
  customFieldValue,
  type FreeScoutClient,
  type FreeScoutConversation,
  type FreeScoutCustomField,
} from '../clients/freescout.ts';
import type { Config } from '../config.ts';

/**
 * Where a ticket keeps its GitHub issue URL. In FreeScout a custom field belongs to one
 * mailbox: `github_issue_url` in Support and in Operations are two fields with two ids, and a
 * value written to another mailbox's field is stored (204) and never shown — not by the API,
 * the webhooks or the UI. So the field is always the ticket's own mailbox's, found by name in
 * that mailbox's list (`GET /api/mailboxes/{id}/custom_fields`, kept by the client and listed
 * again on a miss), unless `FREESCOUT_GITHUB_ISSUE_URL_FIELD_IDS` names it for that mailbox.
 */

export const ISSUE_URL_FIELD_NAME = 'github_issue_url';

export type IssueUrlFieldSettings = Config['freescout']['issueUrlField'];

type FoundField = { found: true; id: number; name: string; source: 'override' | 'legacy' | 'name' };

export type IssueUrlField = FoundField | { found: false; problem: string };

function pick(
  fields: FreeScoutCustomField[],
  settings: IssueUrlFieldSettings,
  mailboxId: number,
): FoundField | undefined {
  const override = settings.byMailbox.get(mailboxId);
  if (override !== undefined) {
    const field = fields.find((candidate) => candidate.id === override);
    return field ? { found: true, id: field.id, name: field.name, source: 'override' } : undefined;
  }
  // The old single id is honoured only where it is that mailbox's own field.
  const legacy = fields.find((candidate) => candidate.id === settings.legacyFieldId);
  if (legacy) return { found: true, id: legacy.id, name: legacy.name, source: 'legacy' };
  const named = fields.find((candidate) => candidate.name.trim() === ISSUE_URL_FIELD_NAME);
  return named ? { found: true, id: named.id, name: named.name, source: 'name' } : undefined;
}

function missing(fields: FreeScoutCustomField[], settings: IssueUrlFieldSettings, mailboxId: number) {
  const override = settings.byMailbox.get(mailboxId);
  const listed = fields.length > 0 ? fields.map((field) => `${field.id} "${field.name}"`).join(', ') : 'none';
  return override === undefined
    ? `mailbox ${mailboxId} has no custom field named ${ISSUE_URL_FIELD_NAME} (its fields: ${listed})`
    : `FREESCOUT_GITHUB_ISSUE_URL_FIELD_IDS names field ${override} for mailbox ${mailboxId}, which is not one of its custom fields (${listed})`;
}

/**
 * The issue URL field of `mailboxId`. A miss lists the mailbox's fields again before it is
 * reported (a field just created); so does a kept id that a freshly read `ticket` of that
 * mailbox does not show (a field deleted and made again): a write there would be invisible.
 */
export async function issueUrlFieldOf(
  freescout: FreeScoutClient,
  settings: IssueUrlFieldSettings,
  mailboxId: number,
  ticket?: Pick<FreeScoutConversation, 'customFields' | 'mailboxId'>,
): Promise<IssueUrlField> {
  const kept = pick(await freescout.listMailboxCustomFields(mailboxId), settings, mailboxId);
  const shownByTicket =
    kept === undefined ||
    ticket === undefined ||
    ticket.mailboxId !== mailboxId ||
    (ticket.customFields ?? []).some((field) => field.id === kept.id);
  if (kept && shownByTicket) return kept;
  const fields = await freescout.listMailboxCustomFields(mailboxId, { refresh: true });
  return pick(fields, settings, mailboxId) ?? { found: false, problem: missing(fields, settings, mailboxId) };
}

/** The URL a ticket shows in its own mailbox's issue URL field, or null when empty. */
export function issueUrlShown(
  ticket: Pick<FreeScoutConversation, 'customFields'>,
  field: IssueUrlField,
): string | null {
  return field.found ? customFieldValue(ticket, field.id) : null;
}
