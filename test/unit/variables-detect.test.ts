import { describe, expect, it } from 'vitest';
import { createFormatDetector, resolveRow } from '../../lambdas/core/variables/index.ts';
import type { DetectedFormats, VariableDeclaration } from '../../lambdas/core/variables/index.ts';

const OPTIONS = { timezone: 'UTC', defaultCountry: 'US' };

function detect(variables: VariableDeclaration[], rows: Record<string, unknown>[]): DetectedFormats {
  const detector = createFormatDetector(variables);
  for (const row of rows) detector.observe(row);
  return detector.result();
}

function detectColumn(type: 'date' | 'datetime' | 'boolean', values: unknown[]) {
  return detect(
    [{ name: 'v', type }],
    values.map((v) => ({ v })),
  )['v'];
}

describe('date column detection', () => {
  it.each([
    [['2024-05-01', '2024-12-31'], 'YYYY-MM-DD'],
    [['01/02/2024', '03/04/2024'], 'MM/DD/YYYY'], // day-first and month-first both fit: month-first
    [['01/02/2024', '13/01/2024'], 'DD/MM/YYYY'], // one day above 12 makes the column day-first
    [['13/01/2024', '01/02/2024'], 'DD/MM/YYYY'],
    [['12/31/2024', '01/02/2024'], 'MM/DD/YYYY'],
    [['01-02-2024', '25-12-2024'], 'DD-MM-YYYY'],
    [['01.02.2024', '02.03.2024'], 'MM.DD.YYYY'],
    [['25.12.2024'], 'DD.MM.YYYY'],
    [['2024/05/01'], 'YYYY/MM/DD'],
    [['2024.05.01'], 'YYYY.MM.DD'],
    [['45413', 45414], 'excel_serial'],
    [['45413', '1714521600'], 'unix_epoch'], // one value beyond Excel's range: all are epochs
    [[1714521600000], 'unix_epoch'],
    [['2024-05-01 10:30', '2024-05-02T08:00:00Z'], 'YYYY-MM-DD'],
    [['1/5/2024', '12/25/2024'], 'MM/DD/YYYY'],
  ])('%j is read as %s', (values, format) => {
    expect(detectColumn('date', values)).toBe(format);
  });

  it.each([
    [['2024-05-01', '05/01/2024']],
    [['01/02/2024', '2024-05-01', '13/01/2024']],
    [['05/01/2024', '05.01.2024']],
  ])('a mixed column %j has no single format', (values) => {
    expect(detectColumn('date', values)).toBeUndefined();
  });

  it('skips blank values and values no format reads', () => {
    expect(
      detectColumn('date', ['', '  ', null, undefined, 'n/a', '01/02/2024', '13/01/2024', 'unknown']),
    ).toBe('DD/MM/YYYY');
  });

  it('has no format for a column without values', () => {
    expect(detectColumn('date', [null, '', 'n/a'])).toBeUndefined();
    expect(detect([{ name: 'v', type: 'date' }], [{ other: 1 }])['v']).toBeUndefined();
  });

  it('reads a column by its source', () => {
    const formats = detect(
      [{ name: 'day', source: 'Day Column', type: 'date' }],
      [{ 'Day Column': '13/01/2024' }, { day: '2024-05-01' }],
    );
    expect(formats).toEqual({ day: 'DD/MM/YYYY' });
  });
});

describe('datetime column detection', () => {
  it.each([
    [['2024-05-01T13:45:00Z', '2024-05-01 13:45'], 'YYYY-MM-DD'],
    [['05/01/2024 1:45 PM', '05/02/2024 9:00 AM'], 'MM/DD/YYYY'],
    [['05/01/2024 13:45', '13/01/2024 08:00'], 'DD/MM/YYYY'],
    [['1714571100', '1714571200'], 'unix_epoch'],
    [['45413.5', '45414.25'], 'excel_serial'],
  ])('%j is read as %s', (values, format) => {
    expect(detectColumn('datetime', values)).toBe(format);
  });
});

describe('boolean column detection', () => {
  it.each([
    [['true', 'FALSE'], 'true_false'],
    [['Yes', 'no'], 'yes_no'],
    [['on', 'off'], 'on_off'],
    [['1', '0', 1, 0], 'one_zero'],
    [['T', 'f'], 't_f'],
    [['checked', 'unchecked'], 'checked_unchecked'],
    [[true, 'no'], 'yes_no'], // JSON booleans fit every pair
  ])('%j is read as %s', (values, format) => {
    expect(detectColumn('boolean', values)).toBe(format);
  });

  it('has no single pair for a mixed column', () => {
    expect(detectColumn('boolean', ['yes', 'false'])).toBeUndefined();
  });
});

describe('detection and resolution', () => {
  it('only detects date, datetime and boolean columns that read a source', () => {
    const formats = detect(
      [
        { name: 'n', type: 'number' },
        { name: 's', type: 'string' },
        { name: 'fixed', type: 'date', value: '2024-05-01' },
        { name: 'd', type: 'date' },
      ],
      [{ n: '1', s: 'x', d: '2024-05-01' }],
    );
    expect(formats).toEqual({ d: 'YYYY-MM-DD' });
  });

  it('an explicit inputFormat overrides detection', () => {
    const variables: VariableDeclaration[] = [
      { name: 'd', type: 'date', inputFormat: 'DD/MM/YYYY' },
      { name: 'b', type: 'boolean', inputFormat: 'Yes/No' },
    ];
    const formats = detect(variables, [{ d: '01/02/2024', b: 'yes' }]);
    expect(formats).toEqual({ d: 'DD/MM/YYYY', b: 'yes_no' });
    expect(resolveRow(variables, { d: '01/02/2024', b: 'no' }, 1, {}, OPTIONS).values).toEqual({
      d: '2024-02-01',
      b: false,
    });
    // Also when the formats given to resolution say otherwise.
    expect(
      resolveRow(variables, { d: '01/02/2024', b: 'no' }, 1, { d: 'MM/DD/YYYY' }, OPTIONS).values.d,
    ).toBe('2024-02-01');
  });

  it('reads an ambiguous column month-first', () => {
    const variables: VariableDeclaration[] = [{ name: 'd', type: 'date' }];
    const rows = [{ d: '01/02/2024' }, { d: '03/04/2024' }];
    const formats = detect(variables, rows);
    expect(rows.map((r, i) => resolveRow(variables, r, i + 1, formats, OPTIONS).values.d)).toEqual([
      '2024-01-02',
      '2024-03-04',
    ]);
  });

  it('reads every value of a column day-first when one value only fits day-first', () => {
    const variables: VariableDeclaration[] = [{ name: 'd', type: 'date' }];
    const rows = [{ d: '01/02/2024' }, { d: '13/01/2024' }, { d: '03/04/2024' }];
    const formats = detect(variables, rows);
    expect(rows.map((r, i) => resolveRow(variables, r, i + 1, formats, OPTIONS).values.d)).toEqual([
      '2024-02-01',
      '2024-01-13',
      '2024-04-03',
    ]);
  });

  it('reads each value of a mixed column in the first format that reads it', () => {
    const variables: VariableDeclaration[] = [{ name: 'd', type: 'date' }];
    const rows = [{ d: '2024-05-01' }, { d: '01/02/2024' }, { d: '13/01/2024' }, { d: '45413' }];
    const formats = detect(variables, rows);
    expect(formats.d).toBeUndefined();
    expect(rows.map((r, i) => resolveRow(variables, r, i + 1, formats, OPTIONS).values.d)).toEqual([
      '2024-05-01',
      '2024-01-02',
      '2024-01-13',
      '2024-05-01',
    ]);
  });

  it('a value outside the detected format is invalid', () => {
    const variables: VariableDeclaration[] = [{ name: 'd', type: 'date' }];
    const formats = detect(variables, [{ d: '13/01/2024' }, { d: 'n/a' }]);
    const resolved = resolveRow(variables, { d: 'n/a' }, 2, formats, OPTIONS);
    expect(resolved.errors).toEqual([
      {
        code: 'INVALID_DATE',
        message: '"n/a" is not a valid date in the format DD/MM/YYYY (variable d)',
        variable: 'd',
      },
    ]);
  });

  it('detects 200,000 rows quickly', () => {
    const detector = createFormatDetector([
      { name: 'd', type: 'date' },
      { name: 't', type: 'datetime' },
      { name: 'b', type: 'boolean' },
    ]);
    const started = performance.now();
    for (let i = 0; i < 200_000; i++) {
      const day = (i % 28) + 1;
      detector.observe({
        d: `${day}/03/2024`,
        t: `2024-03-${String(day).padStart(2, '0')} 10:${String(i % 60).padStart(2, '0')}`,
        b: i % 2 ? 'yes' : 'no',
      });
    }
    expect(detector.result()).toEqual({ d: 'DD/MM/YYYY', t: 'YYYY-MM-DD', b: 'yes_no' });
    expect(performance.now() - started).toBeLessThan(5_000);
  });
});
