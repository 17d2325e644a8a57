import ExcelJS from 'exceljs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyExample, sc, scJson } from '../helpers/cli.ts';

interface RunJson {
  id: string;
  status: string;
  dryRun: boolean;
  connector: { apiName: string; version: number };
  counts: {
    scopes: Record<string, { rows: number; valid: number; invalid: number }>;
    steps: Array<
      Record<'created' | 'updated' | 'unchanged' | 'skipped' | 'failed' | 'unprocessed', number> & {
        name: string;
        object: string;
      }
    >;
  };
  reportPath: string | null;
  error: { code: string; message: string } | null;
}
interface RecordJson {
  id: string;
  archived: boolean;
  createdAt: string;
  updatedAt: string;
  fields: Record<string, unknown>;
}

const CONNECTOR = 'vendor_product_import';
const stepCounts = (run: RunJson, i: number) => {
  const { name: _n, object: _o, ...counts } = run.counts.steps[i]!;
  return counts;
};

describe('the catalog example through the CLI', () => {
  let ws: { dir: string; cleanup: () => Promise<void> };
  const run = (file: string, ...flags: string[]) =>
    scJson<RunJson>([
      'run',
      join(ws.dir, CONNECTOR),
      '--input',
      join(ws.dir, CONNECTOR, 'data', file),
      ...flags,
    ]);
  const records = async (object: string) =>
    (await scJson<RecordJson[]>(['records', object, '--workspace', ws.dir])).json;

  beforeAll(async () => {
    ws = await copyExample('catalog');
  });
  afterAll(async () => {
    await ws.cleanup();
  });

  it('a first live run creates vendors and their products, and reports invalid and failed rows', async () => {
    const first = await run('catalog.csv');
    expect(first.code).toBe(3);
    const json = first.json;
    expect(json.status).toBe('partial_success');
    expect(json.dryRun).toBe(false);
    expect(json.connector).toEqual({ apiName: 'vendor_product_import', version: 1 });
    // 8 data lines, one exact duplicate removed by the SQL; the Rye Bread row has price "N/A".
    expect(json.counts.scopes).toEqual({ catalog: { rows: 7, valid: 6, invalid: 1 } });
    expect(json.counts.steps.map((s) => [s.name, s.object])).toEqual([
      ['Vendors', 'vendors'],
      ['Products', 'products'],
    ]);
    expect(stepCounts(json, 0)).toEqual({
      created: 4,
      updated: 0,
      unchanged: 2,
      skipped: 0,
      failed: 0,
      unprocessed: 0,
    });
    // Smoked Salmon's category "Seafood" is not an option of the dropdown.
    expect(stepCounts(json, 1)).toEqual({
      created: 5,
      updated: 0,
      unchanged: 0,
      skipped: 0,
      failed: 1,
      unprocessed: 0,
    });
    expect(json.error).toBeNull();
    expect(json.reportPath).toMatch(/report\.xlsx$/);

    const vendors = await records('vendors');
    expect(vendors.map((v) => v.fields.name).sort()).toEqual([
      'Coastal Catch',
      'Green Valley Farms',
      'Stone Mill Bakery',
      'Sunrise Dairy',
    ]);
    const greenValley = vendors.find((v) => v.fields.name === 'Green Valley Farms')!;
    expect(greenValley.fields).toEqual({
      name: 'Green Valley Farms',
      email: 'sales@greenvalley.example',
      phone: '+14155550132',
    });

    const products = await records('products');
    expect(products).toHaveLength(5);
    const apples = products.find((p) => p.fields.sku === 'GV-001')!;
    expect(apples.archived).toBe(false);
    expect(apples.fields).toEqual({
      name: 'Honeycrisp Apples',
      sku: 'GV-001',
      price: 3.49,
      launch_date: '2024-03-15',
      in_stock: true,
      category: 'Fruit',
      tags: ['Organic', 'Local'],
      vendor: greenValley.id,
    });
    const cheddar = products.find((p) => p.fields.sku === 'SD-101')!;
    expect(cheddar.fields).toMatchObject({ price: 1234.5, launch_date: '2024-04-15', in_stock: true });
    const sourdough = products.find((p) => p.fields.sku === 'SM-7')!;
    // "2024-05-02 07:30" loses its time; "Seasonal" became an option through createOptions.
    expect(sourdough.fields).toMatchObject({
      price: 6,
      launch_date: '2024-05-02',
      tags: ['Local', 'Seasonal'],
    });
  });

  it('the report has every sheet, and each row its outcome and codes', async () => {
    const { json } = await run('catalog.csv', '--dry-run');
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.readFile(json.reportPath!);
    expect(workbook.worksheets.map((s) => s.name)).toEqual([
      'Summary Stats',
      'SQL Output (catalog)',
      'Extracted Variables (catalog)',
      'Vendors Upload (catalog)',
      'Products Upload (catalog)',
    ]);
    const summary = workbook.getWorksheet('Summary Stats')!;
    const items = new Map<string, unknown>();
    summary.eachRow((row) => items.set(String(row.getCell(1).value), row.getCell(2).value));
    expect(items.get('Mode')).toBe('Dry run');
    expect(items.get('Status')).toBe('partial_success');

    const variables = workbook.getWorksheet('Extracted Variables (catalog)')!;
    const header = (variables.getRow(1).values as unknown[]).slice(1);
    const invalid = variables.getRow(8).values as unknown[];
    expect(invalid[header.indexOf('Status') + 1]).toBe('invalid');
    expect(String(invalid[header.indexOf('Error Codes') + 1])).toContain('INVALID_NUMBER');

    const upload = workbook.getWorksheet('Products Upload (catalog)')!;
    const uploadHeader = (upload.getRow(1).values as unknown[]).slice(1);
    const statuses: string[] = [];
    upload.eachRow((row, n) => {
      if (n > 1) statuses.push(String(row.getCell(uploadHeader.indexOf('Status') + 1).value));
    });
    // A second run over the same file: every product exists, Smoked Salmon still fails.
    expect(statuses.sort()).toEqual([
      'failed',
      'unchanged',
      'unchanged',
      'unchanged',
      'unchanged',
      'unchanged',
    ]);
  });

  it('a second run updates changed products, reports unchanged ones, and extends multi-selects', async () => {
    const second = await run('catalog-update.csv');
    expect(second.code).toBe(0);
    expect(second.json.status).toBe('succeeded');
    // Stone Mill Bakery gets the phone it lacked (only_update_blank); the others are unchanged.
    expect(stepCounts(second.json, 0)).toEqual({
      created: 0,
      updated: 1,
      unchanged: 3,
      skipped: 0,
      failed: 0,
      unprocessed: 0,
    });
    expect(stepCounts(second.json, 1)).toEqual({
      created: 1,
      updated: 2,
      unchanged: 1,
      skipped: 0,
      failed: 0,
      unprocessed: 0,
    });

    const products = await records('products');
    const apples = products.find((p) => p.fields.sku === 'GV-001')!;
    expect(apples.fields.price).toBe(3.79);
    expect(apples.fields.tags).toEqual(['Organic', 'Local', 'Seasonal']);
    expect(apples.updatedAt > apples.createdAt).toBe(true);
    const spinach = products.find((p) => p.fields.sku === 'GV-002')!;
    expect(spinach.updatedAt).toBe(spinach.createdAt);
    expect(products).toHaveLength(6);
  });

  it('diff checking skips the rows the previous successful live run loaded', async () => {
    const third = await run('catalog-update.csv', '--diff-check');
    expect(third.json.status).toBe('succeeded');
    for (const step of [0, 1]) {
      expect(stepCounts(third.json, step)).toEqual({
        created: 0,
        updated: 0,
        unchanged: 4,
        skipped: 0,
        failed: 0,
        unprocessed: 0,
      });
    }
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.readFile(third.json.reportPath!);
    const upload = workbook.getWorksheet('Products Upload (catalog)')!;
    const header = (upload.getRow(1).values as unknown[]).slice(1);
    expect(String(upload.getRow(2).getCell(header.indexOf('Codes') + 1).value)).toContain('DIFF_UNCHANGED');

    const again = await run('catalog-update.csv', '--no-diff-check');
    expect(stepCounts(again.json, 1)).toEqual({
      created: 0,
      updated: 0,
      unchanged: 4,
      skipped: 0,
      failed: 0,
      unprocessed: 0,
    });
    const workbook2 = new ExcelJS.Workbook();
    await workbook2.xlsx.readFile(again.json.reportPath!);
    const upload2 = workbook2.getWorksheet('Products Upload (catalog)')!;
    expect(String(upload2.getRow(2).getCell(header.indexOf('Codes') + 1).value)).toContain('NO_CHANGES');
  });
});

describe('dry runs', () => {
  it('run everything, report what a live run would do, and write nothing', async () => {
    const ws = await copyExample('catalog');
    try {
      const dir = join(ws.dir, CONNECTOR);
      const dry = await scJson<RunJson>([
        'run',
        dir,
        '--input',
        join(dir, 'data', 'catalog.csv'),
        '--dry-run',
      ]);
      expect(dry.code).toBe(3);
      expect(dry.json.dryRun).toBe(true);
      expect(stepCounts(dry.json, 0)).toEqual({
        created: 4,
        updated: 0,
        unchanged: 2,
        skipped: 0,
        failed: 0,
        unprocessed: 0,
      });
      expect(stepCounts(dry.json, 1)).toEqual({
        created: 5,
        updated: 0,
        unchanged: 0,
        skipped: 0,
        failed: 1,
        unprocessed: 0,
      });
      expect((await scJson<RecordJson[]>(['records', 'vendors', '--workspace', ws.dir])).json).toEqual([]);
      expect((await scJson<RecordJson[]>(['records', 'products', '--workspace', ws.dir])).json).toEqual([]);
      // A dry run never changes the connector's status.
      const validate = await scJson<{ status: string }>(['validate', dir]);
      expect(validate.json.status).toBe('setup');
    } finally {
      await ws.cleanup();
    }
  });
});

describe('plain output', () => {
  it('prints the execution id, status, counts and report path', async () => {
    const ws = await copyExample('catalog');
    try {
      const dir = join(ws.dir, CONNECTOR);
      const result = await sc(['run', dir, '--input', join(dir, 'data', 'catalog-update.csv')]);
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/^Execution [0-9a-f-]{36}: succeeded/m);
      expect(result.stdout).toContain('Scope catalog: 4 rows, 4 valid, 0 invalid');
      expect(result.stdout).toMatch(/Step 2 Products \(products\): 4 created/);
      expect(result.stdout).toMatch(/^Report: .*report\.xlsx$/m);
      // Not a terminal: progress as plain lines on stderr.
      expect(result.stderr).toContain('Running SQL');
    } finally {
      await ws.cleanup();
    }
  });
});
