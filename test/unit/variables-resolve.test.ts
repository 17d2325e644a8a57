import { describe, expect, it } from 'vitest';
import type { VariableType } from '../../lambdas/core/connector-schema.ts';
import { variableSchema } from '../../lambdas/core/connector-schema.ts';
import { DefinitionError, ScError } from '../../lambdas/core/errors.ts';
import {
  createRowResolver,
  resolveRow,
  VARIABLE_ERROR_CODES,
  variableDefinitionIssues,
} from '../../lambdas/core/variables/index.ts';
import type { VariableDeclaration } from '../../lambdas/core/variables/index.ts';

const UTC = { timezone: 'UTC', defaultCountry: 'US' };
const NEW_YORK = { timezone: 'America/New_York', defaultCountry: 'US' };

function resolveOne(
  type: VariableType,
  raw: unknown,
  extra: Partial<VariableDeclaration> = {},
  options = UTC,
) {
  const variables: VariableDeclaration[] = [{ name: 'v', type, ...extra }];
  const resolved = resolveRow(variables, { v: raw }, 1, {}, options);
  return { value: resolved.values.v, errors: resolved.errors };
}

describe('resolving one value of each type', () => {
  it.each<[VariableType, unknown, unknown]>([
    ['string', '  hello  ', 'hello'],
    ['string', 'a  b', 'a  b'],
    ['string', 42, '42'],
    ['string', 1234.5, '1234.5'],
    ['string', 1e21, '1000000000000000000000'],
    ['string', true, 'true'],
    ['string', false, 'false'],
    ['string', { a: 1 }, '{"a":1}'],
    ['string', ['x', 1], '["x",1]'],
    ['number', '$16.99 USD', 16.99],
    ['number', '41 Apples', 41],
    ['number', '1,234.50', 1234.5],
    ['number', ' -5 ', -5],
    ['number', 'USD -3.5', -3.5],
    ['number', 12.5, 12.5],
    ['boolean', 'Yes', true],
    ['boolean', 'off', false],
    ['boolean', ' CHECKED ', true],
    ['boolean', 't', true],
    ['boolean', '0', false],
    ['boolean', 0, false],
    ['boolean', true, true],
    ['date', '2024-05-01', '2024-05-01'],
    ['date', '05/01/2024', '2024-05-01'],
    ['date', '13/01/2024', '2024-01-13'],
    ['date', '2024-05-01T10:30:00Z', '2024-05-01'],
    ['date', 45413, '2024-05-01'],
    ['date', '1714521600', '2024-05-01'],
    ['datetime', '2024-05-01T13:45', '2024-05-01T13:45:00.000Z'],
    ['datetime', '2024-05-01 13:45:00+02:00', '2024-05-01T11:45:00.000Z'],
    ['datetime', '05/01/2024 1:45 PM', '2024-05-01T13:45:00.000Z'],
    ['datetime', 1714571100, '2024-05-01T13:45:00.000Z'],
    ['datetime', '2024-05-01', '2024-05-01T00:00:00.000Z'],
    ['email', ' Ana@Example.COM ', 'Ana@example.com'],
    ['phone', '(415) 555-2671', '+14155552671'],
    ['phone', '+44 20 7946 0958', '+442079460958'],
  ])('%s reads %j as %j', (type, raw, expected) => {
    const { value, errors } = resolveOne(type, raw);
    expect(errors).toEqual([]);
    expect(value).toEqual(expected);
  });

  it.each<[VariableType, unknown, string, string]>([
    ['number', '$abc', 'INVALID_NUMBER', '"$abc" is not a number (variable v)'],
    ['number', '1.2.3', 'INVALID_NUMBER', '"1.2.3" is not a number (variable v)'],
    ['number', true, 'INVALID_NUMBER', 'true is not a number (variable v)'],
    ['number', ['1'], 'INVALID_NUMBER', '["1"] is not a number (variable v)'],
    [
      'boolean',
      'maybe',
      'INVALID_BOOLEAN',
      '"maybe" is not a boolean (true/false, yes/no, on/off, 1/0, t/f or checked/unchecked) (variable v)',
    ],
    [
      'boolean',
      2,
      'INVALID_BOOLEAN',
      '2 is not a boolean (true/false, yes/no, on/off, 1/0, t/f or checked/unchecked) (variable v)',
    ],
    ['date', '2024-02-30', 'INVALID_DATE', '"2024-02-30" is not a valid date (variable v)'],
    ['date', 'tomorrow', 'INVALID_DATE', '"tomorrow" is not a valid date (variable v)'],
    ['date', true, 'INVALID_DATE', 'true is not a valid date (variable v)'],
    [
      'datetime',
      '2024-05-01T25:00',
      'INVALID_DATETIME',
      '"2024-05-01T25:00" is not a valid datetime (variable v)',
    ],
    ['email', 'ana@', 'INVALID_EMAIL', '"ana@" is not a valid email address (variable v)'],
    ['email', 42, 'INVALID_EMAIL', '42 is not a valid email address (variable v)'],
    [
      'phone',
      '12345',
      'INVALID_PHONE',
      '"12345" is not a valid phone number (numbers without a country code are read as US) (variable v)',
    ],
  ])('%s rejects %j with %s', (type, raw, code, message) => {
    const { value, errors } = resolveOne(type, raw);
    expect(value).toBeNull();
    expect(errors).toEqual([{ code, message, variable: 'v' }]);
  });

  it('names the format in the message when there is one', () => {
    expect(resolveOne('date', '2024-05-01', { inputFormat: 'DD/MM/YYYY' }).errors[0]?.message).toBe(
      '"2024-05-01" is not a valid date in the format DD/MM/YYYY (variable v)',
    );
    expect(resolveOne('boolean', 'true', { inputFormat: 'yes_no' }).errors[0]?.message).toBe(
      '"true" is not yes/no (inputFormat yes_no) (variable v)',
    );
  });

  it('shortens a long value in the message', () => {
    const message = resolveOne('number', 'x'.repeat(500)).errors[0]?.message ?? '';
    expect(message.length).toBeLessThan(100);
    expect(message).toContain('…');
  });

  it('reads datetimes without an offset in the connector time zone', () => {
    expect(resolveOne('datetime', '2024-05-01 13:45', {}, NEW_YORK).value).toBe('2024-05-01T17:45:00.000Z');
    expect(resolveOne('datetime', '2024-05-01T13:45Z', {}, NEW_YORK).value).toBe('2024-05-01T13:45:00.000Z');
    expect(resolveOne('date', '2024-05-01 23:30', {}, NEW_YORK).value).toBe('2024-05-01');
  });

  it('reads phones without a country code in the default country', () => {
    expect(resolveOne('phone', '020 7946 0958', {}, { timezone: 'UTC', defaultCountry: 'GB' }).value).toBe(
      '+442079460958',
    );
    expect(resolveOne('phone', '020 7946 0958').errors[0]?.code).toBe('INVALID_PHONE');
  });

  it('honours the input format', () => {
    expect(resolveOne('date', '01/02/2024', { inputFormat: '%d/%m/%Y' }).value).toBe('2024-02-01');
    expect(resolveOne('date', '45413', { inputFormat: 'excel_epoch' }).value).toBe('2024-05-01');
    expect(resolveOne('datetime', '01/02/2024 10:00', { inputFormat: 'DD/MM/YYYY HH:mm' }).value).toBe(
      '2024-02-01T10:00:00.000Z',
    );
    expect(resolveOne('boolean', 'yes', { inputFormat: 'true_false' }).errors[0]?.code).toBe(
      'INVALID_BOOLEAN',
    );
    expect(resolveOne('boolean', '1', { inputFormat: 'one_zero' }).value).toBe(true);
  });
});

describe('blank and required values', () => {
  it.each<[VariableType, unknown]>([
    ['string', null],
    ['string', ''],
    ['string', '   '],
    ['string', '\t\n'],
    ['number', null],
    ['number', '  '],
    ['boolean', ''],
    ['date', ''],
    ['datetime', null],
    ['email', ' '],
    ['phone', undefined],
    ['string', []],
    ['number', []],
  ])('a blank %s (%j) is null without an error', (type, raw) => {
    expect(resolveOne(type, raw)).toEqual({ value: null, errors: [] });
  });

  it.each<[VariableType, unknown]>([
    ['string', null],
    ['string', '   '],
    ['number', ''],
    ['boolean', null],
    ['date', ''],
    ['datetime', ' '],
    ['email', null],
    ['phone', ''],
  ])('a blank required %s (%j) is REQUIRED_MISSING', (type, raw) => {
    expect(resolveOne(type, raw, { required: true })).toEqual({
      value: null,
      errors: [{ code: 'REQUIRED_MISSING', message: 'required value is blank (variable v)', variable: 'v' }],
    });
  });

  it('names the column when it differs from the variable', () => {
    const resolved = resolveRow(
      [{ name: 'sku', source: 'SKU', type: 'string', required: true }],
      { SKU: '' },
      3,
      {},
      UTC,
    );
    expect(resolved.errors[0]?.message).toBe('required value is blank (variable sku, column "SKU")');
  });

  it('a required value that does not parse has its parse error, not REQUIRED_MISSING', () => {
    expect(resolveOne('number', 'abc', { required: true }).errors.map((e) => e.code)).toEqual([
      'INVALID_NUMBER',
    ]);
  });

  it('a source column missing from the row is blank', () => {
    const variables: VariableDeclaration[] = [
      { name: 'optional', type: 'string' },
      { name: 'needed', source: 'Needed Col', type: 'number', required: true },
    ];
    const resolved = resolveRow(variables, { other: 'x' }, 1, {}, UTC);
    expect(resolved.values).toEqual({ optional: null, needed: null });
    expect(resolved.errors).toEqual([
      {
        code: 'REQUIRED_MISSING',
        message:
          'required value is missing: the SQL output has no column "Needed Col" (variable needed); check the variable\'s "source" and the SQL',
        variable: 'needed',
      },
    ]);
  });

  it('does not mistake inherited object properties for columns', () => {
    const resolved = resolveRow([{ name: 'constructor', type: 'string', required: true }], {}, 1, {}, UTC);
    expect(resolved.errors.map((e) => e.code)).toEqual(['REQUIRED_MISSING']);
  });
});

describe('resolveRow', () => {
  const variables: VariableDeclaration[] = [
    { name: 'sku', source: 'SKU', type: 'string', required: true },
    { name: 'price', type: 'number' },
    { name: 'active', type: 'boolean', required: true },
    { name: 'launched', source: 'launch_date', type: 'date' },
    { name: 'email', type: 'email' },
    { name: 'tags', type: 'string', array: { delimiter: '|' } },
    { name: 'source_system', type: 'string', value: 'vendor-feed' },
    { name: 'priority', type: 'number', value: '5' },
  ];

  it('gives every declared variable a value, and only those', () => {
    const row = {
      SKU: ' A-1 ',
      price: '$16.99',
      active: 'yes',
      launch_date: '05/01/2024',
      email: 'x@Y.com',
      tags: 'a|b',
      unrelated: 'ignored',
    };
    expect(resolveRow(variables, row, 7, {}, UTC)).toEqual({
      row: 7,
      values: {
        sku: 'A-1',
        price: 16.99,
        active: true,
        launched: '2024-05-01',
        email: 'x@y.com',
        tags: ['a', 'b'],
        source_system: 'vendor-feed',
        priority: 5,
      },
      errors: [],
    });
  });

  it('collects the errors of every variable, not just the first', () => {
    const row = {
      SKU: '',
      price: 'free',
      active: 'maybe',
      launch_date: '2024-02-30',
      email: 'nope',
      tags: '',
    };
    const resolved = resolveRow(variables, row, 2, {}, UTC);
    expect(resolved.errors.map((e) => [e.code, e.variable])).toEqual([
      ['REQUIRED_MISSING', 'sku'],
      ['INVALID_NUMBER', 'price'],
      ['INVALID_BOOLEAN', 'active'],
      ['INVALID_DATE', 'launched'],
      ['INVALID_EMAIL', 'email'],
    ]);
    expect(resolved.values).toMatchObject({
      sku: null,
      price: null,
      active: null,
      launched: null,
      email: null,
      tags: null,
    });
    expect(resolved.values.source_system).toBe('vendor-feed');
  });

  it('follows changed formats and options between calls with the same variables', () => {
    const dates: VariableDeclaration[] = [{ name: 'd', type: 'datetime' }];
    const formats: Record<string, 'MM/DD/YYYY' | 'DD/MM/YYYY'> = { d: 'MM/DD/YYYY' };
    const row = { d: '01/02/2024 10:00' };
    expect(resolveRow(dates, row, 1, formats, UTC).values.d).toBe('2024-01-02T10:00:00.000Z');
    formats.d = 'DD/MM/YYYY';
    expect(resolveRow(dates, row, 2, formats, UTC).values.d).toBe('2024-02-01T10:00:00.000Z');
    expect(resolveRow(dates, row, 3, { d: 'MM/DD/YYYY' }, UTC).values.d).toBe('2024-01-02T10:00:00.000Z');
    expect(resolveRow(dates, row, 4, { d: 'MM/DD/YYYY' }, NEW_YORK).values.d).toBe(
      '2024-01-02T15:00:00.000Z',
    );
  });

  it('accepts variables as parsed by the connector schema', () => {
    const parsed = [variableSchema.parse({ name: 'n', type: 'number', required: true })];
    expect(resolveRow(parsed, { n: '3' }, 1, {}, UTC).values).toEqual({ n: 3 });
  });

  it('resolves 200,000 rows quickly', () => {
    const resolve = createRowResolver(variables, { launched: 'MM/DD/YYYY' }, NEW_YORK);
    const started = performance.now();
    let valid = 0;
    for (let i = 1; i <= 200_000; i++) {
      const row = {
        SKU: `S${i}`,
        price: `$${i}.99`,
        active: i % 2 ? 'yes' : 'no',
        launch_date: '05/01/2024',
        email: `u${i}@x.com`,
        tags: 'a|b',
      };
      if (resolve(row, i).errors.length === 0) valid++;
    }
    expect(valid).toBe(200_000);
    expect(performance.now() - started).toBeLessThan(10_000);
  });
});

describe('static values', () => {
  it.each<[VariableType, string | number | boolean, unknown, Partial<VariableDeclaration>]>([
    ['string', '  fixed  ', 'fixed', {}],
    ['number', '$5.50', 5.5, {}],
    ['number', 7, 7, {}],
    ['boolean', 'yes', true, {}],
    ['boolean', false, false, {}],
    ['date', '01/02/2024', '2024-01-02', {}],
    ['date', '01/02/2024', '2024-02-01', { inputFormat: 'DD/MM/YYYY' }],
    ['datetime', '2024-05-01 09:00', '2024-05-01T13:00:00.000Z', {}],
    ['email', 'Ops@Example.com', 'Ops@example.com', {}],
    ['phone', '415-555-2671', '+14155552671', {}],
    ['string', 'a,b', ['a', 'b'], { array: { delimiter: ',' } }],
    ['string', '', null, {}],
  ])('a static %s %j is %j in every row', (type, value, expected, extra) => {
    const variables: VariableDeclaration[] = [{ name: 'v', type, value, ...extra }];
    const resolve = createRowResolver(variables, {}, NEW_YORK);
    expect(resolve({}, 1).values.v).toEqual(expected);
    expect(resolve({ v: 'a column of the same name is not read' }, 2).values.v).toEqual(expected);
  });

  it('gives each row its own copy of a static list', () => {
    const resolve = createRowResolver(
      [{ name: 'v', type: 'string', value: 'a,b', array: { delimiter: ',' } }],
      {},
      UTC,
    );
    const first = resolve({}, 1).values.v as string[];
    first.push('mutated');
    expect(resolve({}, 2).values.v).toEqual(['a', 'b']);
  });
});

describe('definition problems', () => {
  it('finds none in good declarations', () => {
    expect(
      variableDefinitionIssues([
        { name: 'a', type: 'string', array: { delimiter: ',' } },
        { name: 'b', type: 'number', array: { delimiter: '[]' } },
        { name: 'c', type: 'email', array: { delimiter: ';' } },
        { name: 'd', type: 'phone', array: { delimiter: '|' } },
        { name: 'e', type: 'date', inputFormat: '%d/%m/%Y', outputFormat: 'DD.MM.YYYY' },
        { name: 'f', type: 'datetime', inputFormat: 'ISO 8601' },
        { name: 'g', type: 'boolean', inputFormat: 'yes_no', outputFormat: 'On/Off' },
        { name: 'h', type: 'number', value: 3 },
      ]),
    ).toEqual([]);
  });

  it('finds each kind of problem, with its path', () => {
    const issues = variableDefinitionIssues([
      { name: 'a', type: 'string' },
      { name: 'a', type: 'number' },
      { name: 'b', type: 'boolean', array: { delimiter: ',' } },
      { name: 'c', type: 'date', array: { delimiter: ';' } },
      { name: 'd', type: 'datetime', array: { delimiter: '[]' } },
      { name: 'e', type: 'date', inputFormat: 'DD/MM/YY' },
      { name: 'f', type: 'boolean', inputFormat: 'y_n', outputFormat: '1/0' },
      { name: 'g', type: 'number', inputFormat: 'european' },
      { name: 'h', type: 'date', outputFormat: 'excel_serial' },
      { name: 'i', type: 'string', outputFormat: 'upper' },
      { name: 'j', type: 'number', value: 'abc' },
      { name: 'k', type: 'date', value: '2024-02-30' },
      { name: 'l', type: 'string', value: ' ', required: true },
    ]);
    expect(issues.map((i) => i.path)).toEqual([
      'variables[1].name',
      'variables[2].array',
      'variables[3].array',
      'variables[4].array',
      'variables[5].inputFormat',
      'variables[6].inputFormat',
      'variables[6].outputFormat',
      'variables[7].inputFormat',
      'variables[8].outputFormat',
      'variables[9].outputFormat',
      'variables[10].value',
      'variables[11].value',
      'variables[12].value',
    ]);
    expect(issues[0]?.message).toBe('the name "a" is already used by variables[0]; names must be unique');
    expect(issues[1]?.message).toBe('boolean variables cannot be arrays (variable b); remove "array"');
    expect(issues[4]?.message).toMatch(
      /^unknown date inputFormat "DD\/MM\/YY" \(variable e\); use one of YYYY-MM-DD, MM\/DD\/YYYY/,
    );
    expect(issues[7]?.message).toBe(
      'unknown number inputFormat "european" (variable g); number variables take no inputFormat',
    );
    expect(issues[10]?.message).toBe('the static value "abc" is not a number (variable j)');
    expect(issues[12]?.message).toBe('the static value of required variable l is blank');
  });

  it('resolution refuses declarations with problems', () => {
    expect(() =>
      resolveRow([{ name: 'b', type: 'boolean', array: { delimiter: ',' } }], {}, 1, {}, UTC),
    ).toThrow(DefinitionError);
  });

  it.each([
    [{ timezone: 'Mars/Base', defaultCountry: 'US' }, 'INVALID_TIMEZONE'],
    [{ timezone: 'UTC', defaultCountry: 'XX' }, 'INVALID_DEFAULT_COUNTRY'],
  ])('resolution refuses unknown settings %j', (options, code) => {
    let error: unknown;
    try {
      createRowResolver([{ name: 'v', type: 'string' }], {}, options);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ScError);
    expect((error as ScError).code).toBe(code);
  });
});

describe('error codes', () => {
  it('are stable', () => {
    expect(VARIABLE_ERROR_CODES).toEqual([
      'REQUIRED_MISSING',
      'INVALID_NUMBER',
      'INVALID_BOOLEAN',
      'INVALID_DATE',
      'INVALID_DATETIME',
      'INVALID_EMAIL',
      'INVALID_PHONE',
    ]);
  });
});
