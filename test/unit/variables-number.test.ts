import { describe, expect, it } from 'vitest';
import { formatNumber, parseNumber } from '../../lambdas/core/variables/index.ts';

describe('parseNumber', () => {
  it.each([
    ['$16.99 USD', 16.99],
    ['41 Apples', 41],
    ['1,234.50', 1234.5],
    ['-5', -5],
    ['USD -3.5', -3.5],
    ['-$5', -5],
    ['$-5', -5],
    ['42', 42],
    ['  42  ', 42],
    ['3.14', 3.14],
    ['.5', 0.5],
    ['5.', 5],
    ['0', 0],
    ['-0', 0],
    ['007', 7],
    ['1 234 567', 1234567],
    ['€ 1.234', 1.234],
    ['50%', 50],
    ['5-3', 53], // a `-` after the first digit is ignored
    ['Rs. 500', 500], // an abbreviation dot followed by no digit is not a decimal point
    ['approx. 41.5 kg', 41.5],
    ['1.5E+3', 1500], // scientific notation as databases print it
    ['-2e-3', -0.002],
    ['12345678901234567890', 12345678901234567000],
  ])('reads %j as %d', (text, expected) => {
    expect(parseNumber(text)).toBe(expected);
  });

  it.each([[16.99], [-3], [0], [1e21]])('passes the JSON number %d through', (n) => {
    expect(parseNumber(n)).toBe(n);
  });

  it('never returns negative zero', () => {
    expect(Object.is(parseNumber(-0), 0)).toBe(true);
    expect(Object.is(parseNumber('-0.0'), 0)).toBe(true);
    expect(Object.is(parseNumber('USD -0'), 0)).toBe(true);
  });

  it.each([
    ['abc'],
    ['$'],
    ['-'],
    ['.'],
    ['1.2.3'],
    ['1.234.567'],
    ['12.34.56 USD'],
    ['1'.repeat(400)],
    [true],
    [false],
  ])('rejects %j', (raw) => {
    expect(parseNumber(raw)).toBeUndefined();
  });
});

describe('formatNumber', () => {
  it.each([
    [1234.5, '1234.5'],
    [16.99, '16.99'],
    [-3.5, '-3.5'],
    [0, '0'],
    [-0, '0'],
    [42, '42'],
    [1e21, '1000000000000000000000'],
    [-2.5e25, '-25000000000000000000000000'],
    [1e-7, '0.0000001'],
    [1.5e-10, '0.00000000015'],
    [0.000001, '0.000001'],
    [123456789012, '123456789012'],
  ])('writes %d as %s', (n, text) => {
    expect(formatNumber(n)).toBe(text);
  });
});
