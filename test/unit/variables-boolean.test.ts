import { describe, expect, it } from 'vitest';
import {
  BOOLEAN_FORMATS,
  formatVariableValue,
  inputFormatNamed,
  outputFormatNamed,
  parseBoolean,
} from '../../lambdas/core/variables/index.ts';

describe('parseBoolean', () => {
  it.each([
    ['true', true],
    ['false', false],
    ['TRUE', true],
    ['False', false],
    ['yes', true],
    ['No', false],
    ['YES', true],
    ['on', true],
    ['OFF', false],
    ['1', true],
    ['0', false],
    ['t', true],
    ['F', false],
    ['checked', true],
    ['Unchecked', false],
    ['  yes  ', true],
    [true, true],
    [false, false],
    [1, true],
    [0, false],
  ])('reads %j as %s', (raw, expected) => {
    expect(parseBoolean(raw, undefined)).toBe(expected);
  });

  it.each([['maybe'], ['y'], ['n'], ['2'], [2], ['-1'], ['truee'], ['yes please'], ['enabled']])(
    'rejects %j',
    (raw) => {
      expect(parseBoolean(raw, undefined)).toBeUndefined();
    },
  );

  it.each([
    ['true_false', 'true', 'false', 'yes'],
    ['yes_no', 'Yes', 'NO', 'true'],
    ['on_off', 'on', 'off', '1'],
    ['one_zero', '1', '0', 'true'],
    ['t_f', 'T', 'f', 'true'],
    ['checked_unchecked', 'checked', 'unchecked', 'yes'],
  ] as const)('the input format %s reads only its pair', (format, yes, no, other) => {
    expect(parseBoolean(yes, format)).toBe(true);
    expect(parseBoolean(no, format)).toBe(false);
    expect(parseBoolean(other, format)).toBeUndefined();
    expect(parseBoolean(true, format)).toBe(true);
  });

  it('lists the pairs in detection order', () => {
    expect(BOOLEAN_FORMATS).toEqual([
      'true_false',
      'yes_no',
      'on_off',
      'one_zero',
      't_f',
      'checked_unchecked',
    ]);
  });
});

describe('boolean format names', () => {
  it.each([
    ['yes_no', 'yes_no'],
    ['Yes/No', 'yes_no'],
    ['YES_NO', 'yes_no'],
    ['1/0', 'one_zero'],
    ['one_zero', 'one_zero'],
    ['t_f', 't_f'],
    ['T/F', 't_f'],
    ['checked_unchecked', 'checked_unchecked'],
    ['true_false', 'true_false'],
    ['on_off', 'on_off'],
    ['y_n', undefined],
    ['YYYY-MM-DD', undefined],
  ])('inputFormat %j names %s', (name, format) => {
    expect(inputFormatNamed('boolean', name)).toBe(format);
  });

  it.each([
    ['True/False', 'True/False'],
    ['Yes/No', 'Yes/No'],
    ['On/Off', 'On/Off'],
    ['true_false', 'True/False'],
    ['yes_no', 'Yes/No'],
    ['on_off', 'On/Off'],
    ['yes/no', 'Yes/No'],
    ['1/0', undefined],
    ['Y/N', undefined],
  ])('outputFormat %j names %s', (name, format) => {
    expect(outputFormatNamed('boolean', name)).toBe(format);
  });
});

describe('formatting booleans', () => {
  it.each([
    [undefined, true, 'True'],
    [undefined, false, 'False'],
    ['True/False', false, 'False'],
    ['Yes/No', true, 'Yes'],
    ['Yes/No', false, 'No'],
    ['On/Off', true, 'On'],
    ['On/Off', false, 'Off'],
    ['yes_no', true, 'Yes'],
    ['on_off', false, 'Off'],
    ['true_false', true, 'True'],
  ])('outputFormat %s writes %s as %s', (outputFormat, value, text) => {
    expect(formatVariableValue(value, { type: 'boolean', outputFormat })).toBe(text);
  });
});
