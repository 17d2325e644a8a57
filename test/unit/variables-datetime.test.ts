import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import { createTimeZone, formatVariableValue, parseDatetime } from '../../lambdas/core/variables/index.ts';
import type { DateFormat, TimeZone } from '../../lambdas/core/variables/index.ts';

function zone(name: string): TimeZone {
  const tz = createTimeZone(name);
  if (tz === undefined) throw new Error(`no zone ${name}`);
  return tz;
}
const UTC = zone('UTC');
const NEW_YORK = zone('America/New_York');

describe('parseDatetime in UTC', () => {
  it.each([
    ['2024-05-01T13:45', '2024-05-01T13:45:00.000Z'],
    ['2024-05-01T13:45:30', '2024-05-01T13:45:30.000Z'],
    ['2024-05-01 13:45:00', '2024-05-01T13:45:00.000Z'],
    ['2024-05-01T13:45:00Z', '2024-05-01T13:45:00.000Z'],
    ['2024-05-01T13:45:00.5Z', '2024-05-01T13:45:00.500Z'],
    ['2024-05-01T13:45:00.123456Z', '2024-05-01T13:45:00.123Z'],
    ['2024-05-01T13:45:00+02:00', '2024-05-01T11:45:00.000Z'],
    ['2024-05-01T13:45:00-0530', '2024-05-01T19:15:00.000Z'],
    ['2024-05-01T13:45+02', '2024-05-01T11:45:00.000Z'],
    ['2024-05-01 13:45:00 UTC', '2024-05-01T13:45:00.000Z'],
    ['2024-05-01T00:30:00+02:00', '2024-04-30T22:30:00.000Z'],
    ['2024-05-01', '2024-05-01T00:00:00.000Z'],
    ['2024-5-1 9:05', '2024-05-01T09:05:00.000Z'],
    ['05/01/2024 13:45', '2024-05-01T13:45:00.000Z'],
    ['05/01/2024 13:45:15', '2024-05-01T13:45:15.000Z'],
    ['05/01/2024 1:45 PM', '2024-05-01T13:45:00.000Z'],
    ['05/01/2024 1:45pm', '2024-05-01T13:45:00.000Z'],
    ['05/01/2024 12:00 AM', '2024-05-01T00:00:00.000Z'],
    ['05/01/2024 12:30 PM', '2024-05-01T12:30:00.000Z'],
    ['05/01/2024 11:59:59 p.m.', '2024-05-01T23:59:59.000Z'],
    ['05-01-2024 13:45', '2024-05-01T13:45:00.000Z'],
    ['05.01.2024 13:45', '2024-05-01T13:45:00.000Z'],
    ['13/05/2024 13:45', '2024-05-13T13:45:00.000Z'],
    ['13-05-2024 13:45', '2024-05-13T13:45:00.000Z'],
    ['13.05.2024 13:45', '2024-05-13T13:45:00.000Z'],
    ['2024/05/01 13:45', '2024-05-01T13:45:00.000Z'],
    ['2024.05.01 13:45', '2024-05-01T13:45:00.000Z'],
    ['05/01/2024', '2024-05-01T00:00:00.000Z'],
    ['1714571100', '2024-05-01T13:45:00.000Z'],
    ['1714571100123', '2024-05-01T13:45:00.123Z'],
    ['45413.5729166667', '2024-05-01T13:45:00.000Z'],
    ['45413.5', '2024-05-01T12:00:00.000Z'],
  ])('reads %j as %s', (text, expected) => {
    expect(parseDatetime(text, undefined, UTC)).toBe(expected);
  });

  it.each([
    ['2024-05-01T24:00'],
    ['2024-05-01T13:60'],
    ['2024-05-01T13:45:60'],
    ['2024-02-30T10:00'],
    ['05/01/2024 13:45 PM'],
    ['05/01/2024 0:30 AM'],
    ['2024-05-01T13:45+25:00'],
    ['2024-05-01T13'],
    ['13:45'],
    ['not a date'],
    ['9999-12-31T23:00:00-05:00'], // after 9999 in UTC
  ])('rejects %j', (text) => {
    expect(parseDatetime(text, undefined, UTC)).toBeUndefined();
  });

  it.each<[DateFormat, string, string | undefined]>([
    ['DD/MM/YYYY', '01/05/2024 13:45', '2024-05-01T13:45:00.000Z'],
    ['MM/DD/YYYY', '01/05/2024 13:45', '2024-01-05T13:45:00.000Z'],
    ['MM/DD/YYYY', '13/05/2024 13:45', undefined],
    ['YYYY-MM-DD', '05/01/2024 13:45', undefined],
    ['unix_epoch', '1714571100', '2024-05-01T13:45:00.000Z'],
    ['excel_serial', '1714571100', undefined],
  ])('%s reads %j as %s', (format, text, expected) => {
    expect(parseDatetime(text, format, UTC)).toBe(expected);
  });
});

describe('parseDatetime in the connector time zone', () => {
  it.each([
    ['2024-05-01T13:45', '2024-05-01T17:45:00.000Z'], // EDT, UTC-4
    ['2024-01-15 13:45', '2024-01-15T18:45:00.000Z'], // EST, UTC-5
    ['2024-05-01', '2024-05-01T04:00:00.000Z'], // midnight in New York
    ['05/01/2024 9:15 PM', '2024-05-02T01:15:00.000Z'],
    ['45413.5', '2024-05-01T16:00:00.000Z'], // a spreadsheet serial is local time
    ['2024-05-01T13:45:00Z', '2024-05-01T13:45:00.000Z'], // a written offset wins
    ['2024-05-01T13:45:00+02:00', '2024-05-01T11:45:00.000Z'],
    ['1714571100', '2024-05-01T13:45:00.000Z'], // an epoch is an instant
    ['2024-03-10 01:59', '2024-03-10T06:59:00.000Z'],
    ['2024-03-10 03:00', '2024-03-10T07:00:00.000Z'],
    ['2024-03-10 02:30', '2024-03-10T07:30:00.000Z'], // skipped by the spring change: moves forward to 03:30 EDT
    ['2024-11-03 00:59', '2024-11-03T04:59:00.000Z'],
    ['2024-11-03 01:30', '2024-11-03T05:30:00.000Z'], // happens twice: the first (EDT) occurrence
    ['2024-11-03 02:00', '2024-11-03T07:00:00.000Z'],
  ])('reads %j in America/New_York as %s', (text, expected) => {
    expect(parseDatetime(text, undefined, NEW_YORK)).toBe(expected);
  });

  it.each([
    ['Europe/Berlin', '2024-05-01 13:45', '2024-05-01T11:45:00.000Z'],
    ['Asia/Kolkata', '2024-05-01 13:45', '2024-05-01T08:15:00.000Z'],
    ['Australia/Lord_Howe', '2024-01-15 12:00', '2024-01-15T01:00:00.000Z'],
    ['Etc/UTC', '2024-05-01 13:45', '2024-05-01T13:45:00.000Z'],
  ])('reads in %s: %j as %s', (name, text, expected) => {
    expect(parseDatetime(text, undefined, zone(name))).toBe(expected);
  });

  it.each([
    ['America/New_York'],
    ['Europe/Berlin'],
    ['Australia/Sydney'],
    ['Australia/Lord_Howe'],
    ['Asia/Kolkata'],
  ])('agrees with luxon in %s on every day of two years', (name) => {
    const tz = zone(name);
    for (let day = 0; day < 731; day++) {
      const date = new Date(Date.UTC(2023, 0, 1 + day));
      const [year, month, dayOfMonth] = [date.getUTCFullYear(), date.getUTCMonth() + 1, date.getUTCDate()];
      for (const hour of [0, 12, 23]) {
        const expected = DateTime.fromObject({ year, month, day: dayOfMonth, hour }, { zone: name })
          .toUTC()
          .toISO();
        const text = `${date.toISOString().slice(0, 10)} ${hour}:00`;
        expect(parseDatetime(text, undefined, tz)).toBe(expected);
      }
    }
  });

  it('knows no made-up zone', () => {
    expect(createTimeZone('Mars/Olympus_Mons')).toBeUndefined();
  });
});

describe('formatting datetimes', () => {
  it('writes the ISO 8601 UTC value', () => {
    expect(formatVariableValue('2024-05-01T13:45:00.000Z', { type: 'datetime' })).toBe(
      '2024-05-01T13:45:00.000Z',
    );
  });
});
