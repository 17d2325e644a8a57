import { describe, expect, it } from 'vitest';
import { API_NAME_MAX_LENGTH, deriveApiName, uniqueApiName } from '../../lambdas/core/api-name.ts';

describe('deriveApiName (SPEC §3)', () => {
  it.each([
    ['Order Import', 'order_import'],
    ['order_import', 'order_import'],
    ['  Vendor   Product -- Import!  ', 'vendor_product_import'],
    ['Café Sales', 'caf_sales'],
    ['2024 Sales', '_2024_sales'],
    ['9', '_9'],
    ['__Already__Snake__', 'already_snake'],
    ['UPPER CASE', 'upper_case'],
    ['a.b/c\\d', 'a_b_c_d'],
    ['!!!', 'unnamed'],
    ['', 'unnamed'],
  ])('%j → %j', (name, apiName) => {
    expect(deriveApiName(name)).toBe(apiName);
  });

  it('cuts to 64 characters and never ends with _', () => {
    const long = deriveApiName(`${'a'.repeat(63)} b c`);
    expect(long).toBe('a'.repeat(63));
    expect(deriveApiName('x'.repeat(100))).toHaveLength(API_NAME_MAX_LENGTH);
  });
});

describe('uniqueApiName', () => {
  it.each([
    ['orders', [], 'orders'],
    ['orders', ['orders'], 'orders_2'],
    ['orders', ['orders', 'orders_2'], 'orders_3'],
    ['orders', ['orders_2'], 'orders'],
  ])('%j with %j taken → %j', (base, taken, expected) => {
    expect(uniqueApiName(base, new Set(taken))).toBe(expected);
  });

  it('keeps a suffixed name within 64 characters', () => {
    const base = 'y'.repeat(64);
    const unique = uniqueApiName(base, new Set([base]));
    expect(unique).toHaveLength(64);
    expect(unique.endsWith('_2')).toBe(true);
  });
});
