import { describe, expect, it } from 'vitest';
import {
  conversationTagNames,
  customFieldValue,
  freeScoutConversationSchema,
} from '../../src/clients/freescout.ts';

describe('FreeScout conversation schema', () => {
  it('reads tags from _embedded.tags, as objects or plain strings, and keeps unknown keys', () => {
    const conversation = freeScoutConversationSchema.parse({
      id: 12,
      status: 'active',
      updatedAt: '2026-05-04T12:34:56Z',
      _embedded: { threads: [], tags: [{ id: 3, name: 'bug' }, 'auto:status', { name: 'vip' }] },
      folderId: 9,
    });
    expect(conversationTagNames(conversation)).toEqual(['bug', 'auto:status', 'vip']);
    expect(conversation.folderId).toBe(9);
  });

  it('never reads a top-level tags key: FreeScout does not send one', () => {
    const conversation = freeScoutConversationSchema.parse({
      id: 12,
      status: 'active',
      tags: [{ id: 3, name: 'bug' }],
    });
    expect(conversationTagNames(conversation)).toEqual([]);
  });

  it('rejects a conversation without a positive integer id', () => {
    expect(freeScoutConversationSchema.safeParse({ id: 0, status: 'active' }).success).toBe(false);
    expect(freeScoutConversationSchema.safeParse({ id: '12', status: 'active' }).success).toBe(false);
  });

  it('reads a custom field value, treating empty and missing as null', () => {
    const conversation = freeScoutConversationSchema.parse({
      id: 12,
      status: 'active',
      customFields: [
        { id: 1, name: 'github_issue_url', value: 'https://github.test/o/r/issues/7' },
        { id: 2, name: 'empty', value: '' },
        { id: 3, name: 'unset', value: null },
      ],
    });
    expect(customFieldValue(conversation, 1)).toBe('https://github.test/o/r/issues/7');
    expect(customFieldValue(conversation, 2)).toBeNull();
    expect(customFieldValue(conversation, 3)).toBeNull();
    expect(customFieldValue(conversation, 4)).toBeNull();
  });

  it('treats a conversation without tags or custom fields as having none', () => {
    const conversation = freeScoutConversationSchema.parse({ id: 12, status: 'closed' });
    expect(conversationTagNames(conversation)).toEqual([]);
    expect(customFieldValue(conversation, 1)).toBeNull();
  });
});
