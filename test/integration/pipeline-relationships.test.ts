import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConnectorDefinitionInput } from '../../lambdas/core/connector-schema.ts';
import {
  counts,
  csvInput,
  openPipelineWorkspace,
  storedRecord,
  type ObjectSpec,
  type PipelineWorkspace,
} from '../helpers/pipeline.ts';

/*
 * Relationships through whole executions (SPEC §5 record variables, §6 relationship mapping): a later step
 * relates to the record an earlier step matched or created, or finds the related record with `lookup`.
 */

let ws: PipelineWorkspace;

const vendors = (apiName: string): ObjectSpec => ({
  apiName,
  name: 'Vendors',
  fields: [
    { name: 'name', type: 'text' },
    { name: 'code', type: 'text' },
  ],
});
const products = (apiName: string, vendorObject: string, required = false): ObjectSpec => ({
  apiName,
  name: 'Products',
  fields: [
    { name: 'name', type: 'text' },
    { name: 'sku', type: 'text' },
    { name: 'vendor', type: 'relationship', relatedObject: vendorObject, required },
  ],
});

beforeAll(async () => {
  ws = await openPipelineWorkspace([
    vendors('rv_created'),
    products('rp_created', 'rv_created'),
    vendors('rv_skipped'),
    products('rp_skipped', 'rv_skipped'),
    vendors('lv'),
    products('lp', 'lv'),
    products('lp_required', 'lv', true),
    vendors('lv_same_run'),
    products('lp_same_run', 'lv_same_run'),
    vendors('rv_scoped'),
    products('rp_scoped', 'rv_scoped'),
  ]);
});
afterAll(async () => {
  await ws?.close();
});

const HEADER = ['sku', 'product', 'vendor_code', 'vendor'];
const VARIABLES: ConnectorDefinitionInput['variables'] = [
  { name: 'sku', type: 'string', required: true },
  { name: 'product', type: 'string', required: true },
  { name: 'vendor_code', type: 'string' },
  { name: 'vendor', type: 'string' },
];

/** Vendors (step 1, exposing `vendor_id`) then products related to them through the record variable. */
function twoSteps(
  name: string,
  vendorObject: string,
  productObject: string,
  vendorRule: Record<string, unknown>,
): ConnectorDefinitionInput {
  return {
    name,
    variables: VARIABLES,
    loadSteps: [
      {
        name: 'Vendors',
        object: vendorObject,
        matching: [{ field: 'code', variable: 'vendor_code', ...vendorRule }],
        mapping: [
          { field: 'name', variable: 'vendor' },
          { field: 'code', variable: 'vendor_code' },
        ],
        recordVariable: 'vendor_id',
      },
      {
        name: 'Products',
        object: productObject,
        matching: [{ field: 'sku', variable: 'sku' }],
        mapping: [
          { field: 'name', variable: 'product' },
          { field: 'sku', variable: 'sku' },
          { field: 'vendor', variable: 'vendor_id' },
        ],
      },
    ],
  };
}

/** Products whose vendor is found by `lookup: { field: 'code' }` on the vendor object. */
function byLookup(name: string, productObject: string): ConnectorDefinitionInput {
  return {
    name,
    variables: VARIABLES,
    loadSteps: [
      {
        name: 'Products',
        object: productObject,
        matching: [{ field: 'sku', variable: 'sku' }],
        mapping: [
          { field: 'name', variable: 'product' },
          { field: 'sku', variable: 'sku' },
          { field: 'vendor', variable: 'vendor_code', lookup: { field: 'code' } },
        ],
      },
    ],
  };
}

describe('record variables', () => {
  it('step 2 relates to the record step 1 created, or matched, in the same run', async () => {
    await ws.writeConnector('created', { definition: twoSteps('Created', 'rv_created', 'rp_created', {}) });
    const { execution, step } = await ws.run(
      'created',
      csvInput(
        'in.csv',
        HEADER,
        ['P1', 'Apples', 'V1', 'Valley'],
        ['P2', 'Pears', 'V1', 'Valley'],
        ['P3', 'Milk', 'V2', 'Dairy'],
      ),
    );
    expect(execution.status).toBe('succeeded');
    // The second V1 row matches the vendor the first created and changes nothing.
    expect(step(0)).toEqual(counts({ created: 2, unchanged: 1 }));
    expect(step(1)).toEqual(counts({ created: 3 }));

    const vendorIds = new Map((await ws.records('rv_created')).map((v) => [v.fields.code, v.id]));
    expect(vendorIds.size).toBe(2);
    const productRecords = await ws.records('rp_created');
    expect(productRecords.map((p) => [p.fields.sku, p.fields.vendor])).toEqual([
      ['P1', vendorIds.get('V1')],
      ['P3', vendorIds.get('V2')],
      ['P2', vendorIds.get('V1')],
    ]);
    const report = await ws.report(execution);
    expect(report.upload(0).map((r) => r['Record ID'])).toEqual([
      vendorIds.get('V1'),
      vendorIds.get('V1'),
      vendorIds.get('V2'),
    ]);
    expect(report.upload(1).map((r) => r.vendor)).toEqual([
      vendorIds.get('V1'),
      vendorIds.get('V1'),
      vendorIds.get('V2'),
    ]);
  });

  it('a row step 1 skipped gives step 2 RELATED_RECORD_NOT_FOUND and leaves the field unset', async () => {
    // An earlier run creates vendor V1; the connector under test only ever matches vendors.
    await ws.writeConnector('skipped_seed', {
      definition: twoSteps('Skipped seed', 'rv_skipped', 'rp_skipped', {}),
    });
    await ws.run('skipped_seed', csvInput('seed.csv', HEADER, ['P0', 'Seed', 'V1', 'Valley']));
    const [v1] = await ws.records('rv_skipped');

    await ws.writeConnector('skipped', {
      definition: twoSteps('Skipped', 'rv_skipped', 'rp_skipped', { onNoMatch: 'do_not_upload' }),
    });
    const { execution, step } = await ws.run(
      'skipped',
      csvInput('in.csv', HEADER, ['P1', 'Apples', 'V1', 'Valley'], ['P2', 'Plums', 'V9', 'Nowhere']),
    );
    expect(execution.status).toBe('succeeded');
    expect(step(0)).toEqual(counts({ unchanged: 1, skipped: 1 }));
    expect(step(1)).toEqual(counts({ created: 2 }));

    const byS = new Map((await ws.records('rp_skipped')).map((p) => [p.fields.sku, p]));
    expect(byS.get('P1')!.fields.vendor).toBe(v1!.id);
    expect(byS.get('P2')!.fields).toEqual({ name: 'Plums', sku: 'P2' });
    expect(await ws.records('rv_skipped')).toHaveLength(1);

    const rows = (await ws.report(execution)).upload(1);
    expect(rows.map((r) => [r.Row, r.Status, r.Codes, r.vendor])).toEqual([
      [1, 'created', null, v1!.id],
      [2, 'created', 'RELATED_RECORD_NOT_FOUND', null],
    ]);
    expect(String(rows[1]!.Warnings)).toContain('vendor_id');
  });

  it('a later step can match on the relationship to the record an earlier step handed on', async () => {
    // SKUs are unique per vendor only: find the product among the vendor's products, then by SKU.
    const definition = twoSteps('Scoped', 'rv_scoped', 'rp_scoped', {});
    definition.loadSteps![1]!.matching = [
      { field: 'vendor', variable: 'vendor_id', onSingleMatch: 'next_rule', onMultipleMatches: 'next_rule' },
      { field: 'sku', variable: 'sku' },
    ];
    definition.loadSteps![1]!.mapping![0]!.conflict = 'overwrite';
    await ws.writeConnector('scoped', { definition });
    const first = await ws.run(
      'scoped',
      csvInput(
        'in.csv',
        HEADER,
        ['X1', 'Valley apples', 'V1', 'Valley'],
        ['X1', 'Dairy milk', 'V2', 'Dairy'],
      ),
    );
    expect(first.execution.status).toBe('succeeded');
    expect(first.step(1)).toEqual(counts({ created: 2 }));

    const second = await ws.run(
      'scoped',
      csvInput(
        'in.csv',
        HEADER,
        ['X1', 'Valley pears', 'V1', 'Valley'],
        ['X2', 'Dairy cream', 'V2', 'Dairy'],
        ['X1', 'Dairy butter', 'V2', 'Dairy'],
      ),
    );
    expect(second.execution.status).toBe('succeeded');
    expect(second.step(1)).toEqual(counts({ updated: 2, created: 1 }));
    const vendorIds = new Map((await ws.records('rv_scoped')).map((v) => [v.fields.code, v.id]));
    expect(
      (await ws.records('rp_scoped')).map((p) => [p.fields.name, p.fields.sku, p.fields.vendor]),
    ).toEqual([
      ['Dairy butter', 'X1', vendorIds.get('V2')],
      ['Dairy cream', 'X2', vendorIds.get('V2')],
      ['Valley pears', 'X1', vendorIds.get('V1')],
    ]);
    expect((await ws.report(second.execution)).upload(1).map((r) => [r.Status, r['Matched Rule']])).toEqual([
      ['updated', 2],
      ['created', 2],
      ['updated', 2],
    ]);
  });
});

describe('relationships through lookup', () => {
  const ids = {
    archived: 'aaaaaaaa-0000-4000-8000-000000000001',
    twinA: 'aaaaaaaa-0000-4000-8000-000000000002',
    twinB: 'aaaaaaaa-0000-4000-8000-000000000003',
  };
  let v1: string;

  beforeAll(async () => {
    // V1 comes from an earlier run; V2 exists only archived; VT twice.
    await ws.writeConnector('lookup_seed', {
      definition: {
        name: 'Lookup seed',
        variables: VARIABLES,
        loadSteps: [
          {
            name: 'Vendors',
            object: 'lv',
            matching: [{ field: 'code', variable: 'vendor_code' }],
            mapping: [
              { field: 'name', variable: 'vendor' },
              { field: 'code', variable: 'vendor_code' },
            ],
          },
        ],
      },
    });
    const seed = await ws.run('lookup_seed', csvInput('seed.csv', HEADER, ['-', '-', 'V1', 'Valley']));
    expect(seed.step(0)).toEqual(counts({ created: 1 }));
    v1 = (await ws.records('lv'))[0]!.id;
    await ws.writeRecords('lv', [
      storedRecord('lv', ids.archived, { name: 'Gone', code: 'V2' }, { archived: true }),
      storedRecord('lv', ids.twinA, { name: 'Twin A', code: 'VT' }),
      storedRecord('lv', ids.twinB, { name: 'Twin B', code: 'VT' }),
    ]);
  });

  it('found (case-insensitively), not found, archived and ambiguous related records', async () => {
    await ws.writeConnector('lookup', { definition: byLookup('Lookup', 'lp') });
    const { execution, step } = await ws.run(
      'lookup',
      csvInput(
        'in.csv',
        HEADER,
        ['P1', 'Apples', 'v1', ''],
        ['P2', 'Plums', 'V9', ''],
        ['P3', 'Figs', 'V2', ''],
        ['P4', 'Kiwis', 'VT', ''],
        ['P5', 'Limes', '', ''],
      ),
    );
    // Warnings do not fail rows: every product is created.
    expect(execution.status).toBe('succeeded');
    expect(step(0)).toEqual(counts({ created: 5 }));

    const bySku = new Map((await ws.records('lp')).map((p) => [p.fields.sku, p.fields]));
    expect(bySku.get('P1')).toEqual({ name: 'Apples', sku: 'P1', vendor: v1 });
    expect(bySku.get('P2')).toEqual({ name: 'Plums', sku: 'P2' });
    // The archived V2 is never used.
    expect(bySku.get('P3')).toEqual({ name: 'Figs', sku: 'P3' });
    expect(bySku.get('P4')).toEqual({ name: 'Kiwis', sku: 'P4' });
    expect(bySku.get('P5')).toEqual({ name: 'Limes', sku: 'P5' });

    const rows = (await ws.report(execution)).upload(0);
    expect(rows.map((r) => [r.Row, r.Status, r.Codes, r.vendor])).toEqual([
      [1, 'created', null, v1],
      [2, 'created', 'RELATED_RECORD_NOT_FOUND', null],
      [3, 'created', 'RELATED_RECORD_NOT_FOUND', null],
      [4, 'created', 'RELATED_RECORD_AMBIGUOUS', null],
      // A blank look-up value leaves the field unset without a warning.
      [5, 'created', null, null],
    ]);
    expect(String(rows[1]!.Warnings)).toContain('"V9"');
    expect(String(rows[3]!.Warnings)).toContain(ids.twinA);
  });

  it('a required relationship whose related record is not found fails the row', async () => {
    await ws.writeConnector('lookup_required', { definition: byLookup('Lookup required', 'lp_required') });
    const { execution, step } = await ws.run(
      'lookup_required',
      csvInput(
        'in.csv',
        HEADER,
        ['P1', 'Apples', 'V1', ''],
        ['P2', 'Plums', 'V9', ''],
        ['P3', 'Figs', 'V2', ''],
      ),
    );
    expect(execution.status).toBe('partial_success');
    expect(step(0)).toEqual(counts({ created: 1, failed: 2 }));
    const rows = (await ws.report(execution)).upload(0);
    expect(rows.map((r) => [r.Row, r.Status, r.Codes, r['Record ID']])).toEqual([
      [1, 'created', null, rows[0]!['Record ID']],
      [2, 'failed', 'REQUIRED_FIELD_MISSING', null],
      [3, 'failed', 'REQUIRED_FIELD_MISSING', null],
    ]);
    // The missing related record is named as the reason, not repeated as a warning.
    expect(String(rows[1]!.Errors)).toContain('"V9"');
    expect(rows[1]!.Warnings).toBeNull();
    const records = await ws.records('lp_required');
    expect(records.map((r) => r.fields)).toEqual([{ name: 'Apples', sku: 'P1', vendor: v1 }]);
  });

  it('a lookup finds the record an earlier step created in the same run, live and dry', async () => {
    const definition: ConnectorDefinitionInput = {
      name: 'Lookup same run',
      variables: VARIABLES,
      loadSteps: [
        {
          name: 'Vendors',
          object: 'lv_same_run',
          matching: [{ field: 'code', variable: 'vendor_code' }],
          mapping: [
            { field: 'name', variable: 'vendor' },
            { field: 'code', variable: 'vendor_code' },
          ],
        },
        byLookup('x', 'lp_same_run').loadSteps![0]!,
      ],
    };
    await ws.writeConnector('lookup_same_run', { definition });
    const input = csvInput(
      'in.csv',
      HEADER,
      ['P1', 'Apples', 'V1', 'Valley'],
      ['P2', 'Pears', 'V1', 'Valley'],
    );

    const dry = await ws.run('lookup_same_run', input, { dryRun: true });
    expect(dry.step(0)).toEqual(counts({ created: 1, unchanged: 1 }));
    expect(dry.step(1)).toEqual(counts({ created: 2 }));
    const dryReport = await ws.report(dry.execution);
    const dryVendor = dryReport.upload(0)[0]!['Record ID'];
    expect(dryReport.upload(1).map((r) => [r.Codes, r.vendor])).toEqual([
      [null, dryVendor],
      [null, dryVendor],
    ]);
    expect(await ws.records('lv_same_run')).toEqual([]);

    const live = await ws.run('lookup_same_run', input);
    expect(live.step(0)).toEqual(counts({ created: 1, unchanged: 1 }));
    expect(live.step(1)).toEqual(counts({ created: 2 }));
    const [vendor] = await ws.records('lv_same_run');
    expect((await ws.records('lp_same_run')).map((p) => p.fields.vendor)).toEqual([vendor!.id, vendor!.id]);
  });
});
