import type { FreeScoutConversation, NewConversation } from '../../clients/freescout.ts';

export const INVESTIGATE_TAG = 'auto:status';

/** FreeScout needs a customer on every conversation; the console is the one asking. */
const CONSOLE_CUSTOMER = { email: 'status-console@raxx.app', firstName: 'Raxx', lastName: 'Status Console' };

export interface InvestigateRequest {
  surface: string;
  state: string;
  tileUrl?: string;
  detail?: string;
  requestedBy?: string;
}

/**
 * The Operations ticket for one Investigate click. FreeScout drops tags sent with a create:
 * `auto:status` is set afterwards (`addTags`). The workflow UUID is in the subject (which
 * FreeScout returns in conversation lists, so an attempt of unknown outcome can be found again)
 * and in the text, with the back-link to the console tile.
 */
export function investigateTicket(
  request: InvestigateRequest,
  workflowId: string,
  mailboxId: number,
): NewConversation {
  const lines = [
    `Console status: <b>${escapeHtml(request.surface)}</b> is <b>${escapeHtml(request.state)}</b>.`,
    request.tileUrl
      ? `Console tile: <a href="${request.tileUrl}">${request.tileUrl}</a>`
      : 'Console tile: (the console sent no link)',
    ...(request.detail ? [`Detail: ${escapeHtml(request.detail)}`] : []),
    ...(request.requestedBy ? [`Requested by: ${escapeHtml(request.requestedBy)}`] : []),
    `Workflow: ${workflowId}`,
    'Opened by Raptor from the Investigate button of the status console.',
  ];
  return {
    type: 'email',
    mailboxId,
    subject: `Investigate: ${request.surface} is ${request.state} [workflow ${workflowId}]`,
    customer: CONSOLE_CUSTOMER,
    threads: [{ type: 'customer', text: lines.join('<br>\n') }],
    status: 'active',
    imported: false,
  };
}

/** True when the conversation is the ticket of that workflow (its marker is in subject or preview). */
export function carriesWorkflowMarker(conversation: FreeScoutConversation, workflowId: string): boolean {
  const preview = typeof conversation.preview === 'string' ? conversation.preview : '';
  return (conversation.subject ?? '').includes(workflowId) || preview.includes(workflowId);
}

/** Only a URL the browser may open is linked; `new URL().href` percent-encodes quotes and brackets. */
export function normalizedTileUrl(raw: string): string {
  return new URL(raw).href;
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
