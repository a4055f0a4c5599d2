import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.ts';

const labelsOf = (value: string | undefined) =>
  Object.fromEntries(loadConfig({ GITHUB_SYNC_LABELS: value }).githubSync.labels);

describe('GITHUB_SYNC_LABELS', () => {
  it('defaults to the contract table', () => {
    expect(labelsOf(undefined)).toEqual({
      'customer-reported': { kind: 'ticket', tags: [] },
      regression: { kind: 'ticket', tags: ['bug', 'regression'] },
      'needs-customer-confirm': { kind: 'confirm' },
    });
  });

  it('reads label=effect pairs, with extra tags after ticket:', () => {
    expect(labelsOf(' Support = ticket:support+vip , ask=confirm,sev1=regression')).toEqual({
      support: { kind: 'ticket', tags: ['support', 'vip'] },
      ask: { kind: 'confirm' },
      sev1: { kind: 'ticket', tags: ['bug', 'regression'] },
    });
  });

  it.each(['customer-reported', 'a=open', 'a=ticket,', '=confirm'])('refuses %j at start', (value) => {
    expect(() => loadConfig({ GITHUB_SYNC_LABELS: value })).toThrow(ConfigError);
  });

  it('defaults the mailbox to the Operations mailbox', () => {
    expect(loadConfig({ FREESCOUT_OPERATIONS_MAILBOX_ID: '2' }).githubSync.mailboxId).toBe(2);
    expect(
      loadConfig({ FREESCOUT_OPERATIONS_MAILBOX_ID: '2', GITHUB_SYNC_MAILBOX_ID: '5' }).githubSync.mailboxId,
    ).toBe(5);
  });
});
