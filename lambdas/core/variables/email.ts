import { regexes } from 'zod';

/**
 * zod's own email rule, so an address this module accepts is one the connector and API schemas
 * accept too (one rule, one place).
 */
const EMAIL = regexes.email;

/**
 * An `email` value: the trimmed address with its domain lowercased (domains are case-insensitive; the
 * local part may not be, so it is kept). Undefined when it is not a valid address.
 */
export function parseEmail(raw: string | number | boolean): string | undefined {
  if (typeof raw !== 'string') return undefined;
  const text = raw.trim();
  if (!EMAIL.test(text)) return undefined;
  const at = text.lastIndexOf('@');
  return text.slice(0, at + 1) + text.slice(at + 1).toLowerCase();
}
