/**
 * When a create whose outcome is unknown (it timed out, or failed without an answer) has
 * settled upstream: the client's timeout — the create may run that long on the other side
 * before the caller gives up — plus as much again as a margin for an upstream finishing a
 * request whose caller already left. Only a search made after this moment and finding nothing
 * allows a new create; before it, nothing found proves nothing.
 */
export function createSettlesAt(startedAt: Date, timeoutMs: number): Date {
  return new Date(startedAt.getTime() + 2 * timeoutMs);
}
