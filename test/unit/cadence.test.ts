import { describe, expect, it } from 'vitest';
import { nextTick, parseCadence, readCadence, type Cadence } from '../../lambdas/core/cadence.ts';
import { connectorDefinitionSchema } from '../../lambdas/core/connector-schema.ts';
import { checkConnector } from '../../lambdas/core/definition-checks.ts';
import { ScError } from '../../lambdas/core/errors.ts';

function cadence(text: string): Cadence {
  const parsed = parseCadence(text);
  if ('problem' in parsed) throw new Error(`${text}: ${parsed.problem}`);
  return parsed.cadence;
}

function problem(text: string): string {
  const parsed = parseCadence(text);
  if ('cadence' in parsed) throw new Error(`${text} was accepted`);
  return parsed.problem;
}

/** The next `count` ticks after `from`, ISO strings. */
function ticks(text: string, from: string, count: number, timezone = 'UTC', anchor?: string): string[] {
  const parsed = cadence(text);
  const out: string[] = [];
  let at: Date | null = new Date(from);
  for (let i = 0; i < count; i++) {
    at = nextTick(parsed, at, { timezone, anchor: new Date(anchor ?? from) });
    if (!at) break;
    out.push(at.toISOString());
  }
  return out;
}

describe('parseCadence: rates', () => {
  it.each([
    ['rate(1 minute)', 'rate(1 minute)', 60_000],
    ['rate(5 minutes)', 'rate(5 minutes)', 300_000],
    ['rate(1 hour)', 'rate(1 hour)', 3_600_000],
    ['rate(12 hours)', 'rate(12 hours)', 43_200_000],
    ['rate(1 day)', 'rate(1 day)', 86_400_000],
    ['rate(7 days)', 'rate(7 days)', 604_800_000],
    ['  rate( 10   Minutes ) ', 'rate(10 minutes)', 600_000],
  ])('%s is %s', (text, expression, intervalMs) => {
    expect(cadence(text)).toMatchObject({ kind: 'rate', expression, intervalMs });
  });

  it.each([
    ['rate(1 minutes)', 'write "rate(1 minute)": EventBridge wants the singular unit for 1 only'],
    ['rate(5 minute)', 'write "rate(5 minutes)": EventBridge wants the singular unit for 1 only'],
    ['rate(0 minutes)', 'a rate needs a whole number of minutes of at least 1, not 0'],
    ['rate(5 weeks)', '"weeks" is not a rate unit; use minute(s), hour(s) or day(s)'],
    ['rate(30 seconds)', '"seconds" is not a rate unit; use minute(s), hour(s) or day(s)'],
    [
      'rate(1.5 hours)',
      '"rate(1.5 hours)" is not a rate; write rate(<number> <unit>), e.g. "rate(5 minutes)"',
    ],
    [
      'rate(-5 minutes)',
      '"rate(-5 minutes)" is not a rate; write rate(<number> <unit>), e.g. "rate(5 minutes)"',
    ],
    ['rate(minutes)', '"rate(minutes)" is not a rate; write rate(<number> <unit>), e.g. "rate(5 minutes)"'],
  ])('refuses %s: %s', (text, message) => {
    expect(problem(text)).toBe(message);
  });
});

describe('parseCadence: EventBridge cron', () => {
  it.each([
    // every day at 06:00
    ['cron(0 6 * * ? *)', 'cron(0 6 * * ? *)', '0 0 6 * * * *'],
    // weekdays: day-of-week 1 is Sunday in EventBridge, 0 in croner
    ['cron(0 9 ? * 2-6 *)', 'cron(0 9 ? * 2-6 *)', '0 0 9 * * 1-5 *'],
    ['cron(0 9 ? * mon-fri *)', 'cron(0 9 ? * MON-FRI *)', '0 0 9 * * MON-FRI *'],
    ['cron(0 9 ? * 1,7 *)', 'cron(0 9 ? * 1,7 *)', '0 0 9 * * 0,6 *'],
    // "start/step" runs to the end of the field
    ['cron(0/15 * * * ? *)', 'cron(0/15 * * * ? *)', '0 0-59/15 * * * * *'],
    ['cron(5/20 8-17 ? * MON-FRI *)', 'cron(5/20 8-17 ? * MON-FRI *)', '0 5-59/20 8-17 * * MON-FRI *'],
    ['cron(*/10 * * * ? *)', 'cron(*/10 * * * ? *)', '0 */10 * * * * *'],
    ['cron(0 0 1/2 * ? *)', 'cron(0 0 1/2 * ? *)', '0 0 0 1-31/2 * * *'],
    // L, W and #
    ['cron(0 12 L * ? *)', 'cron(0 12 L * ? *)', '0 0 12 L * * *'],
    ['cron(0 12 15W * ? *)', 'cron(0 12 15W * ? *)', '0 0 12 15W * * *'],
    ['cron(0 12 ? * 6L *)', 'cron(0 12 ? * 6L *)', '0 0 12 * * 5#L *'],
    ['cron(0 12 ? * FRIL *)', 'cron(0 12 ? * FRIL *)', '0 0 12 * * FRI#L *'],
    ['cron(0 12 ? * L *)', 'cron(0 12 ? * L *)', '0 0 12 * * SAT *'],
    ['cron(0 12 ? * 3#2 *)', 'cron(0 12 ? * 3#2 *)', '0 0 12 * * 2#2 *'],
    ['cron(0 12 ? * MON#1 *)', 'cron(0 12 ? * MON#1 *)', '0 0 12 * * MON#1 *'],
    // months by name, years
    ['cron(0 0 1 JAN,jul ? 2027-2030)', 'cron(0 0 1 JAN,JUL ? 2027-2030)', '0 0 0 1 1,7 * 2027-2030'],
    ['cron(  0   6 * *  ?   * )', 'cron(0 6 * * ? *)', '0 0 6 * * * *'],
  ])('%s is %s (croner %s)', (text, expression, cronerPattern) => {
    expect(cadence(text)).toEqual({ kind: 'cron', expression, cronerPattern });
  });

  it.each([
    [
      'cron(0 6 * * *)',
      '"cron(0 6 * * *)" has 5 fields; EventBridge cron takes six: minutes hours day-of-month month day-of-week year, e.g. "cron(0 6 * * ? *)"',
    ],
    [
      'cron()',
      '"cron()" has 0 fields; EventBridge cron takes six: minutes hours day-of-month month day-of-week year, e.g. "cron(0 6 * * ? *)"',
    ],
    [
      'cron(0 6 * * MON *)',
      '"cron(0 6 * * MON *)": exactly one of day-of-month and day-of-week must be "?" (e.g. "cron(0 6 * * ? *)" every day, "cron(0 6 ? * MON-FRI *)" on weekdays)',
    ],
    [
      'cron(0 6 ? * ? *)',
      '"cron(0 6 ? * ? *)": exactly one of day-of-month and day-of-week must be "?" (e.g. "cron(0 6 * * ? *)" every day, "cron(0 6 ? * MON-FRI *)" on weekdays)',
    ],
    ['cron(60 6 * * ? *)', '"cron(60 6 * * ? *)": minutes 60 is out of range 0-59'],
    ['cron(0 24 * * ? *)', '"cron(0 24 * * ? *)": hours 24 is out of range 0-23'],
    ['cron(0 6 0 * ? *)', '"cron(0 6 0 * ? *)": day-of-month 0 is out of range 1-31'],
    ['cron(0 6 * 13 ? *)', '"cron(0 6 * 13 ? *)": month 13 is out of range 1-12'],
    ['cron(0 6 ? * 0 *)', '"cron(0 6 ? * 0 *)": day-of-week 0 is out of range 1-7'],
    ['cron(0 6 * * ? 1969)', '"cron(0 6 * * ? 1969)": year 1969 is out of range 1970-2199'],
    ['cron(0 6 * FOO ? *)', '"cron(0 6 * FOO ? *)": month "FOO" is not a value; use 1-12 or JAN-DEC'],
    [
      'cron(0 6 ? * MONDAY *)',
      '"cron(0 6 ? * MONDAY *)": day-of-week "MONDAY" is not a value; use 1-7 or SUN-SAT',
    ],
    [
      'cron(0 17-9 * * ? *)',
      '"cron(0 17-9 * * ? *)": hours range "17-9" runs backwards; write the smaller value first',
    ],
    [
      'cron(0 6 ? * 2-6/2 *)',
      '"cron(0 6 ? * 2-6/2 *)": day-of-week takes no "/" steps; list the days instead',
    ],
    [
      'cron(0/0 6 * * ? *)',
      '"cron(0/0 6 * * ? *)": minutes "0/0": the step after "/" is a whole number of at least 1',
    ],
    [
      'cron(0 6 1,L * ? *)',
      '"cron(0 6 1,L * ? *)": day-of-month "1,L": use "L" alone (the last day) or "<day>W" alone (the weekday nearest that day)',
    ],
    [
      'cron(0 6 LW * ? *)',
      '"cron(0 6 LW * ? *)": day-of-month "LW": use "L" alone (the last day) or "<day>W" alone (the weekday nearest that day)',
    ],
    ['cron(0 6 32W * ? *)', '"cron(0 6 32W * ? *)": day-of-month 32 is out of range 1-31'],
    ['cron(0 6 ? * 3#6 *)', '"cron(0 6 ? * 3#6 *)": day-of-week "3#6": the occurrence after "#" is 1 to 5'],
    [
      'cron(0 6 ? * 3#1,6#3 *)',
      '"cron(0 6 ? * 3#1,6#3 *)": day-of-week "3#1,6#3": use "<day>L" alone (the last such day of the month) or "<day>#<n>" alone (the nth such day), e.g. "6L" or "MON#1"',
    ],
    ['cron(0 6 ? * 8L *)', '"cron(0 6 ? * 8L *)": day-of-week 8 is out of range 1-7'],
    ['cron(0 6-- * * ? *)', '"cron(0 6-- * * ? *)": hours "6--" is not a value or a range'],
    ['cron(0 6 * * ? 2027/)', '"cron(0 6 * * ? 2027/)": year "2027/" is not a value, a range or a step'],
  ])('refuses %s', (text, message) => {
    expect(problem(text)).toBe(message);
  });

  it.each(['every 5 minutes', '*/5 * * * *', 'at(2027-01-01T00:00:00)', ''])(
    'refuses %j as no EventBridge schedule, with examples',
    (text) => {
      expect(problem(text)).toBe(
        `"${text}" is not an EventBridge schedule; write "rate(5 minutes)" or "cron(0 6 * * ? *)"`,
      );
    },
  );
});

describe('readCadence', () => {
  it('returns the cadence', () => {
    expect(readCadence('rate(2 hours)')).toMatchObject({ kind: 'rate', intervalMs: 7_200_000 });
  });

  it('throws INVALID_CADENCE naming settings.cadence and the connector', () => {
    let error: unknown;
    try {
      readCadence('rate(2 hour)', 'nightly_sync');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ScError);
    expect(error).toMatchObject({
      code: 'INVALID_CADENCE',
      message: 'settings.cadence: write "rate(2 hours)": EventBridge wants the singular unit for 1 only',
      context: { path: 'settings.cadence', connector: 'nightly_sync' },
    });
  });
});

describe('nextTick', () => {
  it('ticks a rate from its anchor, strictly after the given time', () => {
    const anchor = '2026-03-01T10:00:00.000Z';
    expect(ticks('rate(15 minutes)', anchor, 3)).toEqual([
      '2026-03-01T10:15:00.000Z',
      '2026-03-01T10:30:00.000Z',
      '2026-03-01T10:45:00.000Z',
    ]);
    // Mid-interval, and exactly on a tick: the next one after it.
    expect(ticks('rate(15 minutes)', '2026-03-01T10:20:00.000Z', 1, 'UTC', anchor)).toEqual([
      '2026-03-01T10:30:00.000Z',
    ]);
    expect(ticks('rate(15 minutes)', '2026-03-01T10:30:00.000Z', 1, 'UTC', anchor)).toEqual([
      '2026-03-01T10:45:00.000Z',
    ]);
    // Before the anchor: the first tick is one interval after it.
    expect(ticks('rate(1 day)', '2026-02-01T00:00:00.000Z', 1, 'UTC', anchor)).toEqual([
      '2026-03-02T10:00:00.000Z',
    ]);
  });

  it('refuses a rate without an anchor', () => {
    expect(() => nextTick(cadence('rate(1 hour)'), new Date(), { timezone: 'UTC' })).toThrow(
      'A rate cadence needs the anchor it ticks from.',
    );
  });

  it.each([
    // 2026-01-01 is a Thursday.
    ['cron(0 6 * * ? *)', ['2026-01-01T06:00:00.000Z', '2026-01-02T06:00:00.000Z']],
    [
      'cron(30 9 ? * MON-FRI *)',
      ['2026-01-01T09:30:00.000Z', '2026-01-02T09:30:00.000Z', '2026-01-05T09:30:00.000Z'],
    ],
    ['cron(0 12 L * ? *)', ['2026-01-31T12:00:00.000Z', '2026-02-28T12:00:00.000Z']],
    // 2026-02-15 is a Sunday: the nearest weekday is Monday the 16th; 2026-03-15 too.
    [
      'cron(0 12 15W * ? *)',
      ['2026-01-15T12:00:00.000Z', '2026-02-16T12:00:00.000Z', '2026-03-16T12:00:00.000Z'],
    ],
    ['cron(0 12 ? * 6L *)', ['2026-01-30T12:00:00.000Z', '2026-02-27T12:00:00.000Z']],
    ['cron(0 12 ? * 3#2 *)', ['2026-01-13T12:00:00.000Z', '2026-02-10T12:00:00.000Z']],
    ['cron(0 0 1 1 ? 2028)', ['2028-01-01T00:00:00.000Z']],
    ['cron(0 0 * * ? 2025)', []],
  ])('%s ticks at %j', (text, expected) => {
    expect(ticks(text, '2026-01-01T00:00:00.000Z', expected.length || 1)).toEqual(expected);
  });

  it('reads cron fields in the connector time zone, across daylight-saving changes', () => {
    // 09:00 in New York: 14:00Z in winter, 13:00Z after the change on 2026-03-08.
    expect(ticks('cron(0 9 * * ? *)', '2026-03-06T00:00:00.000Z', 3, 'America/New_York')).toEqual([
      '2026-03-06T14:00:00.000Z',
      '2026-03-07T14:00:00.000Z',
      '2026-03-08T13:00:00.000Z',
    ]);
    // The same cadence in Tokyo (no daylight saving).
    expect(ticks('cron(0 9 * * ? *)', '2026-03-06T00:00:00.000Z', 1, 'Asia/Tokyo')).toEqual([
      '2026-03-07T00:00:00.000Z',
    ]);
  });

  it('refuses an unknown time zone with INVALID_TIMEZONE naming settings.timezone', () => {
    let error: unknown;
    try {
      nextTick(cadence('cron(0 6 * * ? *)'), new Date(), { timezone: 'Mars/Olympus' });
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({
      code: 'INVALID_TIMEZONE',
      message:
        'settings.timezone: unknown time zone "Mars/Olympus"; use an IANA name such as "UTC" or "Europe/Paris".',
      context: { path: 'settings.timezone' },
    });
  });
});

describe('the definition check of settings.cadence', () => {
  function issues(cadenceText: string) {
    const definition = connectorDefinitionSchema.parse({
      name: 'Nightly',
      apiName: 'nightly',
      type: 'scheduler',
      sql: { script: 'SELECT 1' },
      settings: { cadence: cadenceText },
    });
    return checkConnector({ ...definition, apiName: 'nightly', sql: 'SELECT 1' }, new Map());
  }

  it('accepts what EventBridge accepts', () => {
    expect(issues('cron(0 6 ? * MON#1 *)')).toEqual([]);
  });

  it('names settings.cadence and the fix for what EventBridge refuses', () => {
    expect(issues('rate(1 hours)')).toEqual([
      {
        path: 'settings.cadence',
        message: 'write "rate(1 hour)": EventBridge wants the singular unit for 1 only',
      },
    ]);
  });
});
