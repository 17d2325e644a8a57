import { ScError } from './errors.ts';

/** Anything that could break out of a header or address: whitespace, brackets, separators. */
const ADDRESS = /^[^\s<>,;"()[\]\\@]+@[^\s<>,;"()[\]\\@]+$/;

export interface Mailbox {
  /** The display name (never with a line break: such input is refused); empty when there is none. */
  name: string;
  address: string;
}

/**
 * Reads `address` or `Display Name <address>`, the one rule every mailer applies, so no recipient or
 * sender can smuggle a header in. Throws `INVALID_ARGUMENT` for anything else.
 */
export function parseMailbox(raw: string): Mailbox {
  const named = /^\s*(.*?)\s*<([^<>]*)>\s*$/.exec(raw);
  const address = (named?.[2] ?? raw).trim();
  if (!ADDRESS.test(address)) {
    throw new ScError('INVALID_ARGUMENT', `"${raw}" is not an email address; write "name@example.com".`);
  }
  return { name: named?.[1] ?? '', address };
}

/** The recipients of one email: at least one, each a valid mailbox. */
export function parseRecipients(to: readonly string[]): Mailbox[] {
  if (to.length === 0) throw new ScError('INVALID_ARGUMENT', 'An email needs at least one recipient.');
  return to.map(parseMailbox);
}
