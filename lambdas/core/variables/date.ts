import { readDateTimeIn } from './date-formats.ts';
import type { DateFormat, DatePattern } from './date-formats.ts';

/**
 * A `date` value: text in `format` (or, without one, in the first date format that reads it) as
 * `YYYY-MM-DD`. A time part is dropped as written, without moving the date to another time zone;
 * a UNIX epoch is an instant, so its date is the UTC date. Undefined when the text is not a date.
 */
export function parseDate(text: string, format: DateFormat | undefined): string | undefined {
  const read = readDateTimeIn(text, format);
  if (read === undefined) return undefined;
  if (read.kind === 'wall') return isoDate(read.year, read.month, read.day);
  const date = new Date(read.epochMs);
  return isoDate(date.getUTCFullYear(), date.getUTCMonth() + 1, date.getUTCDate());
}

/** Write a `YYYY-MM-DD` value with an output pattern such as `DD/MM/YYYY`. */
export function formatDate(isoDateValue: string, pattern: DatePattern): string {
  if (pattern === 'YYYY-MM-DD') return isoDateValue;
  const year = isoDateValue.slice(0, 4);
  const month = isoDateValue.slice(5, 7);
  const day = isoDateValue.slice(8, 10);
  const separator = pattern.charAt(pattern.startsWith('YYYY') ? 4 : 2);
  if (pattern.startsWith('YYYY')) return `${year}${separator}${month}${separator}${day}`;
  return pattern.startsWith('MM')
    ? `${month}${separator}${day}${separator}${year}`
    : `${day}${separator}${month}${separator}${year}`;
}

function isoDate(year: number, month: number, day: number): string {
  return `${String(year).padStart(4, '0')}-${month < 10 ? '0' : ''}${month}-${day < 10 ? '0' : ''}${day}`;
}
