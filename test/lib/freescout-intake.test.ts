import { describe, expect, it } from 'vitest';
import { canonicalEventName, conversationUrl, freescoutStatusName } from '../../src/lib/freescout-intake.ts';

describe('the shared FreeScout intake', () => {
  it('maps the older event aliases to the module’s own names and leaves the rest alone', () => {
    expect(canonicalEventName('conversation.created')).toBe('convo.created');
    expect(canonicalEventName('conversation.status_changed')).toBe('convo.status');
    expect(canonicalEventName('convo.note.created')).toBe('convo.note.created');
  });

  it('reads FreeScout’s numeric status codes as names', () => {
    expect([1, 2, 3, 4].map(freescoutStatusName)).toEqual(['active', 'pending', 'closed', 'spam']);
    expect(freescoutStatusName('closed')).toBe('closed');
    expect(freescoutStatusName(9)).toBe('9');
  });

  it('links a conversation on the agent-facing site', () => {
    expect(conversationUrl('https://help.raxx.test', 42)).toBe('https://help.raxx.test/conversation/42');
  });
});
