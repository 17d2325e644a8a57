import { createHash } from 'node:crypto';

/**
 * A UUID derived from `parts` (SHA-256 of them joined by NUL), shaped as a version-8 (custom) UUID: the
 * same parts always name the same execution, so a repeated event (an S3 notification, a schedule tick, a
 * webhook window) registers nothing new.
 */
export function derivedUuid(parts: readonly string[]): string {
  const hex = createHash('sha256').update(parts.join('\u0000')).digest('hex');
  const variant = ((parseInt(hex[16]!, 16) & 3) | 8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
