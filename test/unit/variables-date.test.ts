import { describe, expect, it } from 'vitest';
import {
  DATE_FORMATS,
  formatDate,
  formatVariableValue,
  inputFormatNamed,
  outputFormatNamed,
  parseDate,
} from '../../lambdas/core/variables/index.ts';
import type { DateFormat } from '../../lambdas/core/variables/index.ts';

describe('DATE_FORMATS', () => {
  it('is the SPEC list, in detection order', () => {
    expect(DATE_FORMATS).toEqual([
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
    ]);
  });
});

describe('parseDate in a given format', () => {
  it.each<[DateFormat, string, string]>([
    ['YYYY-MM-DD', '2024-05-01', '2024-05-01'],
    ['YYYY-MM-DD', '2024-5-1', '2024-05-01'],
    ['MM/DD/YYYY', '05/01/2024', '2024-05-01'],
    ['MM/DD/YYYY', '1/5/2024', '2024-01-05'],
    ['MM-DD-YYYY', '05-01-2024', '2024-05-01'],
    ['MM.DD.YYYY', '05.01.2024', '2024-05-01'],
    ['DD/MM/YYYY', '01/05/2024', '2024-05-01'],
    ['DD/MM/YYYY', '1/5/2024', '2024-05-01'],
    ['DD-MM-YYYY', '01-05-2024', '2024-05-01'],
    ['DD.MM.YYYY', '01.05.2024', '2024-05-01'],
    ['YYYY/MM/DD', '2024/05/01', '2024-05-01'],
    ['YYYY.MM.DD', '2024.05.01', '2024-05-01'],
    ['excel_serial', '45413', '2024-05-01'],
    ['excel_serial', '45413.75', '2024-05-01'],
    ['excel_serial', '1', '1900-01-01'],
    ['excel_serial', '59', '1900-02-28'],
    ['excel_serial', '61', '1900-03-01'],
    ['excel_serial', '2958465', '9999-12-31'],
    ['unix_epoch', '1714521600', '2024-05-01'],
    ['unix_epoch', '1714607999', '2024-05-01'],
    ['unix_epoch', '1714521600000', '2024-05-01'],
    ['unix_epoch', '1714521600.5', '2024-05-01'],
    ['unix_epoch', '0', '1970-01-01'],
    ['unix_epoch', '-86400', '1969-12-31'],
  ])('%s reads %j as %s', (format, text, expected) => {
    expect(parseDate(text, format)).toBe(expected);
  });

  it.each<[DateFormat, string]>([
    ['YYYY-MM-DD', '05/01/2024'],
    ['YYYY-MM-DD', '2024/05/01'],
    ['MM/DD/YYYY', '13/01/2024'],
    ['MM/DD/YYYY', '2024-05-01'],
    ['MM/DD/YYYY', '05-01-2024'],
    ['DD/MM/YYYY', '01/13/2024'],
    ['DD.MM.YYYY', '01/05/2024'],
    ['YYYY.MM.DD', '2024-05-01'],
    ['excel_serial', '0'],
    ['excel_serial', '60'], // 1900-02-29, which Excel counts but never existed
    ['excel_serial', '2958466'],
    ['excel_serial', '-5'],
    ['excel_serial', '2024-05-01'],
    ['unix_epoch', '2024-05-01'],
    ['unix_epoch', '99999999999999999'],
  ])('%s rejects %j', (format, text) => {
    expect(parseDate(text, format)).toBeUndefined();
  });
});

describe('parseDate without a format (the first format that reads the value)', () => {
  it.each([
    ['2024-05-01', '2024-05-01'],
    ['05/01/2024', '2024-05-01'], // month-first before day-first
    ['13/01/2024', '2024-01-13'], // only day-first fits
    ['1/5/2024', '2024-01-05'],
    ['05-01-2024', '2024-05-01'],
    ['25.12.2024', '2024-12-25'],
    ['2024/05/01', '2024-05-01'],
    ['2024.05.01', '2024-05-01'],
    ['45413', '2024-05-01'],
    ['1714521600', '2024-05-01'],
    ['2024-02-29', '2024-02-29'],
    ['2000-02-29', '2000-02-29'],
    ['0001-01-01', '0001-01-01'],
    ['9999-12-31', '9999-12-31'],
  ])('reads %j as %s', (text, expected) => {
    expect(parseDate(text, undefined)).toBe(expected);
  });

  it.each([
    ['2024-05-01 10:30', '2024-05-01'],
    ['2024-05-01T10:30:00Z', '2024-05-01'],
    ['2024-05-01 10:30:15.123+02:00', '2024-05-01'],
    ['2024-05-01T23:30:00-05:00', '2024-05-01'], // dropped as written, not moved to UTC
    ['05/01/2024 10:30', '2024-05-01'],
    ['05/01/2024 1:30 PM', '2024-05-01'],
    ['01.05.2024 10:30:15', '2024-01-05'],
    ['2024-05-01T10:30:00.123456789Z', '2024-05-01'],
  ])('drops the time part of %j', (text, expected) => {
    expect(parseDate(text, undefined)).toBe(expected);
  });

  it.each([
    ['2024-02-30'],
    ['2023-02-29'],
    ['1900-02-29'],
    ['2024-04-31'],
    ['2024-13-01'],
    ['2024-00-10'],
    ['2024-05-00'],
    ['0000-01-01'],
    ['02/30/2024'],
    ['31/04/2024'],
    ['13/13/2024'],
    ['24-05-01'],
    ['2024-05-01 garbage'],
    ['2024-05-01 25:00'],
    ['2024-05-01 10:60'],
    ['May 1, 2024'],
    ['yesterday'],
    ['2024-05'],
  ])('rejects %j', (text) => {
    expect(parseDate(text, undefined)).toBeUndefined();
  });
});

describe('date format names', () => {
  it.each<[string, DateFormat | undefined]>([
    ['YYYY-MM-DD', 'YYYY-MM-DD'],
    ['DD/MM/YYYY', 'DD/MM/YYYY'],
    ['dd/mm/yyyy', 'DD/MM/YYYY'],
    ['dd/MM/yyyy', 'DD/MM/YYYY'],
    ['%Y-%m-%d', 'YYYY-MM-DD'],
    ['%m/%d/%Y', 'MM/DD/YYYY'],
    ['%m-%d-%Y', 'MM-DD-YYYY'],
    ['%m.%d.%Y', 'MM.DD.YYYY'],
    ['%d/%m/%Y', 'DD/MM/YYYY'],
    ['%d-%m-%Y', 'DD-MM-YYYY'],
    ['%d.%m.%Y', 'DD.MM.YYYY'],
    ['%Y/%m/%d', 'YYYY/MM/DD'],
    ['%Y.%m.%d', 'YYYY.MM.DD'],
    ['excel_serial', 'excel_serial'],
    ['excel_epoch', 'excel_serial'],
    ['unix_epoch', 'unix_epoch'],
    ['ISO 8601', 'YYYY-MM-DD'],
    ['MM/DD/YYYY HH:mm', 'MM/DD/YYYY'],
    ['MM/DD/YYYY hh:mm A', 'MM/DD/YYYY'],
    ['%Y-%m-%d %H:%M:%S', 'YYYY-MM-DD'],
    ["yyyy-MM-dd'T'HH:mm:ssXXX", 'YYYY-MM-DD'],
    ['%d/%m/%y', undefined], // a 2-digit year is not supported
    ['DD/MM/YY', undefined],
    ['yes_no', undefined],
  ])('inputFormat %j names %s', (name, format) => {
    expect(inputFormatNamed('date', name)).toBe(format);
    expect(inputFormatNamed('datetime', name)).toBe(format);
  });

  it.each([
    ['DD/MM/YYYY', 'DD/MM/YYYY'],
    ['%d.%m.%Y', 'DD.MM.YYYY'],
    ['mm/dd/yyyy', 'MM/DD/YYYY'],
    ['excel_serial', undefined],
    ['unix_epoch', undefined],
    ['Yes/No', undefined],
  ])('outputFormat %j names %s', (name, format) => {
    expect(outputFormatNamed('date', name)).toBe(format);
  });
});

describe('formatting dates', () => {
  it.each([
    ['YYYY-MM-DD', '2024-05-01'],
    ['MM/DD/YYYY', '05/01/2024'],
    ['MM-DD-YYYY', '05-01-2024'],
    ['MM.DD.YYYY', '05.01.2024'],
    ['DD/MM/YYYY', '01/05/2024'],
    ['DD-MM-YYYY', '01-05-2024'],
    ['DD.MM.YYYY', '01.05.2024'],
    ['YYYY/MM/DD', '2024/05/01'],
    ['YYYY.MM.DD', '2024.05.01'],
  ] as const)('writes 2024-05-01 as %s: %s', (pattern, text) => {
    expect(formatDate('2024-05-01', pattern)).toBe(text);
    expect(formatVariableValue('2024-05-01', { type: 'date', outputFormat: pattern })).toBe(text);
  });

  it('writes YYYY-MM-DD without an outputFormat, and accepts strftime names', () => {
    expect(formatVariableValue('2024-05-01', { type: 'date' })).toBe('2024-05-01');
    expect(formatVariableValue('2024-05-01', { type: 'date', outputFormat: '%d/%m/%Y' })).toBe('01/05/2024');
  });
});
