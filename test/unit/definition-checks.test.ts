import { describe, expect, it } from 'vitest';
import {
  connectorDefinitionSchema,
  type ConnectorDefinition,
  type ConnectorDefinitionInput,
} from '../../lambdas/core/connector-schema.ts';
import { activationIssues, checkConnector } from '../../lambdas/core/definition-checks.ts';
import type { DefinitionIssue } from '../../lambdas/core/errors.ts';
import { parseObjectDefinition, type ObjectDefinition } from '../../lambdas/core/object-schema.ts';

const vendors = parseObjectDefinition({
  apiName: 'vendors',
  name: 'Vendors',
  fields: [
    { name: 'name', type: 'text' },
    { name: 'code', type: 'text' },
    { name: 'phone', type: 'phone' },
  ],
});
const products = parseObjectDefinition({
  apiName: 'products',
  name: 'Products',
  fields: [
    { name: 'name', type: 'text' },
    { name: 'sku', type: 'text', required: true },
    { name: 'price', type: 'money' },
    { name: 'qty', type: 'integer' },
    { name: 'colour', type: 'dropdown', options: ['Red', 'Green'] },
    { name: 'tags', type: 'checkboxes', options: ['New', 'Sale'] },
    { name: 'vendor', type: 'relationship', relatedObject: 'vendors' },
    { name: 'parent', type: 'relationship', relatedObject: 'products' },
    { name: 'owner', type: 'relationship', relatedObject: 'people' },
    { name: 'launched', type: 'datetime' },
    { name: 'active', type: 'checkbox' },
    { name: 'notes', type: 'longtext' },
  ],
});
const objects = new Map<string, ObjectDefinition>([
  ['vendors', vendors],
  ['products', products],
]);

type Step = NonNullable<ConnectorDefinitionInput['loadSteps']>[number];
type Variable = NonNullable<ConnectorDefinitionInput['variables']>[number];

/** A sound two-step connector: vendors, then products linked to them. */
function base(): ConnectorDefinitionInput & { variables: Variable[]; loadSteps: Step[] } {
  return {
    name: 'Catalog',
    variables: [
      { name: 'vendor_name', type: 'string' },
      { name: 'vendor_code', type: 'string' },
      { name: 'vendor_phone', type: 'phone' },
      { name: 'name', type: 'string' },
      { name: 'sku', type: 'string' },
      { name: 'price', type: 'number' },
      { name: 'qty', type: 'number' },
      { name: 'colour', type: 'string' },
      { name: 'tags', type: 'string', array: { delimiter: ',' } },
      { name: 'launched', type: 'date' },
      { name: 'active', type: 'boolean' },
      { name: 'first', type: 'string' },
      { name: 'last', type: 'string' },
    ],
    loadSteps: [
      {
        name: 'Vendors',
        object: 'vendors',
        matching: [{ field: 'code', variable: 'vendor_code' }],
        mapping: [
          { field: 'name', variable: 'vendor_name' },
          { field: 'code', variable: 'vendor_code' },
          { field: 'phone', variable: 'vendor_phone' },
        ],
        recordVariable: 'vendor_id',
      },
      {
        name: 'Products',
        object: 'products',
        matching: [
          { field: 'SKU', variable: 'sku', onSingleMatch: 'next_rule', onMultipleMatches: 'next_rule' },
          { field: 'vendor', variable: 'vendor_id' },
        ],
        mapping: [
          { field: 'name', variable: 'name' },
          { field: 'sku', variable: 'sku' },
          { field: 'price', variable: 'price' },
          { field: 'qty', variable: 'qty' },
          { field: 'colour', variable: 'colour', createOptions: true },
          { field: 'tags', variable: 'tags', conflict: 'only_add_options' },
          { field: 'vendor', variable: 'vendor_id' },
          { field: 'launched', variable: 'launched' },
          { field: 'active', variable: 'active' },
          { field: 'notes', variables: ['first', 'last', 'price', 'tags'] },
        ],
        recordVariable: 'product_id',
      },
    ],
  };
}

function definition(input: ConnectorDefinitionInput): ConnectorDefinition {
  const parsed = connectorDefinitionSchema.parse(input);
  const sql = parsed.sql === undefined ? null : 'script' in parsed.sql ? parsed.sql.script : 'SELECT 1';
  return { ...parsed, apiName: 'catalog', sql };
}

function issuesOf(mutate: (d: ReturnType<typeof base>) => void): DefinitionIssue[] {
  const input = base();
  mutate(input);
  return checkConnector(definition(input), objects);
}

const products_ = (d: ReturnType<typeof base>) => d.loadSteps[1]!;
const mappingOf = (d: ReturnType<typeof base>, i: number) => products_(d).mapping![i]!;

describe('checkConnector', () => {
  it('finds nothing wrong with a sound connector', () => {
    expect(issuesOf(() => {})).toEqual([]);
  });

  it.each<[string, (d: ReturnType<typeof base>) => void, DefinitionIssue[]]>([
    [
      'a webhook connector without SQL',
      (d) => (d.type = 'webhook'),
      [
        {
          path: 'sql',
          message:
            'a webhook connector needs SQL to turn its input into rows; add "sql": { "file": "connector.sql" }',
        },
      ],
    ],
    [
      'an invalid cadence',
      (d) => (d.settings = { cadence: 'every 5 minutes' }),
      [
        {
          path: 'settings.cadence',
          message:
            '"every 5 minutes" is not an EventBridge schedule; write "rate(5 minutes)" or "cron(0 6 * * ? *)"',
        },
      ],
    ],
    [
      'an unknown time zone',
      (d) => (d.settings = { timezone: 'Mars/Olympus' }),
      [
        {
          path: 'settings.timezone',
          message: 'unknown time zone "Mars/Olympus"; use an IANA name such as "UTC" or "Europe/Paris"',
        },
      ],
    ],
    [
      'an unknown default country',
      (d) => (d.settings = { defaultCountry: 'XX' }),
      [
        {
          path: 'settings.defaultCountry',
          message: 'unknown country "XX"; use a two-letter ISO code such as "US"',
        },
      ],
    ],
    [
      'reference data of an unknown object',
      (d) => (d.referenceData = [{ object: 'people', fields: [] }]),
      [
        {
          path: 'referenceData[0].object',
          message: 'unknown object "people"; known objects: products, vendors',
        },
      ],
    ],
    [
      'reference data with an unknown field',
      (d) => (d.referenceData = [{ object: 'vendors', fields: ['code', 'colour'] }]),
      [
        {
          path: 'referenceData[0].fields[1]',
          message: 'unknown field "colour" on object vendors; known fields: name, code, phone',
        },
      ],
    ],
    [
      'a scope on a connector without SQL',
      (d) => (d.variables[0]!.scope = 'orders'),
      [
        {
          path: 'variables[0].scope',
          message:
            'this connector has no SQL, so its only scope is "default"; remove "scope" or add SQL that creates output.orders',
        },
      ],
    ],
    [
      'an absent scope when the SQL names several',
      (d) => {
        d.sql = { script: 'CREATE TABLE output.a …' };
        d.variables = [
          { name: 'a', type: 'string', scope: 'a' },
          { name: 'b', type: 'string', scope: 'b' },
          { name: 'c', type: 'string' },
        ];
        d.loadSteps = [];
      },
      [
        {
          path: 'variables[2].scope',
          message: 'variable "c" needs a "scope": the definition names several (a, b)',
        },
      ],
    ],
    [
      'a duplicate variable name',
      (d) => d.variables.push({ name: 'sku', type: 'number' }),
      [{ path: 'variables[13].name', message: 'duplicate variable name "sku"; variables[4] already has it' }],
    ],
    [
      'an unknown date inputFormat',
      (d) => (d.variables[9]!.inputFormat = 'DD//MM'),
      [
        {
          path: 'variables[9].inputFormat',
          message: expect.stringContaining('unknown date inputFormat "DD//MM"'),
        },
      ],
    ],
    [
      'a static value that does not parse',
      (d) => d.variables.push({ name: 'when', type: 'date', value: 'someday' }),
      [{ path: 'variables[13].value', message: expect.stringContaining('someday') }],
    ],
    [
      'a boolean list',
      (d) => (d.variables[10]!.array = { delimiter: ';' }),
      [
        {
          path: 'variables[10].array',
          message: 'boolean variables cannot be lists; remove "array" or use type string',
        },
        {
          path: 'loadSteps[1].mapping[8].variable',
          message:
            'variable "active" does not fit field "active": a checkbox field takes a single value, not a list (the variable has "array")',
        },
      ],
    ],
    [
      'a record variable named like a variable',
      (d) => (products_(d).recordVariable = 'sku'),
      [
        {
          path: 'loadSteps[1].recordVariable',
          message: 'record variable "sku" has the name of variables[4]; pick another name',
        },
      ],
    ],
    [
      'a record variable set twice',
      (d) => (products_(d).recordVariable = 'vendor_id'),
      [
        {
          path: 'loadSteps[1].recordVariable',
          message: 'record variable "vendor_id" is already set by loadSteps[0]; pick another name',
        },
      ],
    ],
    [
      'an unknown object',
      (d) => (d.loadSteps[0]!.object = 'vendor'),
      [{ path: 'loadSteps[0].object', message: 'unknown object "vendor"; known objects: products, vendors' }],
    ],
    [
      'an unknown matching field',
      (d) => (d.loadSteps[0]!.matching![0]!.field = 'colour'),
      [
        {
          path: 'loadSteps[0].matching[0].field',
          message: 'unknown field "colour" on object vendors; known fields: name, code, phone',
        },
      ],
    ],
    [
      'an unknown matching variable',
      (d) => (d.loadSteps[0]!.matching![0]!.variable = 'code'),
      [
        {
          path: 'loadSteps[0].matching[0].variable',
          message:
            'unknown variable "code"; known variables: vendor_name, vendor_code, vendor_phone, name, sku, price, qty, colour, tags, launched, active, first, last',
        },
      ],
    ],
    [
      "a step's own record variable",
      (d) => (d.loadSteps[0]!.matching![0]!.variable = 'vendor_id'),
      [
        {
          path: 'loadSteps[0].matching[0].variable',
          message:
            'record variable "vendor_id" is this step\'s own record variable; only later steps can read a record variable',
        },
      ],
    ],
    [
      "a later step's record variable",
      (d) => (d.loadSteps[0]!.mapping![0] = { field: 'name', variable: 'product_id' }),
      [
        {
          path: 'loadSteps[0].mapping[0].variable',
          message:
            'record variable "product_id" comes from loadSteps[1] ("Products"), which runs later; only later steps can read a record variable',
        },
      ],
    ],
    [
      "a record variable of another scope's step",
      (d) => {
        d.sql = { script: 'SELECT 1' };
        d.variables = d.variables.map((v) => ({ ...v, scope: 'rows' }));
        d.variables.push({ name: 'other', type: 'string', scope: 'other' });
        d.loadSteps[0]!.scope = 'other';
        d.loadSteps[0]!.matching = [];
        d.loadSteps[0]!.mapping = [{ field: 'name', variable: 'other' }];
        products_(d).scope = 'rows';
      },
      [
        {
          path: 'loadSteps[1].matching[1].variable',
          message:
            'record variable "vendor_id" comes from load step "Vendors" on scope "other", but this step loads scope "rows"',
        },
        {
          path: 'loadSteps[1].mapping[6].variable',
          message:
            'record variable "vendor_id" comes from load step "Vendors" on scope "other", but this step loads scope "rows"',
        },
      ],
    ],
    [
      'a variable of another scope',
      (d) => {
        d.sql = { script: 'SELECT 1' };
        d.variables = d.variables.map((v) => ({ ...v, scope: v.name === 'qty' ? 'lines' : 'rows' }));
        d.loadSteps.forEach((s) => (s.scope = 'rows'));
      },
      [
        {
          path: 'loadSteps[1].mapping[3].variable',
          message: 'variable "qty" reads scope "lines", but load step "Products" loads scope "rows"',
        },
      ],
    ],
    [
      'an absent scope equals the only named one',
      (d) => {
        d.sql = { script: 'SELECT 1' };
        d.variables[0]!.scope = 'rows';
      },
      [],
    ],
    [
      'a list in a matching rule',
      (d) => (products_(d).matching![0]!.variable = 'tags'),
      [
        {
          path: 'loadSteps[1].matching[0].variable',
          message: 'a matching rule compares one value, but variable "tags" is a list (it has "array")',
        },
      ],
    ],
    [
      'a matching variable that does not fit its field',
      (d) => (products_(d).matching![0] = { field: 'price', variable: 'sku', onSingleMatch: 'next_rule' }),
      [
        {
          path: 'loadSteps[1].matching[0].variable',
          message:
            'variable "sku" does not fit field "price": a money field takes a number variable, not a string variable',
        },
      ],
    ],
    [
      'matchByRecordId with a number variable',
      (d) =>
        (products_(d).matching![0] = {
          matchByRecordId: true,
          variable: 'price',
          onSingleMatch: 'next_rule',
        }),
      [
        {
          path: 'loadSteps[1].matching[0].variable',
          message:
            'matchByRecordId compares record ids, so it takes a record variable or a string variable, not the number variable "price"',
        },
      ],
    ],
    [
      'matchByRecordId with a string or a record variable',
      (d) =>
        (products_(d).matching = [
          { matchByRecordId: true, variable: 'sku', onNoMatch: 'next_rule_ignore_previous' },
          { matchByRecordId: true, variable: 'vendor_id' },
        ]),
      [],
    ],
    ...(['onNoMatch', 'onSingleMatch', 'onMultipleMatches', 'onArchivedMatch'] as const).map(
      (action): [string, (d: ReturnType<typeof base>) => void, DefinitionIssue[]] => [
        `a last rule continuing from ${action}`,
        (d) => (d.loadSteps[0]!.matching![0]![action] = 'next_rule_ignore_previous'),
        [
          {
            path: `loadSteps[0].matching[0].${action}`,
            message: `the last matching rule has no next rule to pass the row to; use one of: ${
              {
                onNoMatch: 'create_new, do_not_upload',
                onSingleMatch: 'update_current, do_not_upload',
                onMultipleMatches: 'do_not_upload',
                onArchivedMatch: 'create_new, unarchive_and_update, unarchive_only, do_not_upload',
              }[action]
            }`,
          },
        ],
      ],
    ),
    [
      'a relationship matched with a record variable of another object',
      (d) => (products_(d).matching![1] = { field: 'parent', variable: 'vendor_id' }),
      [
        {
          path: 'loadSteps[1].matching[1].variable',
          message: 'record variable "vendor_id" holds vendors records, but field "parent" points to products',
        },
      ],
    ],
    [
      'an unknown mapped field',
      (d) => (mappingOf(d, 2).field = 'cost'),
      [
        {
          path: 'loadSteps[1].mapping[2].field',
          message:
            'unknown field "cost" on object products; known fields: name, sku, price, qty, colour, tags, vendor, parent, owner, launched, active, notes',
        },
      ],
    ],
    [
      'a field mapped twice (by api name and label)',
      (d) => products_(d).mapping!.push({ field: 'Price', variable: 'qty' }),
      [
        {
          path: 'loadSteps[1].mapping[10].field',
          message: 'field "price" is already mapped by mapping[2]; map each field once',
        },
      ],
    ],
    [
      'several variables on a non-text field',
      (d) => (products_(d).mapping![2] = { field: 'price', variables: ['price', 'qty'] }),
      [
        {
          path: 'loadSteps[1].mapping[2].variables',
          message:
            'several variables can only be joined into a text or longtext field; "price" is a money field',
        },
      ],
    ],
    [
      'only_add_options on a non-checkboxes field',
      (d) => (mappingOf(d, 4).conflict = 'only_add_options'),
      [
        {
          path: 'loadSteps[1].mapping[4].conflict',
          message:
            'only_add_options applies to checkboxes fields; "colour" is a dropdown field, so use overwrite, overwrite_except_null or only_update_blank',
        },
      ],
    ],
    [
      'createOptions on a non-option field',
      (d) => (mappingOf(d, 1).createOptions = true),
      [
        {
          path: 'loadSteps[1].mapping[1].createOptions',
          message: 'createOptions applies to dropdown, radio and checkboxes fields; "sku" is a text field',
        },
      ],
    ],
    [
      'lookup on a non-relationship field',
      (d) => (mappingOf(d, 1).lookup = { field: 'code' }),
      [
        {
          path: 'loadSteps[1].mapping[1].lookup',
          message: '"lookup" applies to relationship fields; "sku" is a text field',
        },
      ],
    ],
    [
      'a relationship from a plain variable without lookup',
      (d) => (products_(d).mapping![6] = { field: 'vendor', variable: 'vendor_code' }),
      [
        {
          path: 'loadSteps[1].mapping[6].variable',
          message:
            'variable "vendor_code" does not fit field "vendor": a relationship field takes a record variable (an earlier step\'s "recordVariable") or a "lookup", not a string variable',
        },
      ],
    ],
    [
      'a relationship through a lookup',
      (d) =>
        (products_(d).mapping![6] = {
          field: 'vendor',
          variable: 'vendor_phone',
          lookup: { field: 'Phone' },
        }),
      [],
    ],
    [
      'a lookup of an unknown related field',
      (d) =>
        (products_(d).mapping![6] = { field: 'vendor', variable: 'vendor_code', lookup: { field: 'vat' } }),
      [
        {
          path: 'loadSteps[1].mapping[6].lookup.field',
          message: 'unknown field "vat" on object vendors; known fields: name, code, phone',
        },
      ],
    ],
    [
      'a lookup with a variable that does not fit the related field',
      (d) =>
        (products_(d).mapping![6] = { field: 'vendor', variable: 'vendor_code', lookup: { field: 'phone' } }),
      [
        {
          path: 'loadSteps[1].mapping[6].variable',
          message:
            'variable "vendor_code" does not fit field "phone" of vendors: a phone field takes a phone variable, not a string variable',
        },
      ],
    ],
    [
      'a lookup with a list',
      (d) => (products_(d).mapping![6] = { field: 'vendor', variable: 'tags', lookup: { field: 'code' } }),
      [
        {
          path: 'loadSteps[1].mapping[6].variable',
          message: 'a lookup compares one value, but variable "tags" is a list (it has "array")',
        },
      ],
    ],
    [
      'a relationship to an undefined object',
      (d) => (products_(d).mapping![6] = { field: 'owner', variable: 'vendor_id' }),
      [
        {
          path: 'loadSteps[1].mapping[6].field',
          message: 'field "owner" points to object people, which is not defined',
        },
      ],
    ],
    [
      'a relationship from a record variable of another object',
      (d) => (products_(d).mapping![6] = { field: 'parent', variable: 'vendor_id' }),
      [
        {
          path: 'loadSteps[1].mapping[6].variable',
          message: 'record variable "vendor_id" holds vendors records, but field "parent" points to products',
        },
      ],
    ],
    [
      'a mapped variable that does not fit its field',
      (d) => (mappingOf(d, 7).variable = 'active'),
      [
        {
          path: 'loadSteps[1].mapping[7].variable',
          message:
            'variable "active" does not fit field "launched": a datetime field takes a datetime or date variable, not a boolean variable',
        },
      ],
    ],
    ['a list into a text field (joined)', (d) => (mappingOf(d, 1).variable = 'tags'), []],
    [
      'an unknown variable among several',
      (d) => (products_(d).mapping![9] = { field: 'notes', variables: ['first', 'middle'] }),
      [
        {
          path: 'loadSteps[1].mapping[9].variables[1]',
          message: expect.stringMatching(
            /^unknown variable "middle"; known variables: .*, last, vendor_id$/,
          ) as string,
        },
      ],
    ],
  ])('%s', (_, mutate, expected) => {
    expect(issuesOf(mutate)).toEqual(expected);
  });
});

describe('activationIssues', () => {
  function activation(mutate: (d: ReturnType<typeof base>) => void): DefinitionIssue[] {
    const input = base();
    mutate(input);
    return activationIssues(definition(input), objects);
  }

  it('accepts a sound connector', () => {
    expect(activation(() => {})).toEqual([]);
  });

  it.each<[string, (d: ReturnType<typeof base>) => void, DefinitionIssue[]]>([
    [
      'no variables and no steps',
      (d) => {
        d.variables = [];
        d.loadSteps = [];
      },
      [
        {
          path: 'variables',
          message: 'declare at least one variable; load steps read the rows through variables',
        },
        { path: 'loadSteps', message: 'add at least one load step; without one the connector loads nothing' },
      ],
    ],
    [
      'a step without mapping',
      (d) => (d.loadSteps[0]!.mapping = []),
      [{ path: 'loadSteps[0].mapping', message: 'load step "Vendors" needs at least one mapping rule' }],
    ],
    [
      // SPEC §6 makes a missing required field a row failure (REQUIRED_FIELD_MISSING), not an activation error.
      'a step that can create without its required fields',
      (d) => (products_(d).mapping = [{ field: 'price', variable: 'price' }]),
      [],
    ],
    [
      'an update-only step need not map required fields',
      (d) => {
        products_(d).matching = [
          { field: 'sku', variable: 'sku', onNoMatch: 'do_not_upload', onArchivedMatch: 'do_not_upload' },
        ];
        products_(d).mapping = [{ field: 'price', variable: 'price' }];
      },
      [],
    ],
    [
      'a scheduler without SQL or cadence',
      (d) => (d.type = 'scheduler'),
      [
        {
          path: 'sql',
          message:
            'a scheduler connector needs SQL to fetch its rows; add "sql": { "file": "connector.sql" }',
        },
        {
          path: 'settings.cadence',
          message: 'a scheduler connector needs a cadence, e.g. "rate(1 hour)" or "cron(0 6 * * ? *)"',
        },
      ],
    ],
    [
      'a scheduler with SQL and a cadence',
      (d) => {
        d.type = 'scheduler';
        d.sql = { script: 'SELECT 1' };
        d.settings = { cadence: 'cron(0 6 * * ? *)' };
      },
      [],
    ],
    [
      'a webhook with SQL and a rate',
      (d) => {
        d.type = 'webhook';
        d.sql = { script: 'SELECT 1' };
        d.settings = { cadence: 'rate(1 minute)' };
      },
      [],
    ],
    [
      'an empty SQL script',
      (d) => (d.sql = { script: '  \n' }),
      [{ path: 'sql', message: 'the SQL script is empty; write it or remove "sql"' }],
    ],
    [
      'the issues of checkConnector too',
      (d) => (d.loadSteps[0]!.object = 'vendor'),
      [{ path: 'loadSteps[0].object', message: 'unknown object "vendor"; known objects: products, vendors' }],
    ],
  ])('%s', (_, mutate, expected) => {
    expect(activation(mutate)).toEqual(expected);
  });
});
