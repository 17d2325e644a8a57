import { IANAZone } from 'luxon';
import { MAX_EPOCH_MS, MIN_EPOCH_MS, readDateTimeIn, utcEpochMs } from './date-formats.ts';
import type { DateFormat, ReadDateTime } from './date-formats.ts';

type WallTime = Extract<ReadDateTime, { kind: 'wall' }>;

/** The connector time zone (SPEC §3 `timezone`): where a datetime written without an offset happened. */
export interface TimeZone {
  readonly name: string;
  /**
   * The instant of a wall-clock time in this zone. A time skipped by a daylight-saving change (02:30
   * when clocks jump from 02:00 to 03:00) moves forward by the jump; a time that happens twice (01:30
   * when clocks fall back) is its first occurrence.
   */
  epochMsOf(wall: WallTime): number;
}

const DAY_MS = 86_400_000;
const MINUTE_MS = 60_000;
// Bounds the offset cache of one zone; a column spanning 30 years needs about 11,000 days.
const MAX_CACHED_DAYS = 50_000;
const UTC_NAMES = new Set(['UTC', 'ETC/UTC', 'GMT', 'ETC/GMT', 'Z', 'ZULU', 'UNIVERSAL']);

const UTC_ZONE: TimeZone = {
  name: 'UTC',
  epochMsOf: (w) => utcEpochMs(w.year, w.month, w.day, w.hour, w.minute, w.second, w.millisecond),
};

// One per zone name for the life of the process: building a zone asks `Intl`, and its offset cache
// is worth keeping from one scope (or execution) to the next.
const zones = new Map<string, TimeZone | undefined>();

/**
 * The time zone of an IANA name (`America/New_York`), or undefined when there is no such zone.
 * Offsets are looked up once per UTC day and cached, because asking `Intl` (which luxon does) costs
 * about 15 µs, too much for every value of a 200,000-row column.
 */
export function createTimeZone(name: string): TimeZone | undefined {
  if (!zones.has(name)) zones.set(name, buildTimeZone(name));
  return zones.get(name);
}

function buildTimeZone(name: string): TimeZone | undefined {
  if (UTC_NAMES.has(name.trim().toUpperCase())) return UTC_ZONE;
  if (!IANAZone.isValidZone(name)) return undefined;
  const zone = IANAZone.create(name);
  // Per UTC day: the offset in minutes, or NaN when it changes during that day.
  const dayOffsets = new Map<number, number>();

  const offsetAt = (epochMs: number): number => {
    const day = Math.floor(epochMs / DAY_MS);
    let offset = dayOffsets.get(day);
    if (offset === undefined) {
      const start = zone.offset(day * DAY_MS);
      offset = start === zone.offset(day * DAY_MS + DAY_MS - 1) ? start : Number.NaN;
      if (dayOffsets.size >= MAX_CACHED_DAYS) dayOffsets.clear();
      dayOffsets.set(day, offset);
    }
    return Number.isNaN(offset) ? zone.offset(epochMs) : offset;
  };

  return {
    name,
    epochMsOf(w) {
      const asUtc = utcEpochMs(w.year, w.month, w.day, w.hour, w.minute, w.second, w.millisecond);
      // Offset changes are months apart, so the offsets a day either side bracket any change near this time.
      const before = offsetAt(asUtc - DAY_MS);
      const after = offsetAt(asUtc + DAY_MS);
      const early = asUtc - before * MINUTE_MS;
      if (before === after) return early;
      const late = asUtc - after * MINUTE_MS;
      const earlyHolds = offsetAt(early) === before;
      const lateHolds = offsetAt(late) === after;
      if (earlyHolds && lateHolds) return Math.min(early, late);
      if (lateHolds) return late;
      // Either only the old offset holds, or neither does (a skipped time): read it with the old offset,
      // which lands after the jump.
      return early;
    },
  };
}

/**
 * A `datetime` value: text in `format` (or, without one, in the first date format that reads it) as
 * ISO 8601 UTC with milliseconds (`2024-05-01T13:45:00.000Z`). A written offset wins; without one the
 * time is read in `zone`; a bare date is midnight. Undefined when the text is not a datetime.
 */
export function parseDatetime(
  text: string,
  format: DateFormat | undefined,
  zone: TimeZone,
): string | undefined {
  const read = readDateTimeIn(text, format);
  if (read === undefined) return undefined;
  let epochMs: number;
  if (read.kind === 'instant') epochMs = read.epochMs;
  else if (read.offsetMinutes === undefined) epochMs = zone.epochMsOf(read);
  else {
    const asUtc = utcEpochMs(
      read.year,
      read.month,
      read.day,
      read.hour,
      read.minute,
      read.second,
      read.millisecond,
    );
    epochMs = asUtc - read.offsetMinutes * MINUTE_MS;
  }
  // Outside these years ISO 8601 needs a 6-digit signed year, which no field or report column expects.
  if (epochMs < MIN_EPOCH_MS || epochMs > MAX_EPOCH_MS) return undefined;
  return new Date(epochMs).toISOString();
}
