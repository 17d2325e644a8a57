import { describe, expect, it } from 'vitest';
import { parseMailbox, parseRecipients } from '../../lambdas/core/mailbox.ts';

describe('parseMailbox', () => {
  it.each([
    ['ops@example.com', { name: '', address: 'ops@example.com' }],
    ['  ops@example.com ', { name: '', address: 'ops@example.com' }],
    ['Ops Team <ops@example.com>', { name: 'Ops Team', address: 'ops@example.com' }],
    ['Zoë <zoe@example.com>', { name: 'Zoë', address: 'zoe@example.com' }],
  ])('%j → %j', (raw, mailbox) => {
    expect(parseMailbox(raw)).toEqual(mailbox);
  });

  it.each([
    ['not-an-address'],
    ['a@b\r\nBcc: evil@example.com'],
    ['Two\r\nLines <a@example.com>'],
    ['a b@example.com'],
    ['<>'],
    ['a@b,c@d'],
  ])('refuses %j with INVALID_ARGUMENT', (raw) => {
    expect(() => parseMailbox(raw)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});

describe('parseRecipients', () => {
  it('needs at least one recipient', () => {
    expect(() => parseRecipients([])).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(parseRecipients(['a@example.com', 'B <b@example.com>']).map((m) => m.address)).toEqual([
      'a@example.com',
      'b@example.com',
    ]);
  });
});
