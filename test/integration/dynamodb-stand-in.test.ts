import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbControlStore } from '../../lambdas/adapters/aws/dynamodb-control-store.ts';
import { DynamoDbRecordStore } from '../../lambdas/adapters/aws/dynamodb-record-store.ts';
import { ScError } from '../../lambdas/core/errors.ts';
import type { ObjectDefinition } from '../../lambdas/core/object-schema.ts';
import {
  dynamoClientFor,
  startDynamoStandIn,
  type DynamoStandIn,
} from '../../lambdas/local/dynamo-stand-in.ts';

let dir: string;
let dirCount = 0;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sc-dynamo-stand-in-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});
const freshPath = () => join(dir, `workspace-${++dirCount}`, 'dynamodb');

async function busyError(promise: Promise<DynamoStandIn>): Promise<ScError> {
  const error = await promise.then(
    async (standIn) => {
      await standIn.stop();
      return new Error('expected WORKSPACE_BUSY');
    },
    (e: unknown) => e,
  );
  if (!(error instanceof ScError)) throw error;
  return error;
}

/**
 * Another `sc` process: starts a stand-in on `path` in a child process and reports `started` or the
 * error code; a started one stops when `stop()` closes its stdin.
 */
async function otherProcess(path: string): Promise<{ outcome: string; stop(): Promise<void> }> {
  const moduleUrl = new URL('../../lambdas/local/dynamo-stand-in.ts', import.meta.url).href;
  const script = `
    import { startDynamoStandIn } from ${JSON.stringify(moduleUrl)};
    try {
      const standIn = await startDynamoStandIn({ path: process.argv[1] });
      console.log('started');
      process.stdin.on('end', async () => { await standIn.stop(); process.exit(0); });
      process.stdin.resume();
    } catch (error) {
      console.log(error.code ?? error.message);
      process.exit(0);
    }`;
  const child: ChildProcessWithoutNullStreams = spawn(
    process.execPath,
    ['--import', 'tsx', '--input-type=module', '-e', script, path],
    // From the project root, where `tsx` resolves.
    { stdio: 'pipe', cwd: fileURLToPath(new URL('../..', import.meta.url)) },
  );
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const lines = createInterface({ input: child.stdout });
  const outcome = await new Promise<string>((done, fail) => {
    lines.once('line', done);
    child.once('exit', (code) => fail(new Error(`child exited (${code}) before reporting`)));
  });
  return {
    outcome,
    stop: async () => {
      child.stdin.end();
      await exited;
    },
  };
}

describe('startDynamoStandIn', () => {
  it('runs in memory with the tables created', async () => {
    const standIn = await startDynamoStandIn();
    expect(standIn.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const client = dynamoClientFor(standIn.endpoint);
    const { TableNames } = await client.send(new ListTablesCommand({}));
    expect(TableNames?.sort()).toEqual([standIn.tables.control, standIn.tables.records].sort());
    client.destroy();
    await standIn.stop();
    await standIn.stop();
  });

  it('keeps data on disk across stop and start', async () => {
    const path = freshPath();
    const object: ObjectDefinition = {
      apiName: 'vendor',
      name: 'Vendor',
      fields: [{ apiName: 'code', label: 'Code', type: 'text', required: false, options: [] }],
    };
    const at = '2024-05-01T10:00:00.000Z';

    const first = await startDynamoStandIn({ path });
    const firstClient = dynamoClientFor(first.endpoint);
    const records = new DynamoDbRecordStore({ client: firstClient, tableName: first.tables.records });
    await new DynamoDbControlStore({ client: firstClient, tableName: first.tables.control }).putObject(
      object,
    );
    await records.ensureIndexed(object, ['code']);
    const record = {
      id: 'v1',
      object: 'vendor',
      archived: false,
      createdAt: at,
      updatedAt: at,
      fields: { code: 'ACME' },
    };
    await records.writeMany(object, [{ record, previous: null }]);
    firstClient.destroy();
    await first.stop();

    const second = await startDynamoStandIn({ path });
    const secondClient = dynamoClientFor(second.endpoint);
    try {
      const control = new DynamoDbControlStore({ client: secondClient, tableName: second.tables.control });
      const reopened = new DynamoDbRecordStore({ client: secondClient, tableName: second.tables.records });
      expect(await control.getObject('vendor')).toEqual(object);
      expect((await reopened.getMany('vendor', ['v1'])).get('v1')).toEqual(record);
      expect(await reopened.findIdsByKeys('vendor', 'code', ['acme'])).toEqual(new Map([['acme', ['v1']]]));
    } finally {
      secondClient.destroy();
      await second.stop();
    }
  });

  it('refuses a workspace this process already has open, without losing its lock', async () => {
    const path = freshPath();
    const first = await startDynamoStandIn({ path });
    try {
      const error = await busyError(startDynamoStandIn({ path }));
      expect(error.code).toBe('WORKSPACE_BUSY');
      expect(error.message).toContain('Another sc process is using this workspace');

      // The first stand-in still works, and still keeps other processes out.
      const client = dynamoClientFor(first.endpoint);
      expect((await client.send(new ListTablesCommand({}))).TableNames).toHaveLength(2);
      client.destroy();
      const other = await otherProcess(path);
      expect(other.outcome).toBe('WORKSPACE_BUSY');
    } finally {
      await first.stop();
    }
    const again = await startDynamoStandIn({ path });
    await again.stop();
  });

  it('refuses a workspace another process has open, and takes it once that process stops', async () => {
    const path = freshPath();
    const other = await otherProcess(path);
    expect(other.outcome).toBe('started');
    try {
      const error = await busyError(startDynamoStandIn({ path }));
      expect(error.code).toBe('WORKSPACE_BUSY');
      expect(error.retryable).toBe(true);
    } finally {
      await other.stop();
    }
    const mine = await startDynamoStandIn({ path });
    await mine.stop();
  });
});
