import { spawn } from 'node:child_process';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createTables, LOCAL_TABLE_NAMES, type TableNames } from '../adapters/aws/dynamodb-tables.ts';
import { ScError } from '../core/errors.ts';

/**
 * The embedded DynamoDB of the local runtime: dynalite (DynamoDB's wire protocol over LevelDB) in this
 * process, so the AWS adapters run unchanged against it. It has no transactions, TTL or PartiQL.
 */

export interface DynamoStandInOptions {
  /** A directory for the LevelDB files, created when missing. Default: in memory, gone on `stop()`. */
  path?: string;
  /** Default `LOCAL_TABLE_NAMES`. */
  tables?: TableNames;
}

export interface DynamoStandIn {
  /** `http://127.0.0.1:<port>`, for `dynamoClientFor` or `AWS_ENDPOINT_URL_DYNAMODB`. */
  endpoint: string;
  tables: TableNames;
  /** Closes the server and the database; safe to call twice. */
  stop(): Promise<void>;
}

interface DynaliteOptions {
  path?: string;
  createTableMs?: number;
  deleteTableMs?: number;
  updateTableMs?: number;
}

interface LevelDatabase {
  open(): Promise<void>;
  close(): Promise<void>;
}

// dynalite ships no types; `level` is its own LevelDB binding, resolved from dynalite's folder so that
// the lock probe below uses the very copy dynalite opens.
const requireHere = createRequire(import.meta.url);
const dynalite = requireHere('dynalite') as (options: DynaliteOptions) => Server;
const { Level } = createRequire(requireHere.resolve('dynalite'))('level') as {
  Level: new (location: string) => LevelDatabase;
};

/**
 * Workspace databases this process has open. LevelDB's own lock is per process, and a second open of a
 * locked directory from the same process fails *and* releases the process's OS-level lock on it (it
 * closes its handle on the LOCK file); so this process must never probe a directory it already holds.
 */
const openLocations = new Set<string>();

export async function startDynamoStandIn(options: DynamoStandInOptions = {}): Promise<DynamoStandIn> {
  const location = options.path === undefined ? undefined : resolve(options.path);
  const tables = options.tables ?? LOCAL_TABLE_NAMES;
  if (location !== undefined) await claimLocation(location);
  try {
    const server = dynalite({ path: location, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
    await new Promise<void>((done, fail) => {
      server.once('error', fail);
      server.listen(0, '127.0.0.1', () => {
        server.off('error', fail);
        done();
      });
    });
    const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const client = dynamoClientFor(endpoint);
    try {
      await createTables(client, tables);
    } finally {
      client.destroy();
    }
    let stopping: Promise<void> | undefined;
    const stop = () =>
      (stopping ??= new Promise<void>((done, fail) =>
        server.close((error) => (error ? fail(error) : done())),
      ).finally(() => {
        if (location !== undefined) openLocations.delete(location);
      }));
    return { endpoint, tables, stop };
  } catch (error) {
    if (location !== undefined) openLocations.delete(location);
    throw error;
  }
}

/**
 * The stand-in in a child process of its own: dynalite and LevelDB then work on the second core while
 * this process runs the pipeline and the SDK, which more than doubles load throughput on two cores.
 * The child stops with this process. The database options and errors are those of `startDynamoStandIn`.
 */
export async function startDynamoStandInProcess(options: { path?: string } = {}): Promise<DynamoStandIn> {
  const script = fileURLToPath(new URL('./dynamo-stand-in-process.ts', import.meta.url));
  const tsx = pathToFileURL(requireHere.resolve('tsx')).href;
  const location = options.path === undefined ? '' : resolve(options.path);
  const child = spawn(process.execPath, ['--import', tsx, script, location], {
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const answer = await new Promise<{ endpoint?: string; error?: { code: string; message: string } }>(
    (done, fail) => {
      child.once('message', done);
      child.once('error', fail);
      child.once('exit', (code) =>
        fail(new ScError('STAND_IN_FAILED', `The DynamoDB stand-in exited (code ${code}).`)),
      );
    },
  );
  if (answer.error)
    throw new ScError(answer.error.code, answer.error.message, {
      retryable: answer.error.code === 'WORKSPACE_BUSY',
    });
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= new Promise<void>((done) => {
      if (child.exitCode !== null) return done();
      child.once('exit', () => done());
      child.kill('SIGTERM');
    }));
  return { endpoint: answer.endpoint!, tables: LOCAL_TABLE_NAMES, stop };
}

/** A client for the stand-in: region `us-east-1` and dummy credentials (dynalite checks neither). */
export function dynamoClientFor(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({
    region: 'us-east-1',
    endpoint,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
}

/**
 * Makes sure no other stand-in, in this process or another, has the database open. dynalite itself
 * cannot report a locked database (its open fails in the background and the process crashes), so the
 * lock is probed first by opening and closing the database; another process could still take it in the
 * instant between that close and dynalite's open.
 */
async function claimLocation(location: string): Promise<void> {
  if (openLocations.has(location)) throw workspaceBusy(location);
  openLocations.add(location);
  try {
    await mkdir(location, { recursive: true });
    const probe = new Level(location);
    try {
      await probe.open();
    } catch (error) {
      if (isLocked(error)) throw workspaceBusy(location, error);
      throw error;
    }
    await probe.close();
  } catch (error) {
    openLocations.delete(location);
    throw error;
  }
}

function isLocked(error: unknown): boolean {
  const codeOf = (e: unknown) => (e as { code?: unknown } | undefined)?.code;
  return codeOf(error) === 'LEVEL_LOCKED' || codeOf((error as { cause?: unknown }).cause) === 'LEVEL_LOCKED';
}

function workspaceBusy(location: string, cause?: unknown): ScError {
  return new ScError(
    'WORKSPACE_BUSY',
    `Another sc process is using this workspace (its database ${location} is locked). Wait for that ` +
      '`sc run` to finish, or stop it, then try again.',
    { retryable: true, ...(cause === undefined ? {} : { cause }) },
  );
}
