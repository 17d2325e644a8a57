import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyExample, sc, scJson } from '../helpers/cli.ts';

/*
 * Export, import, duplicate and the dev package through the real `sc` CLI, as a user moves a connector:
 * an export of the catalog example imported into a fresh workspace that has the same objects runs and
 * gives the same records; an unzipped dev package runs with `sc run`; and the commands' exit codes and
 * `--json` output, conflicts and bad files included.
 */

const CONNECTOR = 'vendor_product_import';

interface RunJson {
  status: string;
  counts: { scopes: Record<string, unknown>; steps: unknown[] };
}
interface RecordJson {
  id: string;
  fields: Record<string, unknown>;
}
interface TransferJson {
  apiName: string;
  dir: string;
  status: string;
  renamedFrom?: string;
  activation: { ready: boolean; issues: Array<{ path: string; message: string }> };
  withheld?: string[];
}
interface ErrorJson {
  error: { code: string; message: string; issues?: Array<{ path: string; message: string }> };
}

let source: { dir: string; cleanup: () => Promise<void> };
let target: string;
let scratch: string;
let exportFile: string;
let sourceRun: RunJson;

const input = () => join(source.dir, CONNECTOR, 'data', 'catalog.csv');
const at = (cwd: string) => ({ cwd });

/**
 * The records of the catalog's two objects with what differs between workspaces taken out: ids and
 * timestamps, and a product's vendor (a record id) replaced by the vendor's name.
 */
async function comparableRecords(workspace: string) {
  const read = async (object: string) =>
    (await scJson<RecordJson[]>(['records', object, '--workspace', workspace])).json;
  const vendors = await read('vendors');
  const vendorName = new Map(vendors.map((v) => [v.id, v.fields.name]));
  const products = (await read('products')).map((p) => ({
    ...p.fields,
    vendor: vendorName.get(String(p.fields.vendor)) ?? null,
  }));
  const byName = (a: Record<string, unknown>, b: Record<string, unknown>) =>
    String(a.name).localeCompare(String(b.name));
  return { vendors: vendors.map((v) => v.fields).sort(byName), products: products.sort(byName) };
}

beforeAll(async () => {
  source = await copyExample('catalog');
  scratch = await mkdtemp(join(tmpdir(), 'sc-transfer-'));
  target = join(scratch, 'target');
  await mkdir(target);
  await cp(join(source.dir, 'objects'), join(target, 'objects'), { recursive: true });
  exportFile = join(scratch, 'vendor_product_import.json');
});
afterAll(async () => {
  await source?.cleanup();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe('moving a connector between workspaces', () => {
  it('exports the catalog connector with --out, and to standard output', async () => {
    const written = await scJson<{ apiName: string; file: string; withheld: string[] }>(
      ['export', CONNECTOR, '--out', exportFile],
      at(source.dir),
    );
    expect(written.code).toBe(0);
    expect(written.json).toEqual({ apiName: CONNECTOR, version: 1, file: exportFile, withheld: [] });
    const file = JSON.parse(await readFile(exportFile, 'utf8'));
    expect(file).toMatchObject({
      format: 'smartconnector.connector-export',
      formatVersion: 1,
      connector: {
        apiName: CONNECTOR,
        sql: { script: expect.stringContaining('CREATE TABLE output.catalog') },
      },
    });
    const printed = await sc(['export', join(source.dir, CONNECTOR)]);
    expect(printed.code).toBe(0);
    expect(JSON.parse(printed.stdout).connector).toEqual(file.connector);
  });

  it('imports it into a fresh workspace as a new folder in setup, and it runs to the same records', async () => {
    const imported = await scJson<TransferJson>(['import', exportFile], at(target));
    expect(imported.code, imported.stderr).toBe(0);
    expect(imported.json).toMatchObject({
      apiName: CONNECTOR,
      dir: join(target, CONNECTOR),
      status: 'setup',
      activation: { ready: true, issues: [] },
      withheld: [],
    });
    expect(existsSync(join(target, CONNECTOR, 'connector.sql'))).toBe(true);
    expect(JSON.parse(await readFile(join(target, CONNECTOR, 'connector.json'), 'utf8')).sql).toEqual({
      file: 'connector.sql',
    });

    const runIn = (workspace: string) =>
      scJson<RunJson>(['run', join(workspace, CONNECTOR), '--input', input()]);
    const [there, here] = [await runIn(source.dir), await runIn(target)];
    expect(there.code).toBe(3);
    expect(here.code).toBe(3);
    expect(here.json.counts).toEqual(there.json.counts);
    sourceRun = there.json;
    const [a, b] = [await comparableRecords(source.dir), await comparableRecords(target)];
    expect(a.vendors.length).toBeGreaterThan(0);
    expect(a.products.length).toBeGreaterThan(0);
    expect(b).toEqual(a);
  });

  it('refuses an import whose api name is taken (exit 2, CONFLICT) and renames on request', async () => {
    const refused = await scJson<ErrorJson>(['import', exportFile], at(target));
    expect(refused.code).toBe(2);
    expect(refused.json.error.code).toBe('CONFLICT');
    expect(refused.json.error.message).toContain('--on-conflict rename');

    const renamed = await scJson<TransferJson>(['import', exportFile, '--on-conflict', 'rename'], at(target));
    expect(renamed.code).toBe(0);
    expect(renamed.json).toMatchObject({
      apiName: `${CONNECTOR}_2`,
      renamedFrom: CONNECTOR,
      dir: join(target, `${CONNECTOR}_2`),
    });
    const bad = await scJson<ErrorJson>(['import', exportFile, '--on-conflict', 'merge'], at(target));
    expect(bad.code).toBe(2);
    expect(bad.json.error.message).toContain('--on-conflict takes fail or rename');
  });

  it('imports a connector that fails activation checks here, listing them; refuses one naming a missing object', async () => {
    const document = JSON.parse(await readFile(exportFile, 'utf8'));
    const incomplete = join(scratch, 'incomplete.json');
    document.connector.apiName = 'incomplete';
    document.connector.loadSteps[1].mapping = [];
    await writeFile(incomplete, JSON.stringify(document));
    const imported = await scJson<TransferJson>(
      ['import', incomplete, '--dir', join(target, 'later')],
      at(target),
    );
    expect(imported.code).toBe(0);
    expect(imported.json).toMatchObject({
      apiName: 'incomplete',
      status: 'setup',
      activation: { ready: false },
    });
    expect(imported.json.activation.issues.map((i) => i.path)).toEqual(['loadSteps[1].mapping']);
    const text = await sc(['import', incomplete, '--on-conflict', 'rename'], at(target));
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('cannot be activated until these are fixed:\n  - loadSteps[1].mapping:');

    const missing = join(scratch, 'missing.json');
    document.connector.apiName = 'elsewhere';
    document.connector.loadSteps[1].object = 'invoices';
    await writeFile(missing, JSON.stringify(document));
    const refused = await scJson<ErrorJson>(['import', missing], at(target));
    expect(refused.code).toBe(2);
    expect(refused.json.error.code).toBe('INVALID_DEFINITION');
    expect(refused.json.error.issues!.map((i) => i.path)).toContain('loadSteps[1].object');
    expect(existsSync(join(target, 'elsewhere'))).toBe(false);
  });

  it('refuses a file that is not an export with exit 2 and the JSON path', async () => {
    const bare = await scJson<ErrorJson>(
      ['import', join(source.dir, CONNECTOR, 'connector.json')],
      at(target),
    );
    expect(bare.code).toBe(2);
    expect(bare.json.error.code).toBe('INVALID_DEFINITION');
    expect(bare.json.error.issues!.map((i) => i.path)).toContain('format');
    const absent = await scJson<ErrorJson>(['import', join(scratch, 'nope.json')], at(target));
    expect(absent.code).toBe(2);
    expect(absent.json.error.code).toBe('IMPORT_FILE_NOT_FOUND');
    const unknown = await scJson<ErrorJson>(['export', 'nope'], at(target));
    expect(unknown.code).toBe(2);
    expect(unknown.json.error.code).toBe('CONNECTOR_NOT_FOUND');
  });

  it('duplicates a folder as "<name> (copy)" in a new folder, in setup', async () => {
    const copy = await scJson<TransferJson & { name: string; copiedFrom: string }>(
      ['duplicate', join(target, CONNECTOR)],
      at(target),
    );
    expect(copy.code).toBe(0);
    expect(copy.json).toMatchObject({
      apiName: 'vendor_product_import_copy',
      name: 'Vendor product import (copy)',
      status: 'setup',
      copiedFrom: CONNECTOR,
      activation: { ready: true },
    });
    const sql = (dir: string) => readFile(join(target, dir, 'connector.sql'), 'utf8');
    expect(await sql('vendor_product_import_copy')).toBe(await sql(CONNECTOR));
    const again = await scJson<ErrorJson>(
      ['duplicate', join(target, CONNECTOR), '--dir', join(target, CONNECTOR)],
      at(target),
    );
    expect(again.code).toBe(2);
    expect(again.json.error.code).toBe('FOLDER_EXISTS');
    const notFolder = await scJson<ErrorJson>(['duplicate', 'nope'], at(target));
    expect(notFolder.code).toBe(2);
  });
});

describe('the dev package', () => {
  it('unzipped into an empty folder, runs with the sc run line of its README and gives the same counts', async () => {
    const zip = join(scratch, 'dev.zip');
    const written = await scJson<{ entries: string[]; runCommand: string; input: { executionId: string } }>(
      ['package', CONNECTOR, '--out', zip],
      at(source.dir),
    );
    expect(written.code).toBe(0);
    expect(written.json.entries.sort()).toEqual([
      'README.md',
      'connector.json',
      'connector.sql',
      'data/catalog.csv',
      'objects/products.json',
      'objects/vendors.json',
    ]);
    expect(written.json.runCommand).toBe('sc run . --input data/catalog.csv');
    expect(written.json.input.executionId).toEqual(expect.any(String));

    const folder = join(scratch, 'unzipped');
    await mkdir(folder);
    await promisify(execFile)('unzip', ['-q', zip, '-d', folder]);
    expect(await readFile(join(folder, 'README.md'), 'utf8')).toContain(
      'sc run . --input data/catalog.csv\n',
    );
    const run = await scJson<RunJson>(['run', '.', '--input', 'data/catalog.csv'], at(folder));
    expect(run.code).toBe(3);
    expect(run.json.counts).toEqual(sourceRun.counts);
  });

  it('refuses an execution it does not know with exit 2', async () => {
    const unknown = await scJson<ErrorJson>(
      ['package', CONNECTOR, '--execution', 'nope', '--out', join(scratch, 'x.zip')],
      at(source.dir),
    );
    expect(unknown.code).toBe(2);
    expect(unknown.json.error.code).toBe('EXECUTION_NOT_FOUND');
  });

  it("takes the newest file in the folder's data/ for a connector that never ran", async () => {
    await mkdir(join(target, 'later', 'data'));
    await writeFile(join(target, 'later', 'data', 'sample rows.csv'), await readFile(input()));
    const written = await scJson<{ entries: string[]; runCommand: string; input: { executionId: null } }>(
      ['package', 'later', '--out', join(scratch, 'later.zip')],
      at(target),
    );
    expect(written.code).toBe(0);
    expect(written.json.input).toEqual({ entry: 'data/sample rows.csv', executionId: null });
    expect(written.json.runCommand).toBe("sc run . --input 'data/sample rows.csv'");
  });
});
