import type { CountryCode } from 'libphonenumber-js';
import type { VariableType } from '../connector-schema.ts';
import { ScError } from '../errors.ts';
import type { RowIssue, ScalarValue, VariableValue } from '../model.ts';
import { splitArrayText } from './arrays.ts';
import { booleanFormatWords, parseBoolean } from './boolean.ts';
import type { BooleanFormat } from './boolean.ts';
import type { DateFormat } from './date-formats.ts';
import { parseDate } from './date.ts';
import { createTimeZone, parseDatetime } from './datetime.ts';
import type { TimeZone } from './datetime.ts';
import type { ResolveOptions, VariableDeclaration } from './declaration.ts';
import { parseEmail } from './email.ts';
import type { InputFormat } from './formats.ts';
import { INVALID_VALUE_CODES, showValue } from './issues.ts';
import { formatNumber, parseNumber } from './number.ts';
import { parsePhone, phoneCountry } from './phone.ts';

/** What reading a value depends on besides the variable: the connector time zone and phone country. */
export interface CoercionContext {
  zone: TimeZone;
  country: CountryCode;
}

/**
 * The context of the connector settings. Throws when the time zone or country is unknown: every
 * datetime or phone value would fail, so the run stops with one clear message instead.
 */
export function createCoercionContext(options: ResolveOptions): CoercionContext {
  const zone = createTimeZone(options.timezone);
  if (zone === undefined) {
    throw new ScError(
      'INVALID_TIMEZONE',
      `Unknown time zone "${options.timezone}" in settings.timezone; use an IANA name such as "UTC" or "America/New_York".`,
    );
  }
  const country = phoneCountry(options.defaultCountry);
  if (country === undefined) {
    throw new ScError(
      'INVALID_DEFAULT_COUNTRY',
      `Unknown country "${options.defaultCountry}" in settings.defaultCountry; use a two-letter ISO 3166 code such as "US".`,
    );
  }
  return { zone, country };
}

/**
 * Reads one raw value of a variable (a cell of a SQL output row: text, number, boolean, null, or a
 * JSON array or object) into its normalised value. A blank value is null, with no issue: whether it
 * may be blank is the caller's rule (`required`). A value that does not parse is null, and its issue
 * is pushed onto `errors`.
 */
export type ValueReader = (raw: unknown, errors: RowIssue[]) => VariableValue;

type RawScalar = string | number | boolean;
type ScalarParser = (raw: RawScalar) => ScalarValue | undefined;

/**
 * The reader of a variable's values in `format` (undefined: each value in the first format that
 * reads it). Built once per variable and column, then called for every row.
 */
export function createValueReader(
  variable: Pick<VariableDeclaration, 'name' | 'type' | 'array'>,
  format: InputFormat | undefined,
  context: CoercionContext,
): ValueReader {
  const { name, type } = variable;
  const parse = scalarParser(type, format, context);
  const readScalar = (raw: unknown): ScalarValue | null | undefined => {
    if (raw === null || raw === undefined) return null;
    if (typeof raw === 'string') {
      const text = raw.trim();
      return text === '' ? null : parse(text);
    }
    if (typeof raw === 'number' || typeof raw === 'boolean') return parse(raw);
    if (Array.isArray(raw) && raw.length === 0) return null;
    // A JSON array or object in a scalar column: a string keeps it as JSON text; no other type can read it.
    if (type !== 'string') return undefined;
    return typeof raw === 'object' ? JSON.stringify(raw) : String(raw);
  };
  const reject = (raw: unknown, errors: RowIssue[], detail = ''): null => {
    // Only reached for the other types: a string variable reads every value.
    const code = INVALID_VALUE_CODES[type as keyof typeof INVALID_VALUE_CODES];
    const message = `${showValue(raw)} is not ${expectation(type, format, context)} (variable ${name}${detail})`;
    errors.push({ code, message, variable: name });
    return null;
  };

  const delimiter = variable.array?.delimiter;
  if (delimiter === undefined) {
    return (raw, errors) => {
      const value = readScalar(raw);
      return value === undefined ? reject(raw, errors) : value;
    };
  }
  return (raw, errors) => {
    if (raw === null || raw === undefined) return null;
    const items = Array.isArray(raw) ? raw : typeof raw === 'string' ? splitArrayText(raw, delimiter) : [raw];
    const values: ScalarValue[] = [];
    let firstBad = -1;
    let bad = 0;
    for (let i = 0; i < items.length; i++) {
      const value = readScalar(items[i]);
      if (value === undefined) {
        if (bad++ === 0) firstBad = i;
      } else if (value !== null) values.push(value);
    }
    if (bad > 0) {
      const more = bad > 1 ? `; ${bad - 1} more invalid item${bad > 2 ? 's' : ''}` : '';
      return reject(items[firstBad], errors, `, item ${firstBad + 1}${more}`);
    }
    return values.length === 0 ? null : values;
  };
}

function scalarParser(
  type: VariableType,
  format: InputFormat | undefined,
  context: CoercionContext,
): ScalarParser {
  switch (type) {
    case 'string':
      return (raw) => (typeof raw === 'number' ? formatNumber(raw) : String(raw));
    case 'number':
      return parseNumber;
    case 'boolean':
      return (raw) => parseBoolean(raw, format as BooleanFormat | undefined);
    case 'date':
      return (raw) =>
        typeof raw === 'boolean' ? undefined : parseDate(textOf(raw), format as DateFormat | undefined);
    case 'datetime':
      return (raw) =>
        typeof raw === 'boolean'
          ? undefined
          : parseDatetime(textOf(raw), format as DateFormat | undefined, context.zone);
    case 'email':
      return parseEmail;
    case 'phone':
      return (raw) => parsePhone(raw, context.country);
  }
}

function textOf(raw: string | number): string {
  return typeof raw === 'number' ? String(raw) : raw;
}

/** What a value should have been, for the message: `"$abc" is not a number`. */
function expectation(type: VariableType, format: InputFormat | undefined, context: CoercionContext): string {
  switch (type) {
    case 'string':
      return 'text';
    case 'number':
      return 'a number';
    case 'boolean':
      return format === undefined
        ? 'a boolean (true/false, yes/no, on/off, 1/0, t/f or checked/unchecked)'
        : `${booleanFormatWords(format as BooleanFormat)} (inputFormat ${format})`;
    case 'date':
    case 'datetime':
      return `a valid ${type}${format === undefined ? '' : ` in the format ${format}`}`;
    case 'email':
      return 'a valid email address';
    case 'phone':
      return `a valid phone number (numbers without a country code are read as ${context.country})`;
  }
}
