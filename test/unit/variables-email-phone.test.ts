import { describe, expect, it } from 'vitest';
import { parseEmail, parsePhone, phoneCountry } from '../../lambdas/core/variables/index.ts';

describe('parseEmail', () => {
  it.each([
    ['ana@example.com', 'ana@example.com'],
    ['  ana@example.com  ', 'ana@example.com'],
    ['Ana.Lopez@Example.COM', 'Ana.Lopez@example.com'],
    ['first.last+tag@sub.example.co.uk', 'first.last+tag@sub.example.co.uk'],
    ["o'brien@example.ie", "o'brien@example.ie"],
    ['user_1@my-domain.io', 'user_1@my-domain.io'],
  ])('reads %j as %s', (text, expected) => {
    expect(parseEmail(text)).toBe(expected);
  });

  it.each([
    ['ana'],
    ['ana@'],
    ['@example.com'],
    ['ana@example'],
    ['ana@@example.com'],
    ['ana @example.com'],
    ['ana@exa mple.com'],
    ['ana@example.c'],
    ['.ana@example.com'],
    ['ana..lopez@example.com'],
    ['Ana <ana@example.com>'],
    [42],
    [true],
  ])('rejects %j', (raw) => {
    expect(parseEmail(raw)).toBeUndefined();
  });
});

describe('parsePhone', () => {
  it.each([
    ['(415) 555-2671', 'US', '+14155552671'],
    ['415-555-2671', 'US', '+14155552671'],
    ['415.555.2671', 'US', '+14155552671'],
    ['1-415-555-2671', 'US', '+14155552671'],
    ['+1 415 555 2671', 'US', '+14155552671'],
    ['+14155552671', 'US', '+14155552671'],
    ['  +1 (650) 253-0000  ', 'US', '+16502530000'],
    ['+44 20 7946 0958', 'US', '+442079460958'],
    ['020 7946 0958', 'GB', '+442079460958'],
    ['030 123456', 'DE', '+4930123456'],
    ['01 23 45 67 89', 'FR', '+33123456789'],
  ] as const)('reads %j (default country %s) as %s', (text, country, expected) => {
    expect(parsePhone(text, country)).toBe(expected);
  });

  it('reads a JSON number', () => {
    expect(parsePhone(4155552671, 'US')).toBe('+14155552671');
  });

  it.each([['12345'], ['555-123-4567'], ['123-456-7890'], ['020 7946 0958'], ['not a phone'], ['']])(
    'rejects %j in the US',
    (text) => {
      expect(parsePhone(text, 'US')).toBeUndefined();
    },
  );

  it.each([
    ['US', 'US'],
    ['us', 'US'],
    ['GB', 'GB'],
    ['XX', undefined],
  ])('knows the country %j as %s', (code, expected) => {
    expect(phoneCountry(code)).toBe(expected);
  });
});
