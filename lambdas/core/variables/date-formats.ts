/**
 * The date input formats of SPEC §5, in detection order, and the reader that turns text written in one
 * of them into calendar fields. `date` and `datetime` variables share this list and this reader: a date
 * drops the time part, a datetime keeps it.
 */

/** Detection order: the first format that parses every value of a column wins (month-first before day-first). */
export const DATE_FORMATS = [
  'YYYY-MM-DD',
  'MM/DD/YYYY',
  'MM-DD-YYYY',
  'MM.DD.YYYY',
  'DD/MM/YYYY',
  'DD-MM-YYYY',
  'DD.MM.YYYY',
  'YYYY/MM/DD',
  'YYYY.MM.DD',
  'excel_serial',
  'unix_epoch',
] as const;
export type DateFormat = (typeof DATE_FORMATS)[number];

/** The formats written as day, month and year digits, which are also output patterns. */
export type DatePattern = Exclude<DateFormat, 'excel_serial' | 'unix_epoch'>;
export const DATE_PATTERNS = DATE_FORMATS.filter(
  (f): f is DatePattern => f !== 'excel_serial' && f !== 'unix_epoch',
);

/**
 * Text read in a date format: either a wall-clock date and time (with the UTC offset when one was
 * written) or, for UNIX epochs, an instant.
 */
export type ReadDateTime =
  | {
      kind: 'wall';
      year: number;
      month: number;
      day: number;
      hour: number;
      minute: number;
      second: number;
      millisecond: number;
      /** Minutes east of UTC, when the text carries an offset (`Z`, `+02:00`). */
      offsetMinutes: number | undefined;
    }
  | { kind: 'instant'; epochMs: number };

type FieldOrder = 'ymd' | 'mdy' | 'dmy';

// An optional time after the date: `T10:30`, ` 10:30:15.123+02:00`, ` 1:05 PM`, ` 13:45:00 UTC`.
// Groups: hour, minute, second, fraction, AM/PM letter, offset.
const TIME_TAIL =
  '(?:(?:[Tt]|\\s+)(\\d{1,2}):(\\d{2})(?::(\\d{2})(?:[.,](\\d{1,9}))?)?' +
  '(?:\\s*([AaPp])\\.?[Mm]\\.?)?(?:\\s*(Z|z|UTC|GMT|[+-]\\d{2}(?::?\\d{2})?))?)?$';

function patternRegex(order: FieldOrder, separator: string): RegExp {
  const sep = `\\${separator}`;
  const date =
    order === 'ymd' ? `(\\d{4})${sep}(\\d{1,2})${sep}(\\d{1,2})` : `(\\d{1,2})${sep}(\\d{1,2})${sep}(\\d{4})`;
  return new RegExp(`^${date}${TIME_TAIL}`);
}

interface PatternReader {
  order: FieldOrder;
  regex: RegExp;
}

// Compiled once: this runs for every value of every date column.
const PATTERN_READERS: Record<DatePattern, PatternReader> = {
  'YYYY-MM-DD': { order: 'ymd', regex: patternRegex('ymd', '-') },
  'MM/DD/YYYY': { order: 'mdy', regex: patternRegex('mdy', '/') },
  'MM-DD-YYYY': { order: 'mdy', regex: patternRegex('mdy', '-') },
  'MM.DD.YYYY': { order: 'mdy', regex: patternRegex('mdy', '.') },
  'DD/MM/YYYY': { order: 'dmy', regex: patternRegex('dmy', '/') },
  'DD-MM-YYYY': { order: 'dmy', regex: patternRegex('dmy', '-') },
  'DD.MM.YYYY': { order: 'dmy', regex: patternRegex('dmy', '.') },
  'YYYY/MM/DD': { order: 'ymd', regex: patternRegex('ymd', '/') },
  'YYYY.MM.DD': { order: 'ymd', regex: patternRegex('ymd', '.') },
};

const EXCEL_SERIAL = /^\d{1,7}(?:\.\d+)?$/;
const UNIX_EPOCH = /^-?\d+(?:\.\d+)?$/;

/** Excel's 1900 date system: serial 1 is 1900-01-01 and the last valid serial is 9999-12-31. */
export const EXCEL_SERIAL_MAX = 2_958_465;
const DAY_MS = 86_400_000;
// Serials from 61 count from 1899-12-30 because Excel counts the nonexistent 1900-02-29 as serial 60.
const EXCEL_EPOCH_MS = Date.UTC(1899, 11, 30);
const EXCEL_EPOCH_BEFORE_LEAP_BUG_MS = Date.UTC(1899, 11, 31);
/** Epoch values from 1e11 are milliseconds: as seconds they would lie after the year 5000. */
const EPOCH_MS_THRESHOLD = 1e11;

/** The instants of 0001-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z: the years a 4-digit ISO date can hold. */
export const MIN_EPOCH_MS = -62_135_596_800_000;
export const MAX_EPOCH_MS = 253_402_300_799_999;

/**
 * Read `text` (trimmed) written in `format`. Returns undefined when the text is not in that format or
 * names a date or time that does not exist (February 30, 25:00).
 */
export function readDateTime(text: string, format: DateFormat): ReadDateTime | undefined {
  if (format === 'excel_serial') return readExcelSerial(text);
  if (format === 'unix_epoch') return readUnixEpoch(text);
  const reader = PATTERN_READERS[format];
  const m = reader.regex.exec(text);
  if (m === null) return undefined;
  const [a, b, c] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const year = reader.order === 'ymd' ? a : c;
  const month = reader.order === 'ymd' ? b : reader.order === 'mdy' ? a : b;
  const day = reader.order === 'ymd' ? c : reader.order === 'mdy' ? b : a;
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;

  let hour = 0;
  let minute = 0;
  let second = 0;
  let millisecond = 0;
  let offsetMinutes: number | undefined;
  if (m[4] !== undefined) {
    hour = Number(m[4]);
    minute = Number(m[5]);
    second = m[6] === undefined ? 0 : Number(m[6]);
    // Digits past milliseconds are truncated, as Date.parse and luxon do.
    millisecond = m[7] === undefined ? 0 : Number(m[7].slice(0, 3).padEnd(3, '0'));
    const meridiem = m[8];
    if (meridiem !== undefined) {
      if (hour < 1 || hour > 12) return undefined;
      hour = (hour % 12) + (meridiem === 'p' || meridiem === 'P' ? 12 : 0);
    }
    if (hour > 23 || minute > 59 || second > 59) return undefined;
    if (m[9] !== undefined) {
      offsetMinutes = readOffset(m[9]);
      if (offsetMinutes === undefined) return undefined;
    }
  }
  return { kind: 'wall', year, month, day, hour, minute, second, millisecond, offsetMinutes };
}

/** Whether `text` is written in `format`: the test format detection runs on every value. */
export function isInDateFormat(text: string, format: DateFormat): boolean {
  return readDateTime(text, format) !== undefined;
}

/**
 * Read `text` in `format`, or, without a format, in the first format of {@link DATE_FORMATS} that
 * reads it (our rule for columns whose values are not all in one format).
 */
export function readDateTimeIn(text: string, format: DateFormat | undefined): ReadDateTime | undefined {
  if (format !== undefined) return readDateTime(text, format);
  for (const candidate of DATE_FORMATS) {
    const read = readDateTime(text, candidate);
    if (read !== undefined) return read;
  }
  return undefined;
}

export function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/**
 * Milliseconds since the UNIX epoch of a UTC calendar date and time. `Date.UTC` maps the years 0–99
 * to 1900–1999, so those years are set explicitly (`0001-01-01` is a common "no date" sentinel).
 */
export function utcEpochMs(
  year: number,
  month: number,
  day: number,
  hour = 0,
  minute = 0,
  second = 0,
  millisecond = 0,
): number {
  const ms = Date.UTC(year, month - 1, day, hour, minute, second, millisecond);
  if (year >= 100) return ms;
  const date = new Date(ms);
  date.setUTCFullYear(year);
  return date.getTime();
}

const OFFSET = /^([+-])(\d{2}):?(\d{2})?$/;

function readOffset(text: string): number | undefined {
  if (text === 'Z' || text === 'z' || text === 'UTC' || text === 'GMT') return 0;
  const m = OFFSET.exec(text);
  if (m === null) return undefined;
  const hours = Number(m[2]);
  const minutes = m[3] === undefined ? 0 : Number(m[3]);
  if (hours > 23 || minutes > 59) return undefined;
  return (m[1] === '-' ? -1 : 1) * (hours * 60 + minutes);
}

function readExcelSerial(text: string): ReadDateTime | undefined {
  if (!EXCEL_SERIAL.test(text)) return undefined;
  const serial = Number(text);
  const days = Math.floor(serial);
  // Serial 60 is 1900-02-29, a day Excel counts but the calendar never had.
  if (days < 1 || days > EXCEL_SERIAL_MAX || days === 60) return undefined;
  const base = days < 60 ? EXCEL_EPOCH_BEFORE_LEAP_BUG_MS : EXCEL_EPOCH_MS;
  // Rounded to the millisecond: Excel stores times as binary fractions of a day (13:45 is 0.5729166…).
  const ms = base + days * DAY_MS + Math.round((serial - days) * DAY_MS);
  if (ms > MAX_EPOCH_MS) return undefined;
  const date = new Date(ms);
  return {
    kind: 'wall',
    year: date.getUTCFullYear(),
    month: date.getUTCMonth() + 1,
    day: date.getUTCDate(),
    hour: date.getUTCHours(),
    minute: date.getUTCMinutes(),
    second: date.getUTCSeconds(),
    millisecond: date.getUTCMilliseconds(),
    // A serial is a spreadsheet's local time: a datetime reads it in the connector time zone.
    offsetMinutes: undefined,
  };
}

function readUnixEpoch(text: string): ReadDateTime | undefined {
  if (!UNIX_EPOCH.test(text)) return undefined;
  const value = Number(text);
  const epochMs = Math.round(Math.abs(value) >= EPOCH_MS_THRESHOLD ? value : value * 1000);
  if (epochMs < MIN_EPOCH_MS || epochMs > MAX_EPOCH_MS) return undefined;
  return { kind: 'instant', epochMs };
}

// Names a connector may use for a format besides its own: any case (`dd/mm/yyyy`, Java's `dd/MM/yyyy`),
// strftime (`%d/%m/%Y`, exact case, because `%y` is a 2-digit year) and a few common words.
const NAMES_ANY_CASE = new Map<string, DateFormat>([
  ...DATE_FORMATS.map((f): [string, DateFormat] => [f.toLowerCase(), f]),
  ['iso', 'YYYY-MM-DD'],
  ['iso8601', 'YYYY-MM-DD'],
  ['iso 8601', 'YYYY-MM-DD'],
  ['iso_8601', 'YYYY-MM-DD'],
  ['excel_epoch', 'excel_serial'],
  ['excel', 'excel_serial'],
  ['unix', 'unix_epoch'],
  ['epoch', 'unix_epoch'],
  ['unix_timestamp', 'unix_epoch'],
]);
const STRFTIME_NAMES = new Map<string, DateFormat>(
  DATE_PATTERNS.map((f) => [f.replace('YYYY', '%Y').replace('MM', '%m').replace('DD', '%d'), f]),
);
// A time pattern after the date in an inputFormat (`MM/DD/YYYY HH:mm`, `%Y-%m-%dT%H:%M:%S%z`): the time
// part of a value is read in any of its forms, so the pattern only has to be recognised.
const TIME_PATTERN_SUFFIX =
  /(?:'?T'?|\s+)(?:hh?|%-?[hi]):(?:mm|%m)(?::(?:ss|%s))?(?:[.,](?:s{1,9}|f{1,9}|%f))?(?:\s*(?:a{1,2}|tt|%p|am\/pm))?(?:\s*(?:z{1,5}|x{1,3}|%z|[+-]hh:?mm))?$/i;

function formatNamed(name: string): DateFormat | undefined {
  return STRFTIME_NAMES.get(name) ?? NAMES_ANY_CASE.get(name.toLowerCase());
}

/**
 * The date format an `inputFormat` names, or undefined when it names none. A time pattern after the
 * date pattern is accepted (`MM/DD/YYYY HH:mm`), as is `ISO 8601` for `YYYY-MM-DD`.
 */
export function dateInputFormatNamed(inputFormat: string): DateFormat | undefined {
  const name = inputFormat.trim();
  const direct = formatNamed(name);
  if (direct !== undefined) return direct;
  const time = TIME_PATTERN_SUFFIX.exec(name);
  return time === null ? undefined : formatNamed(name.slice(0, time.index));
}

/** The date pattern an `outputFormat` names (`DD/MM/YYYY`, `%d.%m.%Y`), or undefined when it names none. */
export function datePatternNamed(outputFormat: string): DatePattern | undefined {
  const format = formatNamed(outputFormat.trim());
  return format === undefined || format === 'excel_serial' || format === 'unix_epoch' ? undefined : format;
}
