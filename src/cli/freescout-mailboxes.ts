import type { FreeScoutClient } from '../clients/freescout.ts';
import { type CliOutput, formatTable } from './output.ts';

/**
 * `freescout mailboxes`: every mailbox's id and name. With `--name`, only the id of the one
 * mailbox of that name (case-insensitive), bare, so `$(npm run -s cli -- freescout mailboxes
 * --name Operations)` is the value of FREESCOUT_OPERATIONS_MAILBOX_ID.
 */
export async function listMailboxesCommand(
  freescout: FreeScoutClient,
  options: { name?: string },
  output: CliOutput,
): Promise<number> {
  const mailboxes = await freescout.listMailboxes();
  if (options.name === undefined) {
    const rows = mailboxes.map((mailbox) => [String(mailbox.id), mailbox.name, mailbox.email ?? '']);
    for (const line of formatTable([['ID', 'NAME', 'EMAIL'], ...rows])) output.out(line);
    return 0;
  }
  const wanted = options.name.trim().toLowerCase();
  const matches = mailboxes.filter((mailbox) => mailbox.name.trim().toLowerCase() === wanted);
  if (matches.length === 1 && matches[0]) {
    output.out(String(matches[0].id));
    return 0;
  }
  if (matches.length === 0) {
    const names = mailboxes.map((mailbox) => mailbox.name).join(', ') || 'none';
    output.err(`no FreeScout mailbox is named "${options.name}" (mailboxes: ${names})`);
  } else {
    const ids = matches.map((mailbox) => mailbox.id).join(', ');
    output.err(
      `${matches.length} FreeScout mailboxes are named "${options.name}" (ids ${ids}); rename all but one`,
    );
  }
  return 1;
}
