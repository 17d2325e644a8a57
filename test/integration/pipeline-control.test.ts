import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConnectorDefinitionInput } from '../../lambdas/core/connector-schema.ts';
import { runExecution } from '../../lambdas/local/run-execution.ts';
import { registerExecution } from '../../lambdas/pipeline/register.ts';
import {
  counts,
  csvInput,
  itemsConnector,
  openPipelineWorkspace,
  type ObjectSpec,
  type PipelineWorkspace,
} from '../helpers/pipeline.ts';

/*
 * How executions run and end (SPEC §6 diff checking, §7 running): the stop rule, cancelling, the
 * connector's status after runs, the diff-check baseline, and pinned connector versions.
 */

let ws: PipelineWorkspace;

const simple = (apiName: string, name = 'Items'): ObjectSpec => ({
  apiName,
  name,
  fields: [
    { name: 'name', type: 'text' },
    { name: 'qty', type: 'integer' },
  ],
});

beforeAll(async () => {
  ws = await openPipelineWorkspace([
    simple('k_stop'),
    simple('k_stop_2', 'Second'),
    simple('k_cancel'),
    simple('k_status'),
    simple('k_versions'),
    simple('k_diff_cancel'),
    simple('k_queued'),
    simple('k_rerun'),
    {
      apiName: 'k_diff_vendors',
      name: 'Vendors',
      fields: [
        { name: 'name', type: 'text' },
        { name: 'code', type: 'text' },
      ],
    },
    {
      apiName: 'k_diff_products',
      name: 'Products',
      fields: [
        { name: 'name', type: 'text' },
        { name: 'sku', type: 'text' },
        { name: 'vendor', type: 'relationship', relatedObject: 'k_diff_vendors' },
      ],
    },
  ]);
});
afterAll(async () => {
  await ws?.close();
});

/** Rows `R1…Rn` with a quantity each; `qty(i)` for row i (1-based). */
function rows(n: number, qty: (i: number) => string | number = (i) => i) {
  return Array.from({ length: n }, (_, k) => [`R${k + 1}`, qty(k + 1)]);
}

describe('the stop rule', () => {
  it('stops and fails the run when a chunk exceeds maxFailedRowsPercent; the rest is unprocessed', async () => {
    await ws.writeConnector('stop', {
      definition: itemsConnector('Stop', ['k_stop', 'k_stop_2'], { maxFailedRowsPercent: 10, chunkSize: 2 }),
    });
    // Rows 1 and 2 have fractions, which an integer field refuses: the first chunk fails 100 %.
    const { execution, step } = await ws.run(
      'stop',
      csvInput('in.csv', ['name', 'qty'], ...rows(10, (i) => (i <= 2 ? `${i}.5` : i))),
    );
    expect(execution.status).toBe('failed');
    expect(execution.error?.code).toBe('STOP_RULE');
    expect(execution.error?.message).toContain('maxFailedRowsPercent (10%)');
    expect(step(0)).toEqual(counts({ failed: 2, unprocessed: 8 }));
    expect(step(1)).toEqual(counts({ unprocessed: 10 }));
    expect(await ws.records('k_stop')).toEqual([]);
    expect(await ws.records('k_stop_2')).toEqual([]);

    // The report is still written, and says why each row was not loaded.
    const report = await ws.report(execution);
    expect(report.summary.get('Status')).toBe('failed');
    expect(String(report.summary.get('Error'))).toMatch(/^STOP_RULE: /);
    expect(report.summary.get('Step 1 k_stop (k_stop): failed')).toBe(2);
    expect(report.summary.get('Step 1 k_stop (k_stop): unprocessed')).toBe(8);
    expect(report.summary.get('Step 2 k_stop_2 (k_stop_2): unprocessed')).toBe(10);
    const first = report.upload(0);
    expect(first.map((r) => [r.Row, r.Status, r.Codes])).toEqual([
      [1, 'failed', 'INVALID_INTEGER'],
      [2, 'failed', 'INVALID_INTEGER'],
      ...[3, 4, 5, 6, 7, 8, 9, 10].map((row) => [row, 'unprocessed', 'STOP_RULE']),
    ]);
    expect(report.upload(1).map((r) => [r.Status, r.Codes])).toEqual(
      Array.from({ length: 10 }, () => ['unprocessed', 'STOP_RULE']),
    );
    expect((await ws.ports.connectors.getConnector('stop'))!.status).toBe('need_attention');
  });
});

describe('cancelling', () => {
  it('a cancel requested after the first chunk stops the run there; nothing is rolled back', async () => {
    await ws.writeConnector('cancel', {
      definition: itemsConnector('Cancel', ['k_cancel'], { chunkSize: 2 }),
    });
    let cancel: Promise<unknown> | undefined;
    const { execution, step } = await ws.run('cancel', csvInput('in.csv', ['name', 'qty'], ...rows(6)), {
      onProgress: (event, ports, id) => {
        if (event.stage === 'load' && event.done === 1) {
          cancel = ports.executions.update(id, { cancelRequested: true });
          return cancel.then(() => undefined);
        }
      },
    });
    await cancel;
    expect(execution.status).toBe('cancelled');
    expect(execution.error).toBeNull();
    expect(execution.cancelRequested).toBe(true);
    expect(step(0)).toEqual(counts({ created: 2, unprocessed: 4 }));
    expect((await ws.records('k_cancel')).map((r) => r.fields)).toEqual([
      { name: 'R1', qty: 1 },
      { name: 'R2', qty: 2 },
    ]);

    const report = await ws.report(execution);
    expect(report.summary.get('Status')).toBe('cancelled');
    expect(report.upload(0).map((r) => [r.Row, r.Status, r.Codes])).toEqual([
      [1, 'created', null],
      [2, 'created', null],
      [3, 'unprocessed', 'CANCELLED'],
      [4, 'unprocessed', 'CANCELLED'],
      [5, 'unprocessed', 'CANCELLED'],
      [6, 'unprocessed', 'CANCELLED'],
    ]);
    // A cancelled run says nothing about the connector's health, and is no diff-check baseline.
    const connector = (await ws.ports.connectors.getConnector('cancel'))!;
    expect(connector.status).toBe('operational');
    expect(connector.diffBaselineExecutionId).toBeNull();
  });
});

describe('the connector status after runs', () => {
  it('live runs set operational or need_attention; dry runs never change it', async () => {
    await ws.writeConnector('status', {
      definition: itemsConnector('Status', ['k_status']),
      sql: 'CREATE TABLE output.rows ENGINE = Memory AS SELECT name, qty FROM input.in_csv;',
    });
    const status = async () => (await ws.ports.connectors.getConnector('status'))!.status;
    const good = csvInput('in.csv', ['name', 'qty'], ['A', '1']);
    const partial = csvInput('in.csv', ['name', 'qty'], ['A', '1'], ['B', '1.5']);
    // No `name` column: the SQL fails.
    const broken = csvInput('in.csv', ['title', 'qty'], ['A', '1']);
    const steps: Array<[input: typeof good, dryRun: boolean, execution: string, connector: string]> = [
      [good, true, 'succeeded', 'setup'],
      [good, false, 'succeeded', 'operational'],
      [partial, true, 'partial_success', 'operational'],
      [broken, true, 'failed', 'operational'],
      [partial, false, 'partial_success', 'need_attention'],
      [good, true, 'succeeded', 'need_attention'],
      [good, false, 'succeeded', 'operational'],
      [broken, false, 'failed', 'need_attention'],
      [good, true, 'succeeded', 'need_attention'],
    ];
    const seen: string[][] = [];
    for (const [input, dryRun] of steps) {
      const { execution } = await ws.run('status', input, { dryRun });
      seen.push([execution.status, await status()]);
    }
    expect(seen).toEqual(steps.map(([, , execution, connector]) => [execution, connector]));
  });
});

describe('runs that cannot start', () => {
  it('a live run of a connector in setup or inactive waits queued; a dry run runs', async () => {
    await ws.writeConnector('queued', { definition: itemsConnector('Queued', ['k_queued']) });
    const input = csvInput('in.csv', ['name', 'qty'], ['A', '1']);
    const waiting = await ws.run('queued', input, { activate: false });
    expect(waiting.execution).toMatchObject({
      status: 'queued',
      stage: 'queued',
      startedAt: null,
      reportKey: null,
    });
    expect((await ws.ports.connectors.getConnector('queued'))!.status).toBe('setup');

    const connector = (await ws.apply('queued')).connector;
    await ws.ports.connectors.updateConnector(connector.id, { status: 'inactive' });
    const inactive = await ws.run('queued', input);
    expect(inactive.execution.status).toBe('queued');
    expect(await ws.records('k_queued')).toEqual([]);

    const dry = await ws.run('queued', input, { dryRun: true });
    expect(dry.execution.status).toBe('succeeded');
    expect(dry.step(0)).toEqual(counts({ created: 1 }));
    expect((await ws.ports.connectors.getConnector('queued'))!.status).toBe('inactive');
    expect(await ws.ports.executions.get(waiting.execution.id)).toMatchObject({ status: 'queued' });
  });

  it('an execution that already ended is not run again', async () => {
    await ws.writeConnector('rerun', { definition: itemsConnector('Rerun', ['k_rerun']) });
    const first = await ws.run('rerun', csvInput('in.csv', ['name', 'qty'], ['A', '1']));
    expect(first.execution.status).toBe('succeeded');
    expect(first.step(0)).toEqual(counts({ created: 1 }));

    const again = await runExecution(ws.runtime, first.execution.id);
    expect(again.status).toBe('succeeded');
    // Fails: the execution ran again and ended anew, its row now unchanged (the record the first run made).
    expect(again.endedAt).toBe(first.execution.endedAt);
    expect(again.counts).toEqual(first.execution.counts);
  });
});

describe('the diff-check baseline', () => {
  const HEADER = ['sku', 'product', 'vendor_code', 'vendor'];
  const original = csvInput(
    'in.csv',
    HEADER,
    ['P1', 'Apples', 'V1', 'Valley'],
    ['P2', 'Pears', 'V1', 'Valley'],
    ['P3', 'Milk', 'V2', 'Dairy'],
  );
  const changed = csvInput(
    'in.csv',
    HEADER,
    ['P1', 'Apples', 'V1', 'Valley'],
    ['P2', 'Nashi Pears', 'V1', 'Valley'],
    ['P3', 'Milk', 'V2', 'Dairy'],
  );

  it('skips rows the last successful live run loaded, keeps record variables, ignores dry runs', async () => {
    await ws.writeConnector('diff', {
      definition: {
        name: 'Diff',
        variables: [
          { name: 'sku', type: 'string', required: true },
          { name: 'product', type: 'string', required: true },
          { name: 'vendor_code', type: 'string', required: true },
          { name: 'vendor', type: 'string', required: true },
        ],
        loadSteps: [
          {
            name: 'Vendors',
            object: 'k_diff_vendors',
            matching: [{ field: 'code', variable: 'vendor_code' }],
            mapping: [
              { field: 'name', variable: 'vendor' },
              { field: 'code', variable: 'vendor_code' },
            ],
            recordVariable: 'vendor_id',
          },
          {
            name: 'Products',
            object: 'k_diff_products',
            matching: [{ field: 'sku', variable: 'sku' }],
            mapping: [
              { field: 'name', variable: 'product', conflict: 'overwrite' },
              { field: 'sku', variable: 'sku' },
              { field: 'vendor', variable: 'vendor_id', conflict: 'overwrite' },
            ],
          },
        ],
      },
    });
    const baseline = async () => (await ws.ports.connectors.getConnector('diff'))!.diffBaselineExecutionId;

    const run1 = await ws.run('diff', original, { diffCheck: true });
    expect(run1.execution.status).toBe('succeeded');
    expect(run1.execution.diffCheck).toBe(true);
    expect(run1.step(0)).toEqual(counts({ created: 2, unchanged: 1 }));
    expect(run1.step(1)).toEqual(counts({ created: 3 }));
    expect(await baseline()).toBe(run1.execution.id);
    const vendorIds = new Map((await ws.records('k_diff_vendors')).map((v) => [v.fields.code, v.id]));
    const productsBefore = await ws.records('k_diff_products');

    const run2 = await ws.run('diff', original, { diffCheck: true });
    expect(run2.execution.status).toBe('succeeded');
    expect(run2.step(0)).toEqual(counts({ unchanged: 3 }));
    expect(run2.step(1)).toEqual(counts({ unchanged: 3 }));
    const report2 = await ws.report(run2.execution);
    expect(report2.summary.get('Diff check')).toBe('On');
    expect(report2.upload(0).map((r) => [r.Codes, r['Record ID']])).toEqual([
      ['DIFF_UNCHANGED', vendorIds.get('V1')],
      ['DIFF_UNCHANGED', vendorIds.get('V1')],
      ['DIFF_UNCHANGED', vendorIds.get('V2')],
    ]);
    // Step 2's rows hash the vendor ids step 1 handed on: had they been blank, the rows would differ.
    expect(report2.upload(1).map((r) => r.Codes)).toEqual([
      'DIFF_UNCHANGED',
      'DIFF_UNCHANGED',
      'DIFF_UNCHANGED',
    ]);
    expect(await ws.records('k_diff_products')).toEqual(productsBefore);
    expect(await baseline()).toBe(run2.execution.id);

    // A dry run processes the changed row, but does not move the baseline.
    const dry = await ws.run('diff', changed, { dryRun: true, diffCheck: true });
    expect(dry.step(0)).toEqual(counts({ unchanged: 3 }));
    expect(dry.step(1)).toEqual(counts({ updated: 1, unchanged: 2 }));
    expect(await baseline()).toBe(run2.execution.id);
    expect(await ws.records('k_diff_products')).toEqual(productsBefore);

    // The original rows are still the baseline's.
    const run3 = await ws.run('diff', original, { diffCheck: true });
    expect(run3.step(1)).toEqual(counts({ unchanged: 3 }));

    // A changed row is processed again; the relationship stays set.
    const run4 = await ws.run('diff', changed, { diffCheck: true });
    expect(run4.execution.status).toBe('succeeded');
    expect(run4.step(0)).toEqual(counts({ unchanged: 3 }));
    expect(run4.step(1)).toEqual(counts({ updated: 1, unchanged: 2 }));
    const rows4 = (await ws.report(run4.execution)).upload(1);
    expect(rows4.map((r) => [r.Status, r.Codes])).toEqual([
      ['unchanged', 'DIFF_UNCHANGED'],
      ['updated', null],
      ['unchanged', 'DIFF_UNCHANGED'],
    ]);
    const products = new Map((await ws.records('k_diff_products')).map((p) => [p.fields.sku, p.fields]));
    expect(products.get('P2')).toEqual({ name: 'Nashi Pears', sku: 'P2', vendor: vendorIds.get('V1') });
    expect(products.get('P1')).toEqual({ name: 'Apples', sku: 'P1', vendor: vendorIds.get('V1') });

    // Without diff checking every row is matched again: unchanged by comparison, not by hash.
    const run5 = await ws.run('diff', changed, { diffCheck: false });
    expect(run5.execution.diffCheck).toBe(false);
    expect(run5.step(1)).toEqual(counts({ unchanged: 3 }));
    expect((await ws.report(run5.execution)).upload(1).map((r) => r.Codes)).toEqual([
      'NO_CHANGES',
      'NO_CHANGES',
      'NO_CHANGES',
    ]);
  });

  it('a cancelled live run that changed records does not leave a stale baseline', async () => {
    await ws.writeConnector('diff_cancel', {
      definition: itemsConnector('Diff cancel', ['k_diff_cancel'], { chunkSize: 1, diffCheck: true }),
    });
    const original = csvInput('in.csv', ['name', 'qty'], ['R1', '1'], ['R2', '2']);
    const runA = await ws.run('diff_cancel', original);
    expect(runA.step(0)).toEqual(counts({ created: 2 }));

    let cancel: Promise<unknown> | undefined;
    const runB = await ws.run(
      'diff_cancel',
      csvInput('in.csv', ['name', 'qty'], ['R1', '10'], ['R2', '20']),
      {
        onProgress: (event, ports, id) => {
          if (event.stage === 'load' && event.done === 1) {
            cancel = ports.executions.update(id, { cancelRequested: true });
            return cancel.then(() => undefined);
          }
        },
      },
    );
    await cancel;
    expect(runB.execution.status).toBe('cancelled');
    expect(runB.step(0)).toEqual(counts({ updated: 1, unprocessed: 1 }));
    expect((await ws.records('k_diff_cancel')).map((r) => r.fields.qty)).toEqual([10, 2]);

    const runC = await ws.run('diff_cancel', original);
    // Fails: R1 is skipped as DIFF_UNCHANGED and keeps 10.
    expect((await ws.records('k_diff_cancel')).map((r) => r.fields.qty)).toEqual([1, 2]);
    expect(runC.step(0)).toEqual(counts({ updated: 1, unchanged: 1 }));
  });
});

describe('connector versions', () => {
  it('an edit creates a new version, an execution keeps the version it was registered with', async () => {
    const v1 = itemsConnector('Versions', ['k_versions']);
    await ws.writeConnector('versions', { definition: v1 });
    const first = await ws.run('versions', csvInput('in.csv', ['name', 'qty'], ['A', '1']));
    expect(first.execution.connectorVersion).toBe(1);
    expect(first.applied.version.version).toBe(1);

    // The same definition with its keys in another order is no new version.
    const reordered = Object.fromEntries(Object.entries(v1).reverse()) as ConnectorDefinitionInput;
    await ws.writeConnector('versions', { definition: reordered });
    const again = await ws.run('versions', csvInput('in.csv', ['name', 'qty'], ['B', '2']));
    expect(again.execution.connectorVersion).toBe(1);
    expect((await ws.ports.connectors.getConnector('versions'))!.version).toBe(1);

    // Register a run on version 1, then edit the connector before the run starts.
    const inputPath = join(ws.dir, 'versions', 'data', 'pinned.csv');
    await writeFile(inputPath, 'name,qty\nD,4\n');
    const applied = await ws.apply('versions');
    const pinned = await registerExecution(ws.ports, {
      connectorRef: applied.connector.id,
      input: { path: inputPath },
      dryRun: false,
      trigger: 'api',
      initiatedBy: 'test',
    });
    const v2: ConnectorDefinitionInput = {
      ...v1,
      loadSteps: [
        {
          ...v1.loadSteps![0]!,
          mapping: [{ field: 'name', variable: 'name' }],
        },
      ],
    };
    await ws.writeConnector('versions', { definition: v2 });
    const edited = await ws.apply('versions');
    expect(edited.version.version).toBe(2);
    expect(edited.connector.version).toBe(2);

    const ran = await runExecution(ws.runtime, pinned.id);
    expect(ran.status).toBe('succeeded');
    expect(ran.connectorVersion).toBe(1);
    // Version 1 maps qty; version 2 no longer does.
    const byName = () =>
      ws.records('k_versions').then((r) => new Map(r.map((x) => [x.fields.name, x.fields])));
    expect((await byName()).get('D')).toEqual({ name: 'D', qty: 4 });

    const next = await ws.run('versions', csvInput('in.csv', ['name', 'qty'], ['C', '3']));
    expect(next.execution.connectorVersion).toBe(2);
    expect((await byName()).get('C')).toEqual({ name: 'C' });
    const report = await ws.report(next.execution);
    expect(report.summary.get('Connector version')).toBe(2);

    const stored1 = await ws.ports.connectors.getVersion(applied.connector.id, 1);
    const stored2 = await ws.ports.connectors.getVersion(applied.connector.id, 2);
    expect(stored1!.definition.loadSteps[0]!.mapping.map((m) => m.field)).toEqual(['name', 'qty']);
    expect(stored2!.definition.loadSteps[0]!.mapping.map((m) => m.field)).toEqual(['name']);
    expect(stored1!.hash).not.toBe(stored2!.hash);
    expect((await ws.ports.connectors.getConnector('versions'))!.version).toBe(2);
  });
});
