import { describe, expect, it } from 'vitest';
import {
  connectorDefinitionSchema,
  type ConnectorDefinition,
  type ConnectorDefinitionInput,
} from '../../lambdas/core/connector-schema.ts';
import { ScError } from '../../lambdas/core/errors.ts';
import { jsonPath } from '../../lambdas/core/zod-issues.ts';
import { parseObjectDefinition, type ObjectDefinition } from '../../lambdas/core/object-schema.ts';
import { neededObjects, objectDocument } from '../../lambdas/pipeline/dev-package.ts';
import {
  EXPORT_FORMAT,
  EXPORT_FORMAT_VERSION,
  connectorDocument,
  connectorExportSchema,
  copyName,
  draftFromExport,
  exportDocument,
  importApiName,
} from '../../lambdas/pipeline/transfer.ts';

/** A stored definition as the engine keeps it: parsed, api name fixed, SQL as text. */
function definition(
  input: Partial<ConnectorDefinitionInput> = {},
  sql: string | null = null,
): ConnectorDefinition {
  const {
    sql: _sql,
    apiName,
    ...parsed
  } = connectorDefinitionSchema.parse({
    name: 'Vendor import',
    variables: [{ name: 'name', type: 'string', required: true }],
    loadSteps: [{ name: 'Vendors', object: 'vendors', mapping: [{ field: 'name', variable: 'name' }] }],
    secrets: ['crm_source'],
    parameters: { region: 'eu' },
    ...input,
  });
  return { ...parsed, apiName: apiName ?? 'vendor_import', sql };
}

const SOURCE = { id: 'c-1', apiName: 'vendor_import', version: 3, status: 'operational' as const };
const AT = new Date('2026-01-02T03:04:05.000Z');

describe('the export document', () => {
  it('wraps the definition in an envelope naming the format, its version and the source', () => {
    const exported = exportDocument(definition({}, 'SELECT 1'), SOURCE, AT);
    expect(exported).toMatchObject({
      format: EXPORT_FORMAT,
      formatVersion: EXPORT_FORMAT_VERSION,
      exportedAt: '2026-01-02T03:04:05.000Z',
      source: SOURCE,
      withheld: [],
      connector: { name: 'Vendor import', apiName: 'vendor_import', sql: { script: 'SELECT 1' } },
    });
  });

  it.each([
    ['SQL text', 'CREATE TABLE output.t AS SELECT 1', { script: 'CREATE TABLE output.t AS SELECT 1' }],
    ['no SQL', null, undefined],
  ])('carries %s inline', (_, sql, expected) => {
    const { connector } = exportDocument(definition({}, sql), SOURCE, AT);
    expect(connector.sql).toEqual(expected);
    expect('sql' in connector).toBe(expected !== undefined);
  });

  it.each([
    [
      'the webhook secret',
      { webhookSecret: 'hush', executionEndedWebhookUrl: 'https://hooks.example/x' },
      ['settings.webhookSecret'],
      { executionEndedWebhookUrl: 'https://hooks.example/x' },
    ],
    [
      'a receiver URL with a password in it',
      { executionEndedWebhookUrl: 'https://user:pa55@hooks.example/x' },
      ['settings.executionEndedWebhookUrl'],
      {},
    ],
    ['nothing when no setting holds a secret', { chunkSize: 10 }, [], { chunkSize: 10 }],
  ])('withholds %s and lists it', (_, settings, withheld, kept) => {
    const exported = exportDocument(definition({ settings }), SOURCE, AT);
    expect(exported.withheld).toEqual(withheld);
    expect(exported.connector.settings).toMatchObject(kept);
    const text = JSON.stringify(exported);
    expect(text).not.toContain('hush');
    expect(text).not.toContain('pa55');
  });

  it('keeps secret names, parameters and every default written out', () => {
    const { connector } = exportDocument(definition(), SOURCE, AT);
    expect(connector.secrets).toEqual(['crm_source']);
    expect(connector.parameters).toEqual({ region: 'eu' });
    expect(connector.settings).toMatchObject({
      chunkSize: 1000,
      timezone: 'UTC',
      maxConcurrentExecutions: 1,
    });
    expect(connector.loadSteps![0]!.mapping![0]).toMatchObject({ conflict: 'only_update_blank' });
  });

  it('reads back as the same definition (the withheld settings aside)', () => {
    const original = definition({ settings: { webhookSecret: 'hush', chunkSize: 7 } }, 'SELECT 2');
    const parsed = connectorExportSchema.parse(
      JSON.parse(JSON.stringify(exportDocument(original, SOURCE, AT))),
    );
    const { webhookSecret: _, ...settings } = original.settings;
    expect(draftFromExport(parsed)).toEqual({ ...original, settings });
  });

  it('writes a folder form with the SQL in a file', () => {
    const { document } = connectorDocument(definition({}, 'SELECT 3'), { file: 'connector.sql' });
    expect(document.sql).toEqual({ file: 'connector.sql' });
    expect(connectorDefinitionSchema.safeParse(document).success).toBe(true);
  });
});

describe('reading an export', () => {
  const good = () => JSON.parse(JSON.stringify(exportDocument(definition({}, 'SELECT 1'), SOURCE, AT)));
  const issuesOf = (value: unknown) => {
    const parsed = connectorExportSchema.safeParse(value);
    if (parsed.success) throw new Error('expected the export to be refused');
    return parsed.error.issues.map((i) => ({ path: jsonPath(i.path), message: i.message }));
  };

  it('accepts what export writes', () => {
    expect(connectorExportSchema.safeParse(good()).success).toBe(true);
  });

  it.each([
    [
      'a bare connector definition',
      () => ({ name: 'x' }),
      'format',
      /not a connector export.*POST \/connectors takes a bare definition/,
    ],
    ['another format', () => ({ ...good(), format: 'something.else' }), 'format', /not a connector export/],
    [
      'a newer format version',
      () => ({ ...good(), formatVersion: EXPORT_FORMAT_VERSION + 1 }),
      'formatVersion',
      /made by a newer one/,
    ],
    [
      'SQL as a file',
      () => ({ ...good(), connector: { ...good().connector, sql: { file: 'connector.sql' } } }),
      'connector.sql',
      /inline/,
    ],
    [
      'a bad setting',
      () => ({ ...good(), connector: { ...good().connector, settings: { chunkSize: 0 } } }),
      'connector.settings.chunkSize',
      /.+/,
    ],
    [
      'an unknown key in the definition',
      () => ({ ...good(), connector: { ...good().connector, colour: 'red' } }),
      'connector',
      /colour/,
    ],
  ])('refuses %s, naming the JSON path', (_, make, path, message) => {
    const issues = issuesOf(make());
    expect(issues.map((i) => i.path)).toContain(path);
    expect(issues.find((i) => i.path === path)!.message).toMatch(message);
  });
});

describe('the api name of an import', () => {
  const taken = new Set(['orders', 'orders_2']);

  it.each([
    ['a free name as it is', 'invoices', 'rename', { apiName: 'invoices' }],
    ['no name (derived later)', undefined, 'fail', { apiName: undefined }],
    [
      'a taken name renamed to the first free suffix',
      'orders',
      'rename',
      { apiName: 'orders_3', renamedFrom: 'orders' },
    ],
  ] as const)('takes %s', (_, requested, onConflict, expected) => {
    expect(importApiName(requested, taken, onConflict)).toEqual(expected);
  });

  it('refuses a taken name with CONFLICT, saying how to import anyway', () => {
    const attempt = () => importApiName('orders', taken, 'fail');
    expect(attempt).toThrow(ScError);
    expect(attempt).toThrow(/"orders" exists already.*onConflict=rename/);
    try {
      attempt();
    } catch (error) {
      expect((error as ScError).code).toBe('CONFLICT');
    }
  });

  it('names a duplicate "<name> (copy)"', () => {
    expect(copyName('Vendor import')).toBe('Vendor import (copy)');
  });
});

describe('the objects of a dev package', () => {
  const objects: ObjectDefinition[] = [
    parseObjectDefinition({
      apiName: 'countries',
      name: 'Countries',
      fields: [{ name: 'code', type: 'text' }],
    }),
    parseObjectDefinition({
      apiName: 'vendors',
      name: 'Vendors',
      fields: [
        { name: 'country', type: 'relationship', relatedObject: 'countries' },
        { name: 'tier', type: 'dropdown', options: ['Gold', 'Silver'], required: true },
      ],
    }),
    parseObjectDefinition({
      apiName: 'products',
      name: 'Products',
      fields: [{ name: 'vendor', type: 'relationship', relatedObject: 'vendors' }],
    }),
    parseObjectDefinition({ apiName: 'prices', name: 'Prices', fields: [{ name: 'amount', type: 'money' }] }),
    parseObjectDefinition({ apiName: 'unrelated', name: 'Unrelated', fields: [] }),
  ];
  const names = (list: ObjectDefinition[]) => list.map((o) => o.apiName);

  it.each([
    [
      'the objects a step loads, and those their relationships point to',
      { loadSteps: [step('products')] },
      ['countries', 'products', 'vendors'],
    ],
    [
      'the objects reference data reads',
      { loadSteps: [step('vendors')], referenceData: [{ object: 'prices', fields: ['amount'] }] },
      ['countries', 'prices', 'vendors'],
    ],
    ['none for a connector without steps', { loadSteps: [] }, []],
  ] as Array<[string, Partial<ConnectorDefinitionInput>, string[]]>)('are %s', (_, input, expected) => {
    expect(names(neededObjects(definition(input), objects))).toEqual(expected);
  });

  it('are written as object files that read back as the same objects', () => {
    for (const object of objects) {
      expect(parseObjectDefinition(JSON.parse(JSON.stringify(objectDocument(object))))).toEqual(object);
    }
  });
});

function step(object: string) {
  return { name: object, object, mapping: [{ field: 'name', variable: 'name' }] };
}
