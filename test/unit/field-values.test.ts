import { describe, expect, it } from 'vitest';
import type { AnyVariableType } from '../../lambdas/core/connector-schema.ts';
import { isBlankValue, toFieldValue, typeCompatibility } from '../../lambdas/core/field-values.ts';
import type { ScalarValue, VariableValue } from '../../lambdas/core/model.ts';
import type { FieldDefinition, FieldType } from '../../lambdas/core/object-schema.ts';

function field(type: FieldType, extra: Partial<FieldDefinition> = {}): FieldDefinition {
  return { apiName: type, label: type, type, required: false, options: [], ...extra };
}

/** Formats like a variable without outputFormat, but booleans as Yes/No to show the formatter is used. */
const format = (value: ScalarValue): string =>
  typeof value === 'boolean' ? (value ? 'Yes' : 'No') : String(value);

const colour = field('dropdown', { apiName: 'colour', options: ['Red', 'Green', 'Dark Blue'] });
const tags = field('checkboxes', { apiName: 'tags', options: ['New', 'Sale', 'Clearance'] });

describe('toFieldValue', () => {
  it.each<[string, FieldDefinition, AnyVariableType, VariableValue, unknown]>([
    ['text ← string', field('text'), 'string', 'Widget', 'Widget'],
    ['text ← number, formatted', field('text'), 'number', 16.5, '16.5'],
    ['text ← boolean, formatted', field('text'), 'boolean', true, 'Yes'],
    ['text ← date', field('text'), 'date', '2024-05-01', '2024-05-01'],
    ['text ← uuid', field('text'), 'uuid', 'a-b', 'a-b'],
    ['text ← list, joined with ", "', field('text'), 'string', ['a', ' ', 'b'], 'a, b'],
    ['longtext ← list of numbers', field('longtext'), 'number', [1, 2.5], '1, 2.5'],
    ['email ← email', field('email'), 'email', 'ann@example.com', 'ann@example.com'],
    ['phone ← phone', field('phone'), 'phone', '+14155550100', '+14155550100'],
    ['integer ← whole number', field('integer'), 'number', 41, 41],
    ['integer ← negative whole number', field('integer'), 'number', -3, -3],
    ['decimal ← number', field('decimal'), 'number', 16.99, 16.99],
    ['money ← number (not rounded)', field('money'), 'number', 16.999, 16.999],
    ['checkbox ← true', field('checkbox'), 'boolean', true, true],
    ['checkbox ← false', field('checkbox'), 'boolean', false, false],
    ['date ← date', field('date'), 'date', '2024-02-29', '2024-02-29'],
    [
      'datetime ← datetime, normalised',
      field('datetime'),
      'datetime',
      '2024-05-01T13:45:00Z',
      '2024-05-01T13:45:00.000Z',
    ],
    [
      'datetime ← datetime with offset',
      field('datetime'),
      'datetime',
      '2024-05-01T15:45:00+02:00',
      '2024-05-01T13:45:00.000Z',
    ],
    ['datetime ← date, at 00:00 UTC', field('datetime'), 'date', '2024-05-01', '2024-05-01T00:00:00.000Z'],
    ['dropdown ← label, case-insensitive', colour, 'string', ' dark BLUE ', 'Dark Blue'],
    ['radio ← label', field('radio', { options: ['Yes', 'No'] }), 'string', 'no', 'No'],
    ['checkboxes ← list', tags, 'string', ['sale', 'NEW'], ['Sale', 'New']],
    ['checkboxes ← duplicates collapse', tags, 'string', ['sale', 'Sale', 'SALE'], ['Sale']],
    ['checkboxes ← one string', tags, 'string', 'clearance', ['Clearance']],
    ['relationship ← record id', field('relationship', { relatedObject: 'x' }), 'uuid', 'id-1', 'id-1'],
  ])('%s', (_, f, type, value, expected) => {
    expect(toFieldValue(f, type, value, format)).toEqual({ value: expected });
  });

  it.each<[string, VariableValue]>([
    ['null', null],
    ['empty string', ''],
    ['whitespace', '   '],
    ['empty list', []],
    ['list of blanks', ['', ' ']],
  ])('a blank value (%s) is null for every field type', (_, value) => {
    for (const f of [field('text'), field('integer'), colour, tags, field('date')]) {
      expect(toFieldValue(f, 'string', value, format)).toEqual({ value: null });
    }
  });

  it('text formatted to blank is null', () => {
    expect(toFieldValue(field('text'), 'number', 1, () => '  ')).toEqual({ value: null });
  });

  it.each<[string, FieldDefinition, AnyVariableType, VariableValue, string, RegExp]>([
    [
      'integer ← fraction',
      field('integer'),
      'number',
      2.5,
      'INVALID_INTEGER',
      /takes whole numbers, not 2.5/,
    ],
    [
      'integer ← string',
      field('integer'),
      'string',
      '2',
      'TYPE_MISMATCH',
      /an integer field takes a number variable, not a string variable/,
    ],
    ['email ← string', field('email'), 'string', 'a@b.c', 'TYPE_MISMATCH', /takes an email variable/],
    ['email ← list', field('email'), 'email', ['a@b.c'], 'TYPE_MISMATCH', /single value, not a list/],
    ['checkbox ← string', field('checkbox'), 'string', 'yes', 'TYPE_MISMATCH', /takes a boolean variable/],
    [
      'date ← datetime',
      field('date'),
      'datetime',
      '2024-05-01T00:00:00Z',
      'TYPE_MISMATCH',
      /takes a date variable/,
    ],
    [
      'date ← malformed value',
      field('date'),
      'date',
      '2024-02-30',
      'TYPE_MISMATCH',
      /cannot store "2024-02-30"/,
    ],
    [
      'datetime ← malformed value',
      field('datetime'),
      'datetime',
      'soon',
      'TYPE_MISMATCH',
      /cannot store "soon"/,
    ],
    [
      'decimal ← number variable holding text',
      field('decimal'),
      'number',
      'x',
      'TYPE_MISMATCH',
      /cannot store "x"/,
    ],
    ['dropdown ← number', colour, 'number', 1, 'TYPE_MISMATCH', /takes a string variable/],
    ['relationship ← string', field('relationship'), 'string', 'id', 'TYPE_MISMATCH', /record variable/],
    [
      'dropdown ← unknown label',
      colour,
      'string',
      'Teal',
      'UNKNOWN_OPTION',
      /"Teal" is not an option of field "colour" \(options: Red, Green, Dark Blue\)/,
    ],
    [
      'checkboxes ← unknown labels',
      tags,
      'string',
      ['New', 'Hot', 'Cold'],
      'UNKNOWN_OPTION',
      /"Hot", "Cold" are not options/,
    ],
  ])('%s fails with its code', (_, f, type, value, code, message) => {
    const result = toFieldValue(f, type, value, format);
    expect(result.value).toBeNull();
    expect(result.error).toMatchObject({ code, field: f.apiName });
    expect(result.error?.message).toMatch(message);
  });

  it('createOptions stores an unknown label as written and reports it', () => {
    expect(toFieldValue(colour, 'string', ' Teal ', format, { createOptions: true })).toEqual({
      value: 'Teal',
      newOption: ['Teal'],
    });
    expect(toFieldValue(tags, 'string', ['new', 'Hot', 'hot'], format, { createOptions: true })).toEqual({
      value: ['New', 'Hot'],
      newOption: ['Hot'],
    });
  });
});

describe('typeCompatibility', () => {
  const scalarTypes: AnyVariableType[] = [
    'string',
    'number',
    'boolean',
    'date',
    'datetime',
    'email',
    'phone',
    'uuid',
  ];
  const accepted: Record<FieldType, AnyVariableType[]> = {
    text: scalarTypes,
    longtext: scalarTypes,
    email: ['email'],
    phone: ['phone'],
    integer: ['number'],
    decimal: ['number'],
    money: ['number'],
    checkbox: ['boolean'],
    date: ['date'],
    datetime: ['datetime', 'date'],
    dropdown: ['string'],
    radio: ['string'],
    checkboxes: ['string'],
    relationship: ['uuid'],
  };
  const cases = Object.entries(accepted).flatMap(([fieldType, types]) =>
    scalarTypes.map((t) => [fieldType as FieldType, t, types.includes(t)] as const),
  );

  it.each(cases)('%s ← %s scalar: fits = %s', (fieldType, variableType, fits) => {
    expect(typeCompatibility(fieldType, variableType, false) === null).toBe(fits);
  });

  it.each<[FieldType, AnyVariableType, boolean]>([
    ['text', 'string', true],
    ['longtext', 'number', true],
    ['checkboxes', 'string', true],
    ['checkboxes', 'number', false],
    ['email', 'email', false],
    ['phone', 'phone', false],
    ['decimal', 'number', false],
    ['dropdown', 'string', false],
  ])('%s ← list of %s: fits = %s', (fieldType, variableType, fits) => {
    expect(typeCompatibility(fieldType, variableType, true) === null).toBe(fits);
  });

  it('says what the field takes', () => {
    expect(typeCompatibility('money', 'string', false)).toBe(
      'a money field takes a number variable, not a string variable',
    );
    expect(typeCompatibility('datetime', 'boolean', false)).toBe(
      'a datetime field takes a datetime or date variable, not a boolean variable',
    );
    expect(typeCompatibility('integer', 'number', true)).toBe(
      'an integer field takes a single value, not a list (the variable has "array")',
    );
    expect(typeCompatibility('email', 'uuid', false)).toBe(
      'an email field takes an email variable, not a record variable',
    );
    expect(typeCompatibility('checkboxes', 'number', true)).toBe(
      'a checkboxes field takes a string variable (a list, or a single label), not a list of number values',
    );
    expect(typeCompatibility('relationship', 'string', false)).toMatch(
      /record variable .* or a "lookup", not a string variable/,
    );
  });
});

describe('isBlankValue', () => {
  it.each<[unknown, boolean]>([
    [null, true],
    [undefined, true],
    ['', true],
    [' ', true],
    [[], true],
    [[''], true],
    ['x', false],
    [0, false],
    [false, false],
    [['a'], false],
  ])('%j → %s', (value, blank) => {
    expect(isBlankValue(value as VariableValue)).toBe(blank);
  });
});
