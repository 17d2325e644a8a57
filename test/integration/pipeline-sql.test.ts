import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConnectorDefinitionInput } from '../../lambdas/core/connector-schema.ts';
import {
  counts,
  csvInput,
  openPipelineWorkspace,
  storedRecord,
  type PipelineWorkspace,
} from '../helpers/pipeline.ts';

/*
 * The SQL stage through whole executions (SPEC §4): scopes feeding steps, reference data, parameters and
 * execution metadata, the no-SQL `default` scope, and how SQL and scope failures end a run.
 */

let ws: PipelineWorkspace;

beforeAll(async () => {
  ws = await openPipelineWorkspace([
    {
      apiName: 's_vendors',
      name: 'Vendors',
      fields: [
        { name: 'name', type: 'text' },
        { name: 'code', type: 'text' },
      ],
    },
    {
      apiName: 's_products',
      name: 'Products',
      fields: [
        { name: 'name', type: 'text' },
        { name: 'sku', type: 'text' },
        { name: 'vendor', type: 'relationship', relatedObject: 's_vendors' },
      ],
    },
    {
      apiName: 's_customers',
      name: 'Customers',
      fields: [
        { name: 'name', type: 'text' },
        { name: 'email', type: 'email' },
      ],
    },
    {
      apiName: 's_orders',
      name: 'Orders',
      fields: [
        { name: 'name', type: 'text' },
        { name: 'customer_ref', type: 'text' },
        { name: 'region', type: 'text' },
        { name: 'dry', type: 'checkbox' },
        { name: 'file', type: 'text' },
      ],
    },
    {
      apiName: 's_plain',
      name: 'Plain',
      fields: [
        { name: 'name', type: 'text' },
        { name: 'note', type: 'text' },
      ],
    },
    { apiName: 's_fail', name: 'Fail', fields: [{ name: 'name', type: 'text' }] },
    {
      apiName: 's_times',
      name: 'Times',
      fields: [
        { name: 'name', type: 'text' },
        { name: 'at', type: 'datetime' },
        { name: 'started', type: 'datetime' },
      ],
    },
  ]);
});
afterAll(async () => {
  await ws?.close();
});

describe('SQL scopes and environment', () => {
  it('two output scopes feed two steps; the report has a sheet per scope', async () => {
    await ws.writeConnector('two_scopes', {
      definition: {
        name: 'Two scopes',
        variables: [
          { name: 'vendor_code', scope: 'vendors', source: 'code', type: 'string', required: true },
          { name: 'vendor_name', scope: 'vendors', source: 'name', type: 'string', required: true },
          { name: 'sku', scope: 'products', type: 'string', required: true },
          { name: 'product', scope: 'products', type: 'string', required: true },
          { name: 'product_vendor', scope: 'products', source: 'vendor_code', type: 'string' },
        ],
        loadSteps: [
          {
            name: 'Vendors',
            object: 's_vendors',
            scope: 'vendors',
            matching: [{ field: 'code', variable: 'vendor_code' }],
            mapping: [
              { field: 'name', variable: 'vendor_name' },
              { field: 'code', variable: 'vendor_code' },
            ],
          },
          {
            name: 'Products',
            object: 's_products',
            scope: 'products',
            matching: [{ field: 'sku', variable: 'sku' }],
            mapping: [
              { field: 'name', variable: 'product' },
              { field: 'sku', variable: 'sku' },
              { field: 'vendor', variable: 'product_vendor', lookup: { field: 'code' } },
            ],
          },
        ],
      },
      sql: `
CREATE TABLE output.vendors ENGINE = MergeTree ORDER BY tuple() AS
  SELECT DISTINCT vendor_code AS code, vendor AS name FROM input.catalog_csv ORDER BY code;
CREATE TABLE output.products ENGINE = MergeTree ORDER BY tuple() AS
  SELECT sku, product, vendor_code FROM input.catalog_csv ORDER BY sku;
`,
    });
    const { execution, step } = await ws.run(
      'two_scopes',
      csvInput(
        'catalog.csv',
        ['sku', 'product', 'vendor_code', 'vendor'],
        ['P1', 'Apples', 'V1', 'Valley'],
        ['P2', 'Pears', 'V1', 'Valley'],
        ['P3', 'Milk', 'V2', 'Dairy'],
      ),
    );
    expect(execution.status).toBe('succeeded');
    expect(execution.counts.scopes).toEqual({
      products: { rows: 3, valid: 3, invalid: 0 },
      vendors: { rows: 2, valid: 2, invalid: 0 },
    });
    expect(step(0)).toEqual(counts({ created: 2 }));
    expect(step(1)).toEqual(counts({ created: 3 }));
    const vendorIds = new Map((await ws.records('s_vendors')).map((v) => [v.fields.code, v.id]));
    expect((await ws.records('s_products')).map((p) => [p.fields.sku, p.fields.vendor])).toEqual([
      ['P1', vendorIds.get('V1')],
      ['P3', vendorIds.get('V2')],
      ['P2', vendorIds.get('V1')],
    ]);

    const report = await ws.report(execution);
    expect(report.sheetNames).toEqual([
      'Summary Stats',
      'SQL Output (products)',
      'SQL Output (vendors)',
      'Extracted Variables (products)',
      'Extracted Variables (vendors)',
      'Vendors Upload (vendors)',
      'Products Upload (products)',
    ]);
    expect(report.sheet('SQL Output (vendors)')).toEqual([
      { Row: 1, code: 'V1', name: 'Valley' },
      { Row: 2, code: 'V2', name: 'Dairy' },
    ]);
    expect(report.sheet('Extracted Variables (vendors)').map((r) => [r.vendor_code, r.vendor_name])).toEqual([
      ['V1', 'Valley'],
      ['V2', 'Dairy'],
    ]);
    expect(report.summary.get('Scope vendors: rows')).toBe(2);
    expect(report.summary.get('Step 2 Products (s_products): created')).toBe(3);
  });

  it('referenceData, meta.parameters and meta.current_execution reach the SQL', async () => {
    await ws.writeConnector('customers', {
      definition: {
        name: 'Customers',
        variables: [
          { name: 'name', type: 'string', required: true },
          { name: 'email', type: 'email' },
        ],
        loadSteps: [
          {
            name: 'Customers',
            object: 's_customers',
            matching: [{ field: 'email', variable: 'email' }],
            mapping: [
              { field: 'name', variable: 'name' },
              { field: 'email', variable: 'email' },
            ],
          },
        ],
      },
    });
    const seed = await ws.run(
      'customers',
      csvInput('c.csv', ['name', 'email'], ['Ann', 'ann@example.com'], ['Bob', 'bob@example.com']),
    );
    expect(seed.step(0)).toEqual(counts({ created: 2 }));
    const customerIds = new Map((await ws.records('s_customers')).map((c) => [c.fields.email, c.id]));
    // Archived records are left out of records.<object>.
    await ws.writeRecords('s_customers', [
      storedRecord(
        's_customers',
        'cccccccc-0000-4000-8000-000000000001',
        { name: 'Cy', email: 'cy@example.com' },
        { archived: true },
      ),
    ]);

    const definition: ConnectorDefinitionInput = {
      name: 'Orders',
      parameters: { region: 'EMEA' },
      referenceData: [{ object: 's_customers', fields: ['email'] }],
      variables: [
        { name: 'order_no', type: 'string', required: true },
        { name: 'customer_id', type: 'string' },
        { name: 'region', type: 'string' },
        { name: 'dry', type: 'boolean', required: true },
        { name: 'file', type: 'string' },
      ],
      loadSteps: [
        {
          name: 'Orders',
          object: 's_orders',
          matching: [{ field: 'name', variable: 'order_no' }],
          mapping: [
            { field: 'name', variable: 'order_no' },
            { field: 'customer_ref', variable: 'customer_id', conflict: 'overwrite' },
            { field: 'region', variable: 'region', conflict: 'overwrite' },
            { field: 'dry', variable: 'dry', conflict: 'overwrite' },
            { field: 'file', variable: 'file', conflict: 'overwrite' },
          ],
        },
      ],
    };
    await ws.writeConnector('orders', {
      definition,
      sql: `
CREATE TABLE output.orders ENGINE = MergeTree ORDER BY tuple() AS
SELECT
  o.order_no AS order_no,
  c.id AS customer_id,
  (SELECT value FROM meta.parameters WHERE name = 'region') AS region,
  (SELECT is_dry_run FROM meta.current_execution) AS dry,
  (SELECT file_name FROM meta.current_execution) AS file
FROM input.orders_csv AS o
LEFT JOIN records.s_customers AS c ON lower(c.email) = lower(o.email)
ORDER BY order_no;
`,
    });
    const input = csvInput(
      'orders.csv',
      ['order_no', 'email'],
      ['O1', 'ANN@example.com'],
      ['O2', 'bob@example.com'],
      ['O3', 'cy@example.com'],
      ['O4', 'nobody@example.com'],
    );

    const dry = await ws.run('orders', input, { dryRun: true });
    expect(dry.execution.status).toBe('succeeded');
    const dryReport = await ws.report(dry.execution);
    expect(dryReport.sheet('SQL Output (orders)').map((r) => [r.order_no, r.dry])).toEqual([
      ['O1', true],
      ['O2', true],
      ['O3', true],
      ['O4', true],
    ]);
    expect(dryReport.upload(0).map((r) => r.dry)).toEqual([true, true, true, true]);

    const live = await ws.run('orders', input);
    expect(live.execution.status).toBe('succeeded');
    expect(live.step(0)).toEqual(counts({ created: 4 }));
    const orders = await ws.records('s_orders');
    expect(orders.map((o) => o.fields)).toEqual([
      {
        name: 'O1',
        customer_ref: customerIds.get('ann@example.com'),
        region: 'EMEA',
        dry: false,
        file: 'orders.csv',
      },
      {
        name: 'O2',
        customer_ref: customerIds.get('bob@example.com'),
        region: 'EMEA',
        dry: false,
        file: 'orders.csv',
      },
      { name: 'O3', region: 'EMEA', dry: false, file: 'orders.csv' },
      { name: 'O4', region: 'EMEA', dry: false, file: 'orders.csv' },
    ]);
  });

  it('without SQL the input table is the scope "default" and the report has no SQL sheet', async () => {
    await ws.writeConnector('plain', {
      definition: {
        name: 'Plain',
        variables: [{ name: 'name', type: 'string', required: true }],
        loadSteps: [{ name: 'Plain', object: 's_plain', mapping: [{ field: 'name', variable: 'name' }] }],
      },
    });
    const { execution, step } = await ws.run(
      'plain',
      csvInput('p.csv', ['name', 'note'], ['A', 'x'], ['', 'y'], ['B', 'z']),
    );
    expect(execution.status).toBe('partial_success');
    expect(execution.counts.scopes).toEqual({ default: { rows: 3, valid: 2, invalid: 1 } });
    expect(step(0)).toEqual(counts({ created: 2 }));
    const report = await ws.report(execution);
    expect(report.sheetNames).toEqual([
      'Summary Stats',
      'Extracted Variables (default)',
      'Plain Upload (default)',
    ]);
    expect(
      report.sheet('Extracted Variables (default)').map((r) => [r.Row, r.Status, r['Error Codes']]),
    ).toEqual([
      [1, 'valid', null],
      [2, 'invalid', 'REQUIRED_MISSING'],
      [3, 'valid', null],
    ]);
    // Invalid rows never reach a load step.
    expect(report.upload(0).map((r) => r.Row)).toEqual([1, 3]);
  });
});

describe('typed SQL output', () => {
  // A DateTime column is exported with its offset, so a datetime variable never reads a SQL instant as
  // wall-clock time in the connector's time zone (it did, before sql-job.ts exported ISO 8601).
  it('a DateTime column keeps its instant whatever the column and connector time zones', async () => {
    await ws.writeConnector('times', {
      definition: {
        name: 'Times',
        variables: [
          { name: 'name', type: 'string', required: true },
          { name: 'at', type: 'datetime' },
          { name: 'started', type: 'datetime' },
        ],
        loadSteps: [
          {
            name: 'Times',
            object: 's_times',
            mapping: [
              { field: 'name', variable: 'name' },
              { field: 'at', variable: 'at' },
              { field: 'started', variable: 'started' },
            ],
          },
        ],
        settings: { timezone: 'America/New_York' },
      },
      sql: `
CREATE TABLE output.times ENGINE = Memory AS
SELECT
  name,
  toDateTime('2024-05-01 12:00:00', 'Asia/Tokyo') AS at,
  (SELECT started_at FROM meta.current_execution) AS started
FROM input.in_csv;
`,
    });
    const { execution, step } = await ws.run('times', csvInput('in.csv', ['name'], ['A']));
    expect(execution.status).toBe('succeeded');
    expect(step(0)).toEqual(counts({ created: 1 }));
    const [record] = await ws.records('s_times');
    expect(record!.fields.at).toBe('2024-05-01T03:00:00.000Z');
    expect(record!.fields.started).toBe(execution.startedAt);
  });
});

describe('failures of the SQL and variable stages', () => {
  it('a SQL error fails the run with SQL_ERROR and no report, and keeps the input file', async () => {
    await ws.writeConnector('sql_error', {
      definition: {
        name: 'SQL error',
        variables: [{ name: 'name', type: 'string' }],
        loadSteps: [{ name: 'Plain', object: 's_fail', mapping: [{ field: 'name', variable: 'name' }] }],
      },
      sql: 'CREATE TABLE output.rows ENGINE = Memory AS SELECT name FROM input.no_such_table;',
    });
    const { execution } = await ws.run('sql_error', csvInput('in.csv', ['name'], ['A']));
    expect(execution.status).toBe('failed');
    expect(execution.error?.code).toBe('SQL_ERROR');
    expect(execution.error?.message).toContain('no_such_table');
    expect(execution.reportKey).toBeNull();
    expect(execution.stage).toBe('done');
    expect(execution.endedAt).not.toBeNull();
    expect(execution.inputFile).toMatchObject({ name: 'in.csv', size: 7 });
    expect(await ws.ports.blobs.exists(execution.inputFile!.key)).toBe(true);
    expect(await ws.ports.blobs.readText(execution.inputFile!.key)).toBe('name\nA\n');
    expect(await ws.records('s_fail')).toEqual([]);
  });

  it('a throwIf assertion fails the run with its message', async () => {
    await ws.writeConnector('sql_assertion', {
      definition: {
        name: 'SQL assertion',
        variables: [{ name: 'name', type: 'string' }],
        loadSteps: [{ name: 'Plain', object: 's_fail', mapping: [{ field: 'name', variable: 'name' }] }],
      },
      sql: `
CREATE TABLE output.rows ENGINE = Memory AS SELECT name FROM input.in_csv;
SELECT throwIf(count() < 2, 'need at least two rows') FROM output.rows;
`,
    });
    const { execution } = await ws.run('sql_assertion', csvInput('in.csv', ['name'], ['A']));
    expect(execution.status).toBe('failed');
    expect(execution.error?.code).toBe('SQL_ASSERTION_FAILED');
    expect(execution.error?.message).toContain('need at least two rows');
    expect(execution.reportKey).toBeNull();
  });

  it('a variable whose scope the SQL did not produce fails the run with SCOPE_NOT_FOUND', async () => {
    await ws.writeConnector('scope_missing', {
      definition: {
        name: 'Scope missing',
        variables: [{ name: 'name', scope: 'people', type: 'string' }],
        loadSteps: [
          {
            name: 'Plain',
            object: 's_fail',
            scope: 'people',
            mapping: [{ field: 'name', variable: 'name' }],
          },
        ],
      },
      sql: 'CREATE TABLE output.persons ENGINE = Memory AS SELECT name FROM input.in_csv;',
    });
    const { execution } = await ws.run('scope_missing', csvInput('in.csv', ['name'], ['A']));
    expect(execution.status).toBe('failed');
    expect(execution.error?.code).toBe('SCOPE_NOT_FOUND');
    expect(execution.error?.message).toContain('"people"');
    expect(execution.error?.message).toContain('persons');
    expect(execution.error?.message).toContain('variables[0] (name)');
    expect(execution.error?.message).toContain('loadSteps[0] (Plain)');
    expect(execution.reportKey).toBeNull();
    expect(await ws.ports.blobs.exists(execution.inputFile!.key)).toBe(true);
  });
});
