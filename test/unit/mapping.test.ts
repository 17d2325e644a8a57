import { describe, expect, it } from 'vitest';
import {
  mappingRuleSchema,
  type ConflictPolicy,
  type MappingRule,
} from '../../lambdas/core/connector-schema.ts';
import { DefinitionError } from '../../lambdas/core/errors.ts';
import {
  applyConflictPolicy,
  planWrite,
  rowLookups,
  sameFieldValue,
  type PlanWriteInput,
  type VariableInfo,
} from '../../lambdas/core/mapping.ts';
import type { FieldValue, ScalarValue, StoredRecord, VariableValue } from '../../lambdas/core/model.ts';
import {
  parseObjectDefinition,
  type FieldType,
  type ObjectDefinition,
} from '../../lambdas/core/object-schema.ts';

const products = parseObjectDefinition({
  apiName: 'products',
  name: 'Products',
  fields: [
    { name: 'name', type: 'text' },
    { name: 'sku', type: 'text' },
    { name: 'price', type: 'money' },
    { name: 'qty', type: 'integer' },
    { name: 'colour', type: 'dropdown', options: ['Red', 'Green', 'Blue'] },
    { name: 'tags', type: 'checkboxes', options: ['New', 'Sale', 'Clearance'] },
    { name: 'vendor', type: 'relationship', relatedObject: 'vendors' },
    { name: 'maker', type: 'relationship', relatedObject: 'vendors', required: true },
    { name: 'updated', type: 'datetime' },
    { name: 'notes', type: 'longtext' },
  ],
});
const vendors = parseObjectDefinition({
  apiName: 'vendors',
  name: 'Vendors',
  fields: [
    { name: 'name', type: 'text' },
    { name: 'code', type: 'text' },
    { name: 'phone', type: 'phone' },
  ],
});
const objects = new Map<string, ObjectDefinition>([
  ['products', products],
  ['vendors', vendors],
]);

const variables: Record<string, VariableInfo> = {
  name: { type: 'string' },
  first: { type: 'string' },
  last: { type: 'string' },
  sku: { type: 'string' },
  price: { type: 'number' },
  qty: { type: 'number' },
  colour: { type: 'string' },
  tags: { type: 'string', array: true },
  vendor_id: { type: 'uuid' },
  maker_id: { type: 'uuid' },
  vendor_code: { type: 'string' },
  vendor_phone: { type: 'phone' },
  updated: { type: 'datetime' },
  flag: { type: 'boolean' },
};

function rule(field: string, vars: string | string[], extra: Record<string, unknown> = {}): MappingRule {
  return mappingRuleSchema.parse({
    field,
    ...(Array.isArray(vars) ? { variables: vars } : { variable: vars }),
    ...extra,
  });
}

function stored(fields: Record<string, FieldValue>): StoredRecord {
  return {
    id: 'rec-1',
    object: 'products',
    archived: false,
    createdAt: '2024-01-01T00:00:00.000Z',
    updatedAt: '2024-01-01T00:00:00.000Z',
    fields: { name: 'Widget', maker: 'v-0', ...fields },
  };
}

/** Formats booleans as Yes/No, everything else as text. */
const format = (value: ScalarValue) => (typeof value === 'boolean' ? (value ? 'Yes' : 'No') : String(value));

/** Vendor look-ups: codes "acme" (one record), "dup" (two); phone +14155550100 (one). */
const vendorIndex: Record<string, string[]> = { acme: ['v-1'], dup: ['v-2', 'v-3'], '+14155550100': ['v-4'] };

function plan(input: Partial<PlanWriteInput> & { mapping: MappingRule[] }) {
  const lookups: [number, string][] = [];
  const result = planWrite({
    object: products,
    objects,
    variables,
    existing: null,
    format: (value) => format(value),
    resolveLookup: (ruleIndex, key) => {
      lookups.push([ruleIndex, key]);
      return vendorIndex[key] ?? [];
    },
    ...input,
    mapping: [rule('name', 'name'), rule('maker', 'maker_id'), ...input.mapping],
    values: { name: 'Widget', maker_id: 'v-0', ...input.values },
  });
  return { ...result, lookups };
}

describe('planWrite: conflict policies', () => {
  const NEW = 'NEW-1';
  const OLD = 'OLD-1';
  const policies: ConflictPolicy[] = [
    'overwrite',
    'overwrite_except_null',
    'only_update_blank',
    'only_add_options',
  ];

  // [policy, stored, incoming, fields written on update]. only_add_options on a text field acts like only_update_blank.
  const textCases: [ConflictPolicy, string | null, string | null, Record<string, FieldValue | null>][] = [
    ['overwrite', OLD, NEW, { sku: NEW }],
    ['overwrite', OLD, null, { sku: null }],
    ['overwrite', null, NEW, { sku: NEW }],
    ['overwrite', null, null, {}],
    ['overwrite_except_null', OLD, NEW, { sku: NEW }],
    ['overwrite_except_null', OLD, null, {}],
    ['overwrite_except_null', null, NEW, { sku: NEW }],
    ['overwrite_except_null', null, null, {}],
    ['only_update_blank', OLD, NEW, {}],
    ['only_update_blank', OLD, null, {}],
    ['only_update_blank', null, NEW, { sku: NEW }],
    ['only_update_blank', null, null, {}],
    ['only_add_options', OLD, NEW, {}],
    ['only_add_options', OLD, null, {}],
    ['only_add_options', null, NEW, { sku: NEW }],
    ['only_add_options', null, null, {}],
  ];
  it.each(textCases)(
    'text, %s: stored %j, incoming %j → update writes %j',
    (conflict, old, incoming, written) => {
      const result = plan({
        mapping: [rule('sku', 'sku', { conflict })],
        values: { sku: incoming },
        existing: stored(old === null ? {} : { sku: old }),
      });
      expect(result.errors).toEqual([]);
      expect(result.fields).toEqual(written);
      expect(result.changed).toBe(Object.keys(written).length > 0);
    },
  );

  const SALE = ['Sale'];
  const INCOMING = ['new', 'SALE'];
  const tagCases: [ConflictPolicy, string[] | null, string[] | null, Record<string, FieldValue | null>][] = [
    ['overwrite', SALE, INCOMING, { tags: ['New', 'Sale'] }],
    ['overwrite', SALE, null, { tags: null }],
    ['overwrite', null, INCOMING, { tags: ['New', 'Sale'] }],
    ['overwrite', null, null, {}],
    ['overwrite_except_null', SALE, INCOMING, { tags: ['New', 'Sale'] }],
    ['overwrite_except_null', SALE, null, {}],
    ['overwrite_except_null', null, INCOMING, { tags: ['New', 'Sale'] }],
    ['only_update_blank', SALE, INCOMING, {}],
    ['only_update_blank', null, INCOMING, { tags: ['New', 'Sale'] }],
    ['only_add_options', SALE, INCOMING, { tags: ['Sale', 'New'] }],
    ['only_add_options', SALE, null, {}],
    ['only_add_options', null, INCOMING, { tags: ['New', 'Sale'] }],
    ['only_add_options', null, null, {}],
    ['only_add_options', ['Sale', 'New'], ['new'], {}],
    ['only_add_options', [], INCOMING, { tags: ['New', 'Sale'] }],
  ];
  it.each(tagCases)(
    'checkboxes, %s: stored %j, incoming %j → update writes %j',
    (conflict, old, incoming, written) => {
      const result = plan({
        mapping: [rule('tags', 'tags', { conflict })],
        values: { tags: incoming },
        existing: stored(old === null ? {} : { tags: old }),
      });
      expect(result.fields).toEqual(written);
    },
  );

  it.each(policies.flatMap((p) => [[p, NEW] as const, [p, null] as const]))(
    'create under %s with incoming %j writes every non-blank value',
    (conflict, incoming) => {
      const result = plan({ mapping: [rule('sku', 'sku', { conflict })], values: { sku: incoming } });
      expect(result.fields).toEqual({
        name: 'Widget',
        maker: 'v-0',
        ...(incoming === null ? {} : { sku: incoming }),
      });
      expect(result.changed).toBe(true);
    },
  );

  it.each<[string, FieldType, string, VariableValue, FieldValue]>([
    ['numbers numerically', 'money', 'price', 16.5, 16.5],
    ['numbers numerically, stored as text', 'money', 'price', 16.5, '16.50'],
    ['datetimes as instants', 'datetime', 'updated', '2024-05-01T13:45:00Z', '2024-05-01T15:45:00+02:00'],
    ['checkboxes as sets', 'checkboxes', 'tags', ['sale', 'new'], ['New', 'Sale']],
  ])('an update that writes the stored value again is unchanged: %s', (_, _type, name, incoming, old) => {
    const result = plan({
      mapping: [rule(name, name, { conflict: 'overwrite' })],
      values: { [name]: incoming },
      existing: stored({ [name]: old }),
    });
    expect(result).toMatchObject({ fields: {}, changed: false, errors: [] });
  });

  it('text compares exactly: a change of case is a change', () => {
    const result = plan({
      mapping: [rule('sku', 'sku', { conflict: 'overwrite' })],
      values: { sku: 'ACME' },
      existing: stored({ sku: 'acme' }),
    });
    expect(result).toMatchObject({ fields: { sku: 'ACME' }, changed: true });
  });
});

describe('planWrite: values', () => {
  it.each<[string, VariableValue, VariableValue, string | undefined]>([
    ['both', 'Ann', 'Lee', 'Ann Lee'],
    ['blank first', '  ', 'Lee', 'Lee'],
    ['null last', 'Ann', null, 'Ann'],
    ['both blank', null, '', undefined],
  ])('joins several variables with a space, skipping blanks (%s)', (_, first, last, expected) => {
    const result = plan({ mapping: [rule('notes', ['first', 'last'])], values: { first, last } });
    expect(result.fields.notes).toBe(expected);
  });

  it('formats joined values', () => {
    const result = plan({
      mapping: [rule('notes', ['sku', 'price', 'flag', 'tags'])],
      values: { sku: 'A1', price: 16.5, flag: true, tags: ['x', 'y'] },
    });
    expect(result.fields.notes).toBe('A1 16.5 Yes x, y');
  });

  it('passes the variable name to the formatter', () => {
    const seen: string[] = [];
    plan({
      mapping: [rule('notes', ['first', 'last'])],
      values: { first: 'Ann', last: 'Lee' },
      format: (value, variable) => {
        seen.push(variable);
        return String(value);
      },
    });
    expect(seen).toEqual(['name', 'first', 'last']);
  });

  it('joins several variables into text fields only', () => {
    const result = plan({ mapping: [rule('price', ['price', 'qty'])], values: { price: 1, qty: 2 } });
    expect(result.errors).toEqual([
      {
        code: 'TYPE_MISMATCH',
        message: 'several variables can only be joined into a text field; "price" is money',
        field: 'price',
      },
    ]);
  });

  it('fails a fraction in an integer field, naming the variable and field', () => {
    const result = plan({ mapping: [rule('qty', 'qty')], values: { qty: 2.5 } });
    expect(result).toMatchObject({ fields: {}, changed: false, newOptions: [] });
    expect(result.errors).toEqual([
      {
        code: 'INVALID_INTEGER',
        message: 'field "qty" takes whole numbers, not 2.5',
        field: 'qty',
        variable: 'qty',
      },
    ]);
  });

  it('finds fields by label too', () => {
    const result = plan({ mapping: [rule('SKU', 'sku')], values: { sku: 'A1' } });
    expect(result.fields.sku).toBe('A1');
  });

  it('reports every error of the row', () => {
    const result = plan({
      mapping: [rule('qty', 'qty'), rule('colour', 'colour')],
      values: { qty: 1.5, colour: 'Teal' },
    });
    expect(result.errors.map((e) => e.code)).toEqual(['INVALID_INTEGER', 'UNKNOWN_OPTION']);
  });

  it('throws a definition error for an unknown field or variable', () => {
    expect(() => plan({ mapping: [rule('nope', 'sku')] })).toThrow(DefinitionError);
    expect(() => plan({ mapping: [rule('sku', 'nope')] })).toThrow(DefinitionError);
  });
});

describe('planWrite: options', () => {
  it('matches option labels case-insensitively and stores the canonical label', () => {
    expect(plan({ mapping: [rule('colour', 'colour')], values: { colour: 'rED' } }).fields.colour).toBe(
      'Red',
    );
  });

  it('fails an unknown label without createOptions', () => {
    const result = plan({ mapping: [rule('colour', 'colour')], values: { colour: 'Teal' } });
    expect(result.errors).toEqual([
      {
        code: 'UNKNOWN_OPTION',
        message:
          '"Teal" is not an option of field "colour" (options: Red, Green, Blue); add it to the object or set "createOptions": true on the mapping rule',
        field: 'colour',
        variable: 'colour',
      },
    ]);
    expect(result.fields).toEqual({});
  });

  it('adds an unknown label with createOptions, with a warning', () => {
    const result = plan({
      mapping: [rule('colour', 'colour', { createOptions: true })],
      values: { colour: 'Teal' },
    });
    expect(result.fields.colour).toBe('Teal');
    expect(result.newOptions).toEqual([{ field: 'colour', label: 'Teal' }]);
    expect(result.warnings).toEqual([
      {
        code: 'OPTION_CREATED',
        message: 'added option "Teal" to field "colour" (createOptions)',
        field: 'colour',
      },
    ]);
  });

  it('adds new checkbox labels in the union of only_add_options', () => {
    const result = plan({
      mapping: [rule('tags', 'tags', { conflict: 'only_add_options', createOptions: true })],
      values: { tags: ['Hot', 'sale'] },
      existing: stored({ tags: ['Sale'] }),
    });
    expect(result.fields.tags).toEqual(['Sale', 'Hot']);
    expect(result.newOptions).toEqual([{ field: 'tags', label: 'Hot' }]);
  });

  it('adds no option when the value is not written', () => {
    const result = plan({
      mapping: [rule('colour', 'colour', { createOptions: true })],
      values: { colour: 'Teal' },
      existing: stored({ colour: 'Red' }),
    });
    expect(result).toMatchObject({ fields: {}, newOptions: [], warnings: [] });
  });

  it('adds no option when the row fails', () => {
    const result = plan({
      mapping: [rule('colour', 'colour', { createOptions: true }), rule('qty', 'qty')],
      values: { colour: 'Teal', qty: 0.5 },
    });
    expect(result).toMatchObject({ fields: {}, newOptions: [], warnings: [] });
  });
});

describe('planWrite: required fields', () => {
  it('fails a create without the required name mapped', () => {
    const result = planWrite({
      object: products,
      objects,
      variables,
      mapping: [rule('sku', 'sku'), rule('maker', 'maker_id')],
      values: { sku: 'A1', maker_id: 'v-0' },
      existing: null,
      format,
      resolveLookup: () => [],
    });
    expect(result.errors).toEqual([
      {
        code: 'REQUIRED_FIELD_MISSING',
        message: 'required field "name" is not mapped, so the record cannot be created; map a variable to it',
        field: 'name',
      },
    ]);
  });

  it('fails a create whose required value is blank', () => {
    const result = plan({ mapping: [], values: { name: '  ' } });
    expect(result.errors).toEqual([
      {
        code: 'REQUIRED_FIELD_MISSING',
        message: 'required field "name" is blank (variable "name"), so the record cannot be created',
        field: 'name',
      },
    ]);
  });

  it.each<[ConflictPolicy, boolean]>([
    ['overwrite', true],
    ['overwrite_except_null', false],
    ['only_update_blank', false],
  ])('an update under %s that would clear a required field fails: %s', (conflict, fails) => {
    const result = planWrite({
      object: products,
      objects,
      variables,
      mapping: [rule('name', 'name', { conflict })],
      values: { name: null },
      existing: stored({}),
      format,
      resolveLookup: () => [],
    });
    expect(result.errors).toEqual(
      fails
        ? [
            {
              code: 'REQUIRED_FIELD_MISSING',
              message: 'required field "name" would be cleared by a blank value (conflict: overwrite)',
              field: 'name',
            },
          ]
        : [],
    );
  });

  it('an update need not map required fields', () => {
    const result = planWrite({
      object: products,
      objects,
      variables,
      mapping: [rule('sku', 'sku', { conflict: 'overwrite' })],
      values: { sku: 'B2' },
      existing: stored({}),
      format,
      resolveLookup: () => [],
    });
    expect(result).toMatchObject({ fields: { sku: 'B2' }, errors: [] });
  });
});

describe('planWrite: relationships', () => {
  it('writes a record variable', () => {
    const result = plan({ mapping: [rule('vendor', 'vendor_id')], values: { vendor_id: 'v-9' } });
    expect(result).toMatchObject({ fields: { vendor: 'v-9' }, warnings: [] });
  });

  it('warns when a record variable is blank, and never clears the field', () => {
    const result = plan({
      mapping: [rule('vendor', 'vendor_id', { conflict: 'overwrite' })],
      values: { vendor_id: null },
      existing: stored({ vendor: 'v-1' }),
    });
    expect(result.fields).toEqual({});
    expect(result.warnings).toEqual([
      {
        code: 'RELATED_RECORD_NOT_FOUND',
        message: 'record variable "vendor_id" is blank (its step matched or created no record for this row)',
        variable: 'vendor_id',
        field: 'vendor',
      },
    ]);
  });

  it.each<[string, string, VariableValue, FieldValue | undefined, string | null, [number, string][]]>([
    ['found by code, case-insensitively', 'code', ' ACME ', 'v-1', null, [[2, 'acme']]],
    ['found by phone', 'phone', '+14155550100', 'v-4', null, [[2, '+14155550100']]],
    ['not found', 'code', 'nobody', undefined, 'RELATED_RECORD_NOT_FOUND', [[2, 'nobody']]],
    ['ambiguous', 'code', 'dup', undefined, 'RELATED_RECORD_AMBIGUOUS', [[2, 'dup']]],
    ['blank value: no look-up, no warning', 'code', null, undefined, null, []],
  ])('looks up the related record: %s', (_, lookupField, value, written, warning, lookups) => {
    const variable = lookupField === 'phone' ? 'vendor_phone' : 'vendor_code';
    const result = plan({
      mapping: [rule('vendor', variable, { lookup: { field: lookupField } })],
      values: { [variable]: value },
    });
    expect(result.errors).toEqual([]);
    expect(result.fields.vendor).toBe(written);
    expect(result.warnings.map((w) => w.code)).toEqual(warning === null ? [] : [warning]);
    expect(result.lookups).toEqual(lookups);
  });

  it('explains a missing and an ambiguous related record', () => {
    const missing = plan({
      mapping: [rule('vendor', 'vendor_code', { lookup: { field: 'code' } })],
      values: { vendor_code: 'nobody' },
    });
    expect(missing.warnings[0]).toEqual({
      code: 'RELATED_RECORD_NOT_FOUND',
      message: 'no vendors record has code = "nobody"',
      variable: 'vendor_code',
      field: 'vendor',
    });
    const ambiguous = plan({
      mapping: [rule('vendor', 'vendor_code', { lookup: { field: 'code' } })],
      values: { vendor_code: 'dup' },
    });
    expect(ambiguous.warnings[0]?.message).toBe(
      '2 vendors records have code = "dup" (v-2, v-3); pick a lookup field with unique values',
    );
  });

  it('leaves a stored relationship alone when the look-up fails, even under overwrite', () => {
    const result = plan({
      mapping: [rule('vendor', 'vendor_code', { lookup: { field: 'code' }, conflict: 'overwrite' })],
      values: { vendor_code: 'nobody' },
      existing: stored({ vendor: 'v-1' }),
    });
    expect(result.fields).toEqual({});
  });

  it('clears a stored relationship under overwrite when the look-up value is blank', () => {
    const result = plan({
      mapping: [rule('vendor', 'vendor_code', { lookup: { field: 'code' }, conflict: 'overwrite' })],
      values: { vendor_code: null },
      existing: stored({ vendor: 'v-1' }),
    });
    expect(result.fields).toEqual({ vendor: null });
  });

  it.each<[string, VariableValue, string]>([
    ['not found', 'nobody', 'required field "maker" has no value: no vendors record has code = "nobody"'],
    [
      'ambiguous',
      'dup',
      'required field "maker" has no value: 2 vendors records have code = "dup" (v-2, v-3); pick a lookup field with unique values',
    ],
  ])('fails a create when a required relationship is %s', (_, code, message) => {
    const result = planWrite({
      object: products,
      objects,
      variables,
      mapping: [rule('name', 'name'), rule('maker', 'vendor_code', { lookup: { field: 'code' } })],
      values: { name: 'Widget', vendor_code: code },
      existing: null,
      format,
      resolveLookup: (_rule, key) => vendorIndex[key] ?? [],
    });
    expect(result.errors).toEqual([{ code: 'REQUIRED_FIELD_MISSING', message, field: 'maker' }]);
    expect(result.warnings).toEqual([]);
  });

  it('fails a create when a required relationship comes from a blank record variable', () => {
    const result = plan({ mapping: [], values: { maker_id: null } });
    expect(result.errors).toEqual([
      {
        code: 'REQUIRED_FIELD_MISSING',
        message:
          'required field "maker" has no value: record variable "maker_id" is blank (its step matched or created no record for this row)',
        field: 'maker',
      },
    ]);
  });

  it('only warns about a required relationship on update', () => {
    const result = planWrite({
      object: products,
      objects,
      variables,
      mapping: [rule('maker', 'vendor_code', { lookup: { field: 'code' }, conflict: 'overwrite' })],
      values: { vendor_code: 'nobody' },
      existing: stored({}),
      format,
      resolveLookup: () => [],
    });
    expect(result.errors).toEqual([]);
    expect(result.warnings.map((w) => w.code)).toEqual(['RELATED_RECORD_NOT_FOUND']);
  });
});

describe('rowLookups', () => {
  it('lists the look-ups of a row with keys normalised like the related field', () => {
    const context = {
      object: products,
      objects,
      variables,
      format,
      mapping: [
        rule('sku', 'sku'),
        rule('vendor', 'vendor_code', { lookup: { field: 'code' } }),
        rule('maker', 'vendor_phone', { lookup: { field: 'Phone' } }),
      ],
    };
    expect(rowLookups(context, { vendor_code: ' Acme ', vendor_phone: null })).toEqual([
      { rule: 1, object: 'vendors', field: 'code', key: 'acme' },
      { rule: 2, object: 'vendors', field: 'phone', key: null },
    ]);
  });

  it('throws a definition error when the related field does not exist', () => {
    const context = {
      object: products,
      objects,
      variables,
      format,
      mapping: [rule('vendor', 'vendor_code', { lookup: { field: 'nope' } })],
    };
    expect(() => rowLookups(context, {})).toThrow(DefinitionError);
  });
});

describe('applyConflictPolicy', () => {
  it.each<[ConflictPolicy, FieldValue | null, FieldValue | null, FieldValue | null]>([
    ['overwrite', 'a', 'b', 'b'],
    ['overwrite', 'a', null, null],
    ['overwrite_except_null', 'a', null, 'a'],
    ['overwrite_except_null', '', null, null],
    ['only_update_blank', '', 'b', 'b'],
    ['only_update_blank', [], ['b'], ['b']],
    ['only_update_blank', 0, 5, 0],
    ['only_update_blank', false, true, false],
    ['only_add_options', ['A', 'B'], ['b', 'C'], ['A', 'B', 'C']],
    ['only_add_options', null, ['C'], ['C']],
    ['only_add_options', 'x', 'y', 'x'],
  ])('%s: stored %j, incoming %j → %j', (policy, old, incoming, expected) => {
    expect(applyConflictPolicy(policy, old, incoming)).toEqual(expected);
  });
});

describe('sameFieldValue', () => {
  it.each<[FieldType, FieldValue | null, FieldValue | null, boolean]>([
    ['text', null, '', true],
    ['checkboxes', [], null, true],
    ['text', 'a', null, false],
    ['text', 'a', 'A', false],
    ['integer', 3, '3', true],
    ['decimal', 0.1, 0.10000001, false],
    ['datetime', '2024-05-01T13:45:00Z', '2024-05-01T13:45:00.000Z', true],
    ['date', '2024-05-01', '2024-05-02', false],
    ['checkboxes', ['A', 'B'], ['B', 'A'], true],
    ['checkboxes', ['A'], ['A', 'B'], false],
    ['relationship', 'ABC', 'abc', true],
    ['checkbox', false, true, false],
    ['checkbox', false, false, true],
  ])('%s: %j vs %j → %s', (type, a, b, same) => {
    expect(sameFieldValue(type, a, b)).toBe(same);
  });
});
