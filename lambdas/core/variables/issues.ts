import type { VariableType } from '../connector-schema.ts';

/**
 * The stable codes of the row issues variable resolution reports (SPEC §5). A row with any of them is
 * invalid for its scope and is not loaded; the run goes on.
 */

/** A `required` variable is blank (or its column is missing from the SQL output). */
export const REQUIRED_MISSING = 'REQUIRED_MISSING';

/** A non-blank value that does not parse as its type; a `string` variable takes any value. */
export const INVALID_VALUE_CODES = {
  number: 'INVALID_NUMBER',
  boolean: 'INVALID_BOOLEAN',
  date: 'INVALID_DATE',
  datetime: 'INVALID_DATETIME',
  email: 'INVALID_EMAIL',
  phone: 'INVALID_PHONE',
} as const satisfies Record<Exclude<VariableType, 'string'>, string>;

export const VARIABLE_ERROR_CODES = [REQUIRED_MISSING, ...Object.values(INVALID_VALUE_CODES)] as const;
export type VariableErrorCode = (typeof VARIABLE_ERROR_CODES)[number];

// Long enough to recognise a value in the report, short enough to keep the message on one line.
const MAX_SHOWN_CHARS = 60;

/** A raw value as a message quotes it: `"$abc"`, `42`, `{"a":1}`, shortened when long. */
export function showValue(raw: unknown): string {
  const text = typeof raw === 'string' ? raw : (JSON.stringify(raw) ?? String(raw));
  const shown = text.length > MAX_SHOWN_CHARS ? `${text.slice(0, MAX_SHOWN_CHARS - 1)}…` : text;
  return typeof raw === 'string' ? JSON.stringify(shown) : shown;
}
