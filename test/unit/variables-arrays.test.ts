import { describe, expect, it } from 'vitest';
import type { ArrayDelimiter, VariableType } from '../../lambdas/core/connector-schema.ts';
import { resolveRow } from '../../lambdas/core/variables/index.ts';
import type { VariableDeclaration } from '../../lambdas/core/variables/index.ts';

const OPTIONS = { timezone: 'UTC', defaultCountry: 'US' };

function resolveList(type: VariableType, delimiter: ArrayDelimiter, raw: unknown, required = false) {
  const variables: VariableDeclaration[] = [{ name: 'list', type, array: { delimiter }, required }];
  return resolveRow(variables, { list: raw }, 1, {}, OPTIONS);
}

describe('array variables', () => {
  it.each<[ArrayDelimiter, string, string[]]>([
    [',', 'a,b,c', ['a', 'b', 'c']],
    [',', ' a , b ,c ', ['a', 'b', 'c']],
    [';', 'a;b;c', ['a', 'b', 'c']],
    ['|', 'a|b|c', ['a', 'b', 'c']],
    ['\t', 'a\tb\tc', ['a', 'b', 'c']],
    ['{}', '{a,b,c}', ['a', 'b', 'c']],
    ['{}', '{ a , b }', ['a', 'b']],
    ['{}', '{"a b","c,d",e}', ['a b', 'c,d', 'e']],
    ['{}', '{"say \\"hi\\"",x}', ['say "hi"', 'x']],
    ['{}', "{O'Brien,Smith}", ["O'Brien", 'Smith']],
    ['{}', 'a,b', ['a', 'b']],
    ['[]', '[a,b,c]', ['a', 'b', 'c']],
    ['[]', '["a","b"]', ['a', 'b']],
    ['[]', '["a,b", "c"]', ['a,b', 'c']],
    ['[]', "['a', 'b']", ['a', 'b']],
    ['[]', '["caf\\u00e9"]', ['café']],
    [',', 'a,,b, ,', ['a', 'b']],
    [';', 'a,b;c', ['a,b', 'c']],
    [',', 'single', ['single']],
  ])('delimiter %j splits %j', (delimiter, raw, expected) => {
    const resolved = resolveList('string', delimiter, raw);
    expect(resolved.errors).toEqual([]);
    expect(resolved.values.list).toEqual(expected);
  });

  it.each<[ArrayDelimiter]>([[','], [';'], ['|'], ['\t'], ['{}'], ['[]']])(
    'takes a JSON array raw value as the list directly (delimiter %j)',
    (delimiter) => {
      expect(resolveList('string', delimiter, ['a,b', ' c ', '', null]).values.list).toEqual(['a,b', 'c']);
    },
  );

  it.each<[VariableType, ArrayDelimiter, unknown, unknown[]]>([
    ['number', ',', '1, 2.5, $3', [1, 2.5, 3]],
    ['number', '|', '$1,000|2', [1000, 2]],
    ['number', '[]', '[1,2,3]', [1, 2, 3]],
    ['number', '{}', '{1,2}', [1, 2]],
    ['number', ',', [1, '2', 3.5], [1, 2, 3.5]],
    ['number', ',', 7, [7]],
    ['email', ';', 'a@x.com; B@Y.COM', ['a@x.com', 'B@y.com']],
    ['phone', ',', '(415) 555-2671, +44 20 7946 0958', ['+14155552671', '+442079460958']],
    ['string', ',', 5, ['5']],
  ])('reads each %s item (%j): %j', (type, delimiter, raw, expected) => {
    const resolved = resolveList(type, delimiter, raw);
    expect(resolved.errors).toEqual([]);
    expect(resolved.values.list).toEqual(expected);
  });

  it.each<[VariableType, string, string]>([
    ['number', '1,abc,3', 'INVALID_NUMBER'],
    ['email', 'a@x.com,nope', 'INVALID_EMAIL'],
    ['phone', '(415) 555-2671,12345', 'INVALID_PHONE'],
  ])('a bad %s item makes the variable invalid: %j', (type, raw, code) => {
    const resolved = resolveList(type, ',', raw);
    expect(resolved.values.list).toBeNull();
    expect(resolved.errors).toHaveLength(1);
    expect(resolved.errors[0]).toMatchObject({ code, variable: 'list' });
    expect(resolved.errors[0]?.message).toContain('item 2');
  });

  it('names the first bad item and counts the others', () => {
    const [issue] = resolveList('number', ',', 'x,1,y,z').errors;
    expect(issue?.message).toBe('"x" is not a number (variable list, item 1; 2 more invalid items)');
  });

  it.each<[ArrayDelimiter, unknown]>([
    [',', ''],
    [',', '   '],
    [',', ','],
    [';', ' ; ; '],
    ['{}', '{}'],
    ['{}', '{ }'],
    ['[]', '[]'],
    ['[]', '[ "" ]'],
    [',', []],
    [',', ['', ' ', null]],
    [',', null],
    [',', undefined],
  ])('with delimiter %j, %j has no items and is blank', (delimiter, raw) => {
    expect(resolveList('string', delimiter, raw).values.list).toBeNull();
    expect(resolveList('string', delimiter, raw).errors).toEqual([]);
    expect(resolveList('string', delimiter, raw, true).errors.map((e) => e.code)).toEqual([
      'REQUIRED_MISSING',
    ]);
  });
});
