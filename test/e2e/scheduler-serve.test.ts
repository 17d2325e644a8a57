import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openWorkspaceConnector } from '../../lambdas/local/cli/session.ts';
import { setConnectorActive } from '../../lambdas/pipeline/control.ts';
import type { TickLogEntry } from '../../lambdas/pipeline/schedule-tick.ts';
import type { StoredRecord } from '../../lambdas/core/model.ts';
import { ROOT, copyExample, sc, scJson } from '../helpers/cli.ts';

/*
 * A scheduler connector ticking under a real `sc serve` child process: the catalog example's
 * `catalog_status_tags`, its cadence set to every minute, recomputes the status tags of the products in
 * the store, from reference data and the tick's date, at its first tick.
 */

let example: { dir: string; cleanup: () => Promise<void> };
/** A second, untouched copy for `sc validate`, which needs the workspace while the first is busy. */
let pristine: { dir: string; cleanup: () => Promise<void> };
beforeAll(async () => {
  example = await copyExample('catalog');
  pristine = await copyExample('catalog');
});
afterAll(async () => {
  await example?.cleanup();
  await pristine?.cleanup();
});

interface RecordJson {
  id: string;
  fields: Record<string, unknown>;
}

describe('a scheduler connector under sc serve', () => {
  it('ticks on its cadence and runs on input.schedule and reference data', async () => {
    const dir = example.dir;
    const connectorDir = join(dir, 'catalog_status_tags');
    // Every minute instead of every morning.
    const file = join(connectorDir, 'connector.json');
    const definition = JSON.parse(await readFile(file, 'utf8')) as { settings: Record<string, unknown> };
    definition.settings.cadence = 'rate(1 minute)';
    await writeFile(file, JSON.stringify(definition, null, 2));

    const [validated] = await Promise.all([
      // The example as shipped passes `sc validate`, activation checks included.
      sc(['validate', join(pristine.dir, 'catalog_status_tags')]),
      // Products to work from (as the catalog import would load them), and the connector activated.
      prepare(connectorDir, dir),
    ]);
    expect(validated.stdout).toContain('passes the activation checks');
    expect(validated.code).toBe(0);

    const child = spawn(process.execPath, [join(ROOT, 'bin/sc.js'), 'serve', '--port', '0'], {
      cwd: dir,
      env: { ...process.env, SC_WORKSPACE: '' },
    });
    let output = '';
    let tick: TickLogEntry | undefined;
    try {
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
      await until(() => output.includes('Cadences: '), 60_000);
      expect(output).toMatch(
        /Cadences: .*catalog_status_tags rate\(1 minute\) next \d{4}-\d\d-\d\dT\d\d:\d\d:00\.000Z/,
      );
      await until(() => {
        tick = ticks(output).find((t) => t.apiName === 'catalog_status_tags');
        return tick !== undefined;
      }, 100_000);
    } finally {
      // Serve stops ticking, then waits for the runs it started before it exits.
      child.kill('SIGINT');
      await new Promise((done) => child.once('exit', done));
    }
    expect(tick).toMatchObject({ event: 'schedule.tick', outcome: 'registered', started: true });
    expect(tick!.tickTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:00Z$/);

    // The product not in stock and the one launched days ago are tagged; the other keeps its tags.
    const products = (await scJson<RecordJson[]>(['records', 'products', '--workspace', dir])).json;
    expect(Object.fromEntries(products.map((p) => [p.fields.sku, p.fields.tags ?? []]))).toEqual({
      'SD-100': ['Local', 'Out of stock'],
      'GV-001': ['Organic', 'Local'],
      'BB-300': ['New arrival'],
    });
  }, 170_000);
});

/** Writes three products and activates the connector, in this process, before serve holds the workspace. */
async function prepare(connectorDir: string, workspace: string): Promise<void> {
  const session = await openWorkspaceConnector(connectorDir, workspace);
  try {
    const { ports } = session.runtime;
    const at = new Date().toISOString();
    const daysAgo = (n: number) => new Date(Date.now() - n * 86_400_000).toISOString().slice(0, 10);
    const product = (id: string, fields: StoredRecord['fields']): StoredRecord => ({
      id,
      object: 'products',
      archived: false,
      createdAt: at,
      updatedAt: at,
      fields,
    });
    await ports.records.writeMany(
      session.objects.get('products')!,
      [
        product('6f1d2b1e-0000-4000-8000-000000000001', {
          name: 'Whole Milk 1L',
          sku: 'SD-100',
          in_stock: false,
          launch_date: '2024-04-01',
          tags: ['Local'],
        }),
        product('6f1d2b1e-0000-4000-8000-000000000002', {
          name: 'Honeycrisp Apples',
          sku: 'GV-001',
          in_stock: true,
          launch_date: '2024-03-15',
          tags: ['Organic', 'Local'],
        }),
        product('6f1d2b1e-0000-4000-8000-000000000003', {
          name: 'Blueberry Bagels',
          sku: 'BB-300',
          in_stock: true,
          launch_date: daysAgo(3),
        }),
      ].map((record) => ({ record, previous: null })),
    );
    await setConnectorActive(ports, session.applied.connector.id, true);
  } finally {
    await session.close();
  }
}

/** The tick log lines (one JSON object per line) in serve's output; a line still being written is left out. */
function ticks(output: string): TickLogEntry[] {
  return output
    .split('\n')
    .slice(0, -1)
    .filter((line) => line.startsWith('{') && line.includes('"schedule.tick"'))
    .map((line) => JSON.parse(line) as TickLogEntry);
}

async function until(condition: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const start = Date.now();
  while (!(await condition())) {
    if (Date.now() - start > timeoutMs) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
