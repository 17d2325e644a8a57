import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sc, scJson } from '../helpers/cli.ts';

/*
 * `sc executions list|get|cancel` through the real CLI: the API's execution shape with --json, filters,
 * text output, and exit codes. The connector's limit of 0 keeps its live run queued, so there is one to
 * cancel; its dry run is never held.
 */

interface ExecutionJson {
  id: string;
  connector: { id: string; apiName: string; name: string; version: number };
  status: string;
  dryRun: boolean;
  trigger: string;
}
interface ErrorJson {
  error: { code: string; message: string };
}

let dir: string;
let dryRunId: string;
let queuedId: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sc-executions-'));
  await mkdir(join(dir, 'objects'));
  await mkdir(join(dir, 'items', 'data'), { recursive: true });
  await writeFile(
    join(dir, 'objects', 'items.json'),
    JSON.stringify({ apiName: 'items', name: 'Items', fields: [{ name: 'qty', type: 'integer' }] }),
  );
  await writeFile(
    join(dir, 'items', 'connector.json'),
    JSON.stringify({
      name: 'Items',
      variables: [
        { name: 'name', type: 'string', required: true },
        { name: 'qty', type: 'number' },
      ],
      loadSteps: [
        {
          name: 'Items',
          object: 'items',
          mapping: [
            { field: 'name', variable: 'name' },
            { field: 'qty', variable: 'qty' },
          ],
        },
      ],
      settings: { maxConcurrentExecutions: 0 },
    }),
  );
  await writeFile(join(dir, 'items', 'data', 'items.csv'), 'name,qty\nApple,1\nPear,2\n');
  const run = (...flags: string[]) =>
    scJson<{ id: string; status: string }>(['run', 'items', '--input', 'items/data/items.csv', ...flags], {
      cwd: dir,
    });
  const dry = await run('--dry-run');
  expect(dry.code, dry.stderr).toBe(0);
  dryRunId = dry.json.id;
  const live = await run();
  expect(live.code).toBe(1);
  expect(live.json.status).toBe('queued');
  queuedId = live.json.id;
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('sc executions', () => {
  it("lists a connector's executions newest first in the API's shape, and filters by status", async () => {
    const all = await scJson<ExecutionJson[]>(['executions', 'list', 'items'], { cwd: dir });
    expect(all.code).toBe(0);
    expect(all.json.map((e) => [e.id, e.status, e.dryRun])).toEqual([
      [queuedId, 'queued', false],
      [dryRunId, 'succeeded', true],
    ]);
    expect(Object.keys(all.json[0]!).sort()).toEqual(
      [
        'id',
        'connector',
        'status',
        'dryRun',
        'trigger',
        'createdAt',
        'startedAt',
        'endedAt',
        'stage',
        'progress',
        'counts',
        'error',
      ].sort(),
    );
    expect(all.json[0]!.connector).toMatchObject({ apiName: 'items', name: 'Items', version: 1 });

    const queued = await scJson<ExecutionJson[]>(['executions', 'list', 'items', '--status', 'queued'], {
      cwd: dir,
    });
    expect(queued.json.map((e) => e.id)).toEqual([queuedId]);
    const text = await sc(['executions', 'list', join(dir, 'items')]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^id +status +mode +trigger +created +rows +error\n/);
    expect(text.stdout).toContain('2 execution(s) of items');
    const bad = await scJson<ErrorJson>(['executions', 'list', 'items', '--status', 'done'], { cwd: dir });
    expect(bad.code).toBe(2);
    expect(bad.json.error.message).toContain('--status takes one of queued');
  });

  it('gets one execution as JSON or text; an unknown id exits 2', async () => {
    const got = await scJson<ExecutionJson>(['executions', 'get', dryRunId], { cwd: dir });
    expect(got.code).toBe(0);
    expect(got.json).toMatchObject({ id: dryRunId, status: 'succeeded', dryRun: true, trigger: 'upload' });
    const text = await sc(['executions', 'get', dryRunId], { cwd: dir });
    expect(text.stdout).toContain(`Execution ${dryRunId}: succeeded (dry run)`);
    expect(text.stdout).toMatch(/Step 1 Items \(items\): 2 created/);
    expect(text.stdout).toMatch(/Report: .*report\.xlsx/);
    const unknown = await scJson<ErrorJson>(['executions', 'get', 'nope'], { cwd: dir });
    expect(unknown.code).toBe(2);
    expect(unknown.json.error.code).toBe('EXECUTION_NOT_FOUND');
  });

  it('cancels a queued execution; cancelling it again exits 2 with EXECUTION_ENDED', async () => {
    const cancelled = await scJson<ExecutionJson>(['executions', 'cancel', queuedId], { cwd: dir });
    expect(cancelled.code).toBe(0);
    expect(cancelled.json).toMatchObject({ id: queuedId, status: 'cancelled' });
    const again = await scJson<ErrorJson>(['executions', 'cancel', queuedId], { cwd: dir });
    expect(again.code).toBe(2);
    expect(again.json.error.code).toBe('EXECUTION_ENDED');
  });
});
