import { describe, expect, it } from 'vitest';
import type { ResolvedRow, RowResult } from '../../lambdas/core/model.ts';
import {
  MAX_CELL_TEXT_LENGTH,
  MAX_SHEET_NAME_LENGTH,
  sheetName,
  sqlCell,
  sqlOutputLayout,
  summaryLayout,
  textCell,
  uploadLayout,
  valueCell,
  variablesLayout,
} from '../../lambdas/core/report-model.ts';

const long = 'Extracted Variables (customer_addresses)'; // 40 characters
const copies2to9 = [2, 3, 4, 5, 6, 7, 8, 9].map((n) => `Extracted Variables (customer ${n}`);

describe('sheetName', () => {
  it.each<[string, string, string[], number, string]>([
    ['a free name is kept', 'Summary Stats', [], 1, 'Summary Stats'],
    ['a long name is cut to 31', long, [], 1, 'Extracted Variables (customer_a'],
    [
      'a taken name gets " 2"',
      'Product Upload (rows)',
      ['Product Upload (rows)'],
      1,
      'Product Upload (rows) 2',
    ],
    ['names compare case-insensitively', 'Orders', ['ORDERS'], 1, 'Orders 2'],
    ['the next free number is used', 'Orders', ['Orders', 'Orders 2', 'orders 3'], 1, 'Orders 4'],
    [
      'a long taken name is cut before its suffix',
      long,
      ['Extracted Variables (customer_a'],
      1,
      'Extracted Variables (customer 2',
    ],
    [
      'a suffix of two digits still fits',
      long,
      ['Extracted Variables (customer_a', ...copies2to9],
      1,
      'Extracted Variables (custome 10',
    ],
    ['forbidden characters are stripped', 'SQL Output (a/b\\c?d*e[f]g:h)', [], 1, 'SQL Output (abcdefgh)'],
    ['control characters are stripped', 'Tab\there\nnow', [], 1, 'Tabherenow'],
    ['non-XML characters are stripped', 'a\ufffeb\uffff', [], 1, 'ab'],
    ['edge apostrophes are stripped', "'quoted'", [], 1, 'quoted'],
    ['inner apostrophes stay', "O'Brien Upload (x)", [], 1, "O'Brien Upload (x)"],
    ['nothing left gives "Sheet"', '[/:*?]', [], 1, 'Sheet'],
    ['"History" is reserved by Excel', 'History', [], 1, 'History 2'],
    ['a continuation ends with its part', 'Orders', [], 2, 'Orders 2'],
    ['a long continuation keeps its part', long, [], 3, 'Extracted Variables (customer 3'],
    ['a taken continuation gets a further suffix', 'Orders', ['Orders', 'Orders 2'], 2, 'Orders 2 2'],
    ['a cut never splits a character', `${'x'.repeat(30)}😀yz`, [], 1, 'x'.repeat(30)],
    [
      'a cut leaves no trailing space',
      `${'x'.repeat(28)} yy`,
      ['x'.repeat(28) + ' yy'],
      1,
      `${'x'.repeat(28)} 2`,
    ],
  ])('%s', (_case, wanted, taken, part, expected) => {
    const name = sheetName(wanted, new Set(taken), part);
    expect(name).toBe(expected);
    expect(name.length).toBeLessThanOrEqual(MAX_SHEET_NAME_LENGTH);
  });

  it('gives distinct names to many sheets wanting the same long name', () => {
    const taken = new Set<string>();
    for (let i = 0; i < 120; i++) taken.add(sheetName(long, taken));
    expect(taken.size).toBe(120);
    for (const name of taken) expect(name.length).toBeLessThanOrEqual(MAX_SHEET_NAME_LENGTH);
  });
});

describe('sqlCell', () => {
  it.each<[string, unknown, string | number | boolean | null]>([
    ['a string stays a string', 'abc', 'abc'],
    ['a number-looking string stays a string', '00123', '00123'],
    ['a formula-looking string stays a string', '=SUM(A1:A2)', '=SUM(A1:A2)'],
    ['a number stays a number', 12.5, 12.5],
    ['a boolean stays a boolean', false, false],
    ['null is empty', null, null],
    ['undefined is empty', undefined, null],
    ['an array is JSON', [1, 'a', null], '[1,"a",null]'],
    ['an object is JSON', { a: 1, b: [true] }, '{"a":1,"b":[true]}'],
    ['NaN is text', Number.NaN, 'NaN'],
    ['Infinity is text', Number.POSITIVE_INFINITY, 'Infinity'],
    ['a safe bigint is a number', 42n, 42],
    ['a large bigint keeps its digits', 2n ** 64n, '18446744073709551616'],
    ['a bigint inside an object is JSON text', { id: 2n ** 64n }, '{"id":"18446744073709551616"}'],
    ['a date is ISO text', new Date('2024-05-01T13:45:00Z'), '2024-05-01T13:45:00.000Z'],
    ['an invalid date is empty', new Date('nope'), null],
  ])('%s', (_case, value, expected) => {
    expect(sqlCell(value)).toEqual(expected);
  });
});

describe('valueCell', () => {
  it.each<[string, Parameters<typeof valueCell>[0], string | number | boolean | null]>([
    ['a string', 'abc', 'abc'],
    ['a formula-looking string', '+1', '+1'],
    ['a number', -3, -3],
    ['a boolean', true, true],
    ['null is empty', null, null],
    ['absent is empty', undefined, null],
    ['a list is joined', ['red', 'blue'], 'red, blue'],
    ['a list of numbers is joined', [1, 2.5], '1, 2.5'],
    ['an empty list is empty', [], null],
  ])('%s', (_case, value, expected) => {
    expect(valueCell(value)).toEqual(expected);
  });
});

describe('textCell', () => {
  it.each([
    ['short text', 'hello', 'hello'],
    ['text at the limit', 'x'.repeat(MAX_CELL_TEXT_LENGTH), 'x'.repeat(MAX_CELL_TEXT_LENGTH)],
  ])('keeps %s', (_case, text, expected) => {
    expect(textCell(text)).toBe(expected);
  });

  it('drops the characters XML forbids', () => {
    expect(textCell('a\ufffeb\uffffc')).toBe('abc');
    expect(textCell('tab\tline\nend\r')).toBe('tab\tline\nend\r');
  });

  it('cuts longer text to the limit and says so', () => {
    const cell = textCell('x'.repeat(MAX_CELL_TEXT_LENGTH + 1000));
    expect(cell).toHaveLength(MAX_CELL_TEXT_LENGTH);
    expect(cell.endsWith('… [truncated: 33767 characters]')).toBe(true);
    expect(cell.startsWith('xxxx')).toBe(true);
  });

  it('never splits a character when cutting', () => {
    const cell = textCell('😀'.repeat(MAX_CELL_TEXT_LENGTH));
    const kept = cell.slice(0, cell.indexOf('…'));
    expect(kept).toBe('😀'.repeat(kept.length / 2));
    expect(cell.length).toBeLessThanOrEqual(MAX_CELL_TEXT_LENGTH);
  });
});

describe('summaryLayout', () => {
  it('has Item and Value columns and keeps value types', () => {
    const layout = summaryLayout();
    expect(layout.title).toBe('Summary Stats');
    expect(layout.columns.map((c) => c.header)).toEqual(['Item', 'Value']);
    expect(layout.cells(['Rows', 12], 0)).toEqual(['Rows', 12]);
    expect(layout.cells(['Dry run', false], 1)).toEqual(['Dry run', false]);
    expect(layout.cells(['Input file', null], 2)).toEqual(['Input file', null]);
  });
});

describe('sqlOutputLayout', () => {
  it('numbers rows from 1 and keeps the columns in order', () => {
    const layout = sqlOutputLayout('products', ['sku', 'price', 'tags']);
    expect(layout.title).toBe('SQL Output (products)');
    expect(layout.columns.map((c) => c.header)).toEqual(['Row', 'sku', 'price', 'tags']);
    expect(layout.cells({ price: 9.5, sku: '007', tags: ['a'], extra: 'ignored' }, 0)).toEqual([
      1,
      '007',
      9.5,
      '["a"]',
    ]);
    expect(layout.cells({}, 41)).toEqual([42, null, null, null]);
  });
});

describe('variablesLayout', () => {
  const layout = variablesLayout('products', ['sku', 'price', 'colors']);

  it('has Row, the variables, Status, Error Codes and Errors', () => {
    expect(layout.title).toBe('Extracted Variables (products)');
    expect(layout.columns.map((c) => c.header)).toEqual([
      'Row',
      'sku',
      'price',
      'colors',
      'Status',
      'Error Codes',
      'Errors',
    ]);
  });

  it.each<[string, ResolvedRow, unknown[]]>([
    [
      'a valid row',
      { row: 3, values: { sku: 'A-1', price: 10, colors: ['red', 'blue'] }, errors: [] },
      [3, 'A-1', 10, 'red, blue', 'valid', null, null],
    ],
    [
      'an invalid row with blanks',
      {
        row: 4,
        values: { sku: null, price: null },
        errors: [
          { code: 'REQUIRED', message: 'sku is required', variable: 'sku' },
          { code: 'INVALID_NUMBER', message: 'price is not a number', variable: 'price' },
          { code: 'REQUIRED', message: 'colors is required', variable: 'colors' },
        ],
      },
      [
        4,
        null,
        null,
        null,
        'invalid',
        'REQUIRED, INVALID_NUMBER',
        'sku is required; price is not a number; colors is required',
      ],
    ],
  ])('%s', (_case, row, expected) => {
    expect(layout.cells(row, 0)).toEqual(expected);
  });
});

describe('uploadLayout', () => {
  const layout = uploadLayout('Product', 'products', ['sku', 'sizes', 'active']);
  const base: RowResult = {
    row: 1,
    outcome: 'created',
    recordId: 'rec_1',
    matchedRule: null,
    code: null,
    errors: [],
    warnings: [],
    written: {},
    hash: 'h',
  };

  it('has the outcome columns, then the fields', () => {
    expect(layout.title).toBe('Product Upload (products)');
    expect(layout.columns.map((c) => c.header)).toEqual([
      'Row',
      'Status',
      'Record ID',
      'Matched Rule',
      'Codes',
      'Errors',
      'Warnings',
      'sku',
      'sizes',
      'active',
    ]);
  });

  it.each<[string, Partial<RowResult>, unknown[]]>([
    [
      'a created row',
      { row: 2, written: { sku: '=A1', sizes: ['S', 'M'], active: true } },
      [2, 'created', 'rec_1', null, null, null, null, '=A1', 'S, M', true],
    ],
    [
      'an updated row with a warning and a cleared field',
      {
        outcome: 'updated',
        matchedRule: 2,
        warnings: [{ code: 'RELATED_RECORD_NOT_FOUND', message: 'Vendor V9 not found', field: 'vendor' }],
        written: { sku: 'A', active: null },
      },
      [1, 'updated', 'rec_1', 2, 'RELATED_RECORD_NOT_FOUND', null, 'Vendor V9 not found', 'A', null, null],
    ],
    [
      'a skipped row with its reason code',
      { outcome: 'skipped', recordId: null, matchedRule: 1, code: 'MULTIPLE_MATCHES' },
      [1, 'skipped', null, 1, 'MULTIPLE_MATCHES', null, null, null, null, null],
    ],
    [
      'a failed row: codes are unique, code first',
      {
        outcome: 'failed',
        recordId: null,
        code: 'REQUIRED_FIELD_MISSING',
        errors: [
          { code: 'REQUIRED_FIELD_MISSING', message: 'sku is required' },
          { code: 'UNKNOWN_OPTION', message: 'XL is not an option of sizes' },
        ],
        warnings: [{ code: 'UNKNOWN_OPTION', message: 'also a warning' }],
      },
      [
        1,
        'failed',
        null,
        null,
        'REQUIRED_FIELD_MISSING, UNKNOWN_OPTION',
        'sku is required; XL is not an option of sizes',
        'also a warning',
        null,
        null,
        null,
      ],
    ],
    [
      'an unprocessed row',
      { outcome: 'unprocessed', recordId: null },
      [1, 'unprocessed', null, null, null, null, null, null, null, null],
    ],
  ])('%s', (_case, result, expected) => {
    expect(layout.cells({ ...base, ...result }, 0)).toEqual(expected);
  });
});
