import { describe, expect, it } from 'vitest';
import {
  claimUniqueName,
  normaliseHeaders,
  normaliseIdentifier,
  normaliseTableName,
  normaliseTableNames,
} from '../../lambdas/core/input-names.ts';

describe('normaliseIdentifier', () => {
  it.each([
    ['vendors.csv', 'vendors_csv'],
    ['  Vendor Name  ', 'vendor_name'],
    ['Price (EUR)', 'price__eur_'],
    ['2024 Sales', '_2024_sales'],
    ['9', '_9'],
    ['_private', '_private'],
    ['Café', 'caf_'],
    ['a😀b', 'a_b'],
    ['a-b/c\\d', 'a_b_c_d'],
    ['UPPER_lower_123', 'upper_lower_123'],
    ['tab\there', 'tab_here'],
    ['#', '_'],
    ['', ''],
    ['   ', ''],
  ])('%j → %j', (raw, expected) => {
    expect(normaliseIdentifier(raw)).toBe(expected);
  });
});

describe('normaliseTableName', () => {
  it.each([
    ['vendors.csv', 'vendors_csv'],
    ['Sheet 1', 'sheet_1'],
    ['2023 Q4.xlsx', '_2023_q4_xlsx'],
    ['', '_1'],
  ])('%j → %j', (raw, expected) => {
    expect(normaliseTableName(raw)).toBe(expected);
  });
});

describe('normaliseTableNames', () => {
  it('makes repeated names unique with the duplicate rule', () => {
    expect(normaliseTableNames(['Data', 'data', 'DATA', 'Other'])).toEqual([
      'data',
      'data__duplicate_1__',
      'data__duplicate_2__',
      'other',
    ]);
  });

  it('keeps distinct names as they are', () => {
    expect(normaliseTableNames(['vendors.csv', 'products.csv'])).toEqual(['vendors_csv', 'products_csv']);
  });
});

describe('normaliseHeaders', () => {
  it.each<[(string | null)[], string[]]>([
    [
      ['Name', 'E-mail', 'Phone #'],
      ['name', 'e_mail', 'phone__'],
    ],
    [
      ['a', '', 'b', null, '  '],
      ['a', '_1', 'b', '_2', '_3'],
    ],
    [
      ['id', 'ID', 'Id '],
      ['id', 'id__duplicate_1__', 'id__duplicate_2__'],
    ],
    [
      ['x', 'x', 'y', 'x'],
      ['x', 'x__duplicate_1__', 'y', 'x__duplicate_2__'],
    ],
    [
      ['1st', 'first'],
      ['_1st', 'first'],
    ],
    // a literal `_1` header and a blank header both want `_1`
    [
      ['_1', ''],
      ['_1', '_1__duplicate_1__'],
    ],
    [
      ['', '_1'],
      ['_1', '_1__duplicate_1__'],
    ],
    // the duplicate suffix never reuses a name the header already has
    [
      ['a__duplicate_1__', 'a', 'a'],
      ['a__duplicate_1__', 'a', 'a__duplicate_2__'],
    ],
    [[], []],
  ])('%j → %j', (headers, expected) => {
    expect(normaliseHeaders(headers)).toEqual(expected);
  });

  it('never renames earlier columns when headers are appended', () => {
    const base = normaliseHeaders(['a', '', 'a']);
    expect(normaliseHeaders(['a', '', 'a', null, null]).slice(0, 3)).toEqual(base);
  });
});

describe('claimUniqueName', () => {
  it('records every name it hands out', () => {
    const taken = new Set<string>();
    expect(claimUniqueName('t', taken)).toBe('t');
    expect(claimUniqueName('t', taken)).toBe('t__duplicate_1__');
    expect([...taken]).toEqual(['t', 't__duplicate_1__']);
  });
});
