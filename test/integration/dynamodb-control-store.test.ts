import { randomUUID } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbControlStore } from '../../lambdas/adapters/aws/dynamodb-control-store.ts';
import { documentClientFor } from '../../lambdas/adapters/aws/dynamodb-tables.ts';
import { connectorDefinitionSchema, type ConnectorDefinition } from '../../lambdas/core/connector-schema.ts';
import { ScError } from '../../lambdas/core/errors.ts';
import type { Execution } from '../../lambdas/core/model.ts';
import { parseObjectDefinition } from '../../lambdas/core/object-schema.ts';
import type { Clock } from '../../lambdas/ports/clock.ts';
import type { ConnectorRecord, ConnectorVersion } from '../../lambdas/ports/connector-store.ts';
import {
  dynamoClientFor,
  startDynamoStandIn,
  type DynamoStandIn,
} from '../../lambdas/local/dynamo-stand-in.ts';

let standIn: DynamoStandIn;
let client: DynamoDBClient;

beforeAll(async () => {
  standIn = await startDynamoStandIn();
  client = dynamoClientFor(standIn.endpoint);
});
afterAll(async () => {
  client.destroy();
  await standIn.stop();
});

/** A clock tests move by hand. */
function manualClock(iso = '2024-05-01T10:00:00.000Z'): Clock & { set(iso: string): void } {
  let now = new Date(iso);
  return { now: () => now, set: (next) => (now = new Date(next)) };
}

function newStore(clock: Clock = manualClock()): DynamoDbControlStore {
  return new DynamoDbControlStore({ client, tableName: standIn.tables.control, clock });
}

const unique = (prefix: string) => `${prefix}_${randomUUID().slice(0, 8)}`;

function definition(name: string, sql = 'SELECT * FROM input'): ConnectorDefinition {
  const parsed = connectorDefinitionSchema.parse({
    name,
    parameters: { region: 'eu' },
    variables: [{ name: 'sku', type: 'string', required: true }],
    loadSteps: [{ name: 'Products', object: 'product', matching: [{ field: 'sku', variable: 'sku' }] }],
  });
  return { ...parsed, apiName: deriveName(name), sql };
}
const deriveName = (name: string) => name.toLowerCase().replace(/[^a-z0-9]+/g, '_');

function newConnector(apiName = unique('vendors')): {
  connector: ConnectorRecord;
  version: ConnectorVersion;
} {
  const id = randomUUID();
  const at = '2024-05-01T09:00:00.000Z';
  return {
    connector: {
      id,
      apiName,
      name: 'Vendors',
      status: 'setup',
      version: 1,
      createdAt: at,
      updatedAt: at,
      diffBaselineExecutionId: null,
    },
    version: { connectorId: id, version: 1, hash: 'h1', definition: definition('Vendors'), createdAt: at },
  };
}

function nextVersion(previous: ConnectorVersion, hash: string, sql = 'SELECT 2'): ConnectorVersion {
  return { ...previous, version: previous.version + 1, hash, definition: definition('Vendors', sql) };
}

function execution(connectorId: string, createdAt: string, id = randomUUID()): Execution {
  return {
    id,
    connectorId,
    connectorApiName: 'vendors',
    connectorName: 'Vendors',
    connectorVersion: 1,
    status: 'queued',
    dryRun: false,
    diffCheck: false,
    trigger: 'upload',
    initiatedBy: 'cli',
    createdAt,
    startedAt: null,
    endedAt: null,
    stage: 'queued',
    progress: { rowsDone: 0, rowsTotal: 0, chunksDone: 0, chunksTotal: 0 },
    counts: { scopes: {}, steps: [] },
    error: null,
    inputFile: { name: 'vendors.csv', size: 1234, key: `executions/${id}/input/vendors.csv` },
    sqlOutputKey: null,
    reportKey: null,
    cancelRequested: false,
  };
}

async function failure(promise: Promise<unknown>): Promise<ScError> {
  const error = await promise.then(
    () => new Error('expected a failure'),
    (e: unknown) => e,
  );
  if (!(error instanceof ScError)) throw error;
  return error;
}

describe('DynamoDbControlStore: connectors', () => {
  it('creates a connector and finds it by id, by api name and in the list', async () => {
    const store = newStore();
    const { connector, version } = newConnector();
    await store.createConnector(connector, version);

    expect(await store.getConnector(connector.id)).toEqual(connector);
    expect(await store.getConnector(connector.apiName)).toEqual(connector);
    expect(await store.getConnector('no_such_connector')).toBeNull();
    expect(await store.getVersion(connector.id, 1)).toEqual(version);
    expect(await store.getVersion(connector.id, 2)).toBeNull();
    const listed = await store.listConnectors();
    expect(listed).toContainEqual(connector);
    const names = listed.map((c) => c.apiName);
    expect(names).toEqual([...names].sort());
  });

  it('keeps api names unique', async () => {
    const store = newStore();
    const first = newConnector();
    await store.createConnector(first.connector, first.version);
    const second = newConnector(first.connector.apiName);
    const error = await failure(store.createConnector(second.connector, second.version));
    expect(error.code).toBe('CONFLICT');
    expect(error.message).toContain(first.connector.apiName);
    expect(await store.getConnector(second.connector.id)).toBeNull();
    expect(await store.getConnector(first.connector.apiName)).toEqual(first.connector);
  });

  it('lets only one of two parallel creators have an api name', async () => {
    const store = newStore();
    const apiName = unique('race');
    const attempts = [newConnector(apiName), newConnector(apiName), newConnector(apiName)];
    const results = await Promise.allSettled(
      attempts.map((a) => store.createConnector(a.connector, a.version)),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect((await store.listConnectors()).filter((c) => c.apiName === apiName)).toHaveLength(1);
  });

  it('reports a repeated create as a conflict and leaves the connector as it was', async () => {
    const store = newStore();
    const { connector, version } = newConnector();
    await store.createConnector(connector, version);
    const error = await failure(store.createConnector({ ...connector, name: 'Renamed' }, version));
    expect(error.code).toBe('CONFLICT');
    expect(await store.getConnector(connector.apiName)).toEqual(connector);
  });

  it('takes over an api name whose creator died before writing the connector, once the claim is old', async () => {
    const clock = manualClock('2024-05-01T10:00:00.000Z');
    const store = newStore(clock);
    const apiName = unique('orphan');
    const documents = documentClientFor(client);
    await documents.send(
      new PutCommand({
        TableName: standIn.tables.control,
        Item: {
          pk: `CN#${apiName}`,
          sk: 'CN',
          connectorId: 'died-midway',
          claimedAt: '2024-05-01T09:59:30.000Z',
        },
      }),
    );
    const { connector, version } = newConnector(apiName);
    expect((await failure(store.createConnector(connector, version))).code).toBe('CONFLICT');

    clock.set('2024-05-01T10:01:00.000Z');
    await store.createConnector(connector, version);
    expect(await store.getConnector(apiName)).toEqual(connector);
  });

  it('removes its connector when its claim was taken over while it stalled', async () => {
    const { connector, version } = newConnector();
    const claimKey = { pk: `CN#${connector.apiName}`, sk: 'CN' };
    // A client on which, just before the connector item is written, another creator takes the claim over.
    const stalling = dynamoClientFor(standIn.endpoint);
    stalling.middlewareStack.add(
      (next, context) => async (args) => {
        // At this step the document client has not marshalled the input yet.
        const item = (args.input as { Item?: Record<string, unknown> }).Item;
        if (context.commandName === 'PutItemCommand' && item?.pk === `C#${connector.id}` && item.sk === 'C') {
          await documentClientFor(client).send(
            new PutCommand({
              TableName: standIn.tables.control,
              Item: { ...claimKey, connectorId: 'other', claimedAt: '2024-05-01T10:00:00.000Z' },
            }),
          );
        }
        return next(args);
      },
      { step: 'initialize', name: 'takeOverClaim' },
    );
    try {
      const store = new DynamoDbControlStore({ client: stalling, tableName: standIn.tables.control });
      const error = await failure(store.createConnector(connector, version));
      expect(error.code).toBe('CONFLICT');
      expect(await store.getConnector(connector.id)).toBeNull();
      expect((await store.listConnectors()).map((c) => c.id)).not.toContain(connector.id);
    } finally {
      stalling.destroy();
    }
  });

  it('adds versions and refuses one that does not follow the current version', async () => {
    const clock = manualClock('2024-05-01T10:00:00.000Z');
    const store = newStore(clock);
    const { connector, version } = newConnector();
    await store.createConnector(connector, version);

    clock.set('2024-05-02T10:00:00.000Z');
    const v2 = nextVersion(version, 'h2');
    await store.addVersion(v2);
    expect(await store.getConnector(connector.id)).toMatchObject({
      version: 2,
      updatedAt: '2024-05-02T10:00:00.000Z',
    });
    expect(await store.getVersion(connector.id, 2)).toEqual(v2);
    expect(await store.getVersion(connector.id, 1)).toEqual(version);

    const stale = nextVersion(version, 'h2-other');
    const error = await failure(store.addVersion(stale));
    expect(error.code).toBe('CONFLICT');
    expect(error.message).toMatch(/version 2/i);
    expect(await store.getVersion(connector.id, 2)).toEqual(v2);

    const skipping = { ...nextVersion(v2, 'h4'), version: 4 };
    expect((await failure(store.addVersion(skipping))).code).toBe('CONFLICT');

    const missing = { ...v2, connectorId: randomUUID() };
    expect((await failure(store.addVersion(missing))).code).toBe('NOT_FOUND');
  });

  it('accepts a retried addVersion and lets one of two parallel writers win', async () => {
    const store = newStore();
    const { connector, version } = newConnector();
    await store.createConnector(connector, version);
    const v2 = nextVersion(version, 'h2');
    await store.addVersion(v2);
    await store.addVersion(v2); // the same call again

    const a = nextVersion(v2, 'h3-a', 'SELECT 3');
    const b = nextVersion(v2, 'h3-b', 'SELECT 33');
    const results = await Promise.allSettled([store.addVersion(a), store.addVersion(b)]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const current = await store.getConnector(connector.id);
    const stored = await store.getVersion(connector.id, 3);
    expect(current?.version).toBe(3);
    expect([a.hash, b.hash]).toContain(stored?.hash);
  });

  it('repairs a version whose write was interrupted after the connector moved on', async () => {
    const store = newStore();
    const { connector, version } = newConnector();
    await store.createConnector(connector, version);
    // An addVersion(2) that died between its two writes: the connector says 2, no version item.
    await documentClientFor(client).send(
      new UpdateCommand({
        TableName: standIn.tables.control,
        Key: { pk: `C#${connector.id}`, sk: 'C' },
        UpdateExpression: 'SET version = :two',
        ExpressionAttributeValues: { ':two': 2 },
      }),
    );
    expect(await store.getVersion(connector.id, 2)).toBeNull();
    const v2 = nextVersion(version, 'h2');
    await store.addVersion(v2);
    expect(await store.getVersion(connector.id, 2)).toEqual(v2);
    expect((await store.getConnector(connector.id))?.version).toBe(2);
  });

  it('updates name, status and diff baseline', async () => {
    const clock = manualClock('2024-05-01T10:00:00.000Z');
    const store = newStore(clock);
    const { connector, version } = newConnector();
    await store.createConnector(connector, version);

    clock.set('2024-05-03T08:00:00.000Z');
    const updated = await store.updateConnector(connector.id, {
      name: 'Vendor import',
      status: 'operational',
      diffBaselineExecutionId: 'exec-1',
    });
    const expected = {
      ...connector,
      name: 'Vendor import',
      status: 'operational',
      diffBaselineExecutionId: 'exec-1',
      updatedAt: '2024-05-03T08:00:00.000Z',
    };
    expect(updated).toEqual(expected);
    expect(await store.getConnector(connector.apiName)).toEqual(expected);
    expect(
      (await store.updateConnector(connector.id, { diffBaselineExecutionId: null })).diffBaselineExecutionId,
    ).toBe(null);

    expect((await failure(store.updateConnector(randomUUID(), { name: 'x' }))).code).toBe('NOT_FOUND');
    const forbidden = { apiName: 'renamed' } as unknown as { name: string };
    expect((await failure(store.updateConnector(connector.id, forbidden))).code).toBe('INVALID_PATCH');
  });

  it('refuses a definition larger than a DynamoDB item', async () => {
    const store = newStore();
    const { connector, version } = newConnector();
    await store.createConnector(connector, version);
    const huge = nextVersion(version, 'big', `SELECT '${'x'.repeat(450_000)}'`);
    const error = await failure(store.addVersion(huge));
    expect(error.code).toBe('DEFINITION_TOO_LARGE');
  });
});

describe('DynamoDbControlStore: object definitions', () => {
  it('puts, replaces, gets and lists objects', async () => {
    const store = newStore();
    const apiName = unique('vendor');
    const vendor = parseObjectDefinition({
      apiName,
      name: 'Vendor',
      fields: [
        { name: 'code', type: 'text' },
        { name: 'tier', type: 'dropdown', options: ['A', 'B'] },
        { name: 'parent', type: 'relationship', relatedObject: apiName },
      ],
    });
    await store.putObject(vendor);
    expect(await store.getObject(apiName)).toEqual(vendor);
    const changed = { ...vendor, name: 'Supplier' };
    await store.putObject(changed);
    expect(await store.getObject(apiName)).toEqual(changed);
    expect(await store.getObject('no_such_object')).toBeNull();
    const listed = await store.listObjects();
    expect(listed.filter((o) => o.apiName === apiName)).toEqual([changed]);
  });
});

describe('DynamoDbControlStore: executions', () => {
  it('creates, gets and refuses a duplicate', async () => {
    const store = newStore();
    const e = execution(randomUUID(), '2024-05-01T10:00:00.000Z');
    await store.create(e);
    expect(await store.get(e.id)).toEqual(e);
    expect(await store.get(randomUUID())).toBeNull();
    const error = await failure(store.create({ ...e, status: 'running' }));
    expect(error.code).toBe('CONFLICT');
    expect(await store.get(e.id)).toEqual(e);
  });

  it('updates the patched attributes and returns the whole execution', async () => {
    const store = newStore();
    const e = execution(randomUUID(), '2024-05-01T10:00:00.000Z');
    await store.create(e);
    const patch = {
      status: 'running' as const,
      stage: 'load' as const,
      startedAt: '2024-05-01T10:00:05.000Z',
      progress: { rowsDone: 500, rowsTotal: 1000, chunksDone: 1, chunksTotal: 2 },
      counts: {
        scopes: { default: { rows: 1000, valid: 990, invalid: 10 } },
        steps: [
          {
            name: 'Products',
            object: 'product',
            created: 5,
            updated: 4,
            unchanged: 0,
            skipped: 1,
            failed: 0,
            unprocessed: 0,
          },
        ],
      },
      error: { code: 'X', message: 'y' },
      cancelRequested: undefined,
    };
    const updated = await store.update(e.id, patch);
    const { cancelRequested: _skipped, ...applied } = patch;
    expect(updated).toEqual({ ...e, ...applied });
    expect(await store.get(e.id)).toEqual(updated);
    expect(await store.update(e.id, {})).toEqual(updated);

    expect((await failure(store.update(randomUUID(), { status: 'failed' }))).code).toBe('NOT_FOUND');
    expect((await failure(store.update(randomUUID(), {}))).code).toBe('NOT_FOUND');
    const forbidden = { connectorId: 'other' } as unknown as { status: 'failed' };
    expect((await failure(store.update(e.id, forbidden))).code).toBe('INVALID_PATCH');
  });

  it("lists a connector's executions newest first", async () => {
    const store = newStore();
    const connectorId = randomUUID();
    const times = Array.from({ length: 30 }, (_, i) => `2024-05-01T10:${String(i).padStart(2, '0')}:00.000Z`);
    const executions = times.map((t) => execution(connectorId, t));
    await Promise.all([...executions].reverse().map((e) => store.create(e)));
    await store.create(execution(randomUUID(), '2024-05-01T11:00:00.000Z'));

    const listed = await store.listByConnector(connectorId);
    expect(listed.map((e) => e.createdAt)).toEqual([...times].reverse());
    expect(listed[0]).toEqual(executions[29]);
    expect(await store.listByConnector(randomUUID())).toEqual([]);
  });

  it('keeps the list index in step with the execution', async () => {
    const store = newStore();
    const e = execution(randomUUID(), '2024-05-01T10:00:00.000Z');
    await store.create(e);
    await store.update(e.id, { status: 'succeeded' });
    expect((await store.listByConnector(e.connectorId))[0]?.status).toBe('succeeded');
    const raw = await documentClientFor(client).send(
      new GetCommand({ TableName: standIn.tables.control, Key: { pk: `E#${e.id}`, sk: 'E' } }),
    );
    expect(raw.Item).toMatchObject({ gsi1pk: `CE#${e.connectorId}`, gsi1sk: `${e.createdAt}#${e.id}` });
  });

  it('updates an execution only while it is as expected, when asked to (Prepare against a cancel)', async () => {
    const store = newStore();
    const e = execution(randomUUID(), '2024-05-01T10:00:00.000Z');
    await store.create(e);
    const expected = { status: 'queued', cancelRequested: false } as const;
    await store.update(e.id, { cancelRequested: true });
    const refused = await failure(store.update(e.id, { status: 'running' }, expected));
    expect(refused.code).toBe('CONFLICT');
    expect(refused.message).toMatch(/no longer queued and uncancelled/);
    expect((await store.get(e.id))!.status).toBe('queued');
    await store.update(e.id, { cancelRequested: false });
    expect((await store.update(e.id, { status: 'running' }, expected)).status).toBe('running');
    expect((await failure(store.update(e.id, { status: 'running' }, expected))).code).toBe('CONFLICT');
    expect((await failure(store.update(randomUUID(), { status: 'running' }, expected))).code).toBe(
      'NOT_FOUND',
    );
  });

  describe('active executions (what dispatching reads)', () => {
    /** The connector's active markers as stored. */
    async function markers(connectorId: string): Promise<string[]> {
      const { Items } = await documentClientFor(client).send(
        new QueryCommand({
          TableName: standIn.tables.control,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': `CA#${connectorId}` },
          ConsistentRead: true,
        }),
      );
      return (Items ?? []).map((item) => item.sk as string);
    }

    it('lists queued and running executions oldest first, none that ended, however many ended', async () => {
      const store = newStore();
      const connectorId = randomUUID();
      const ended = Array.from({ length: 120 }, (_, i) =>
        execution(connectorId, new Date(Date.UTC(2024, 4, 1, 9, 0, i)).toISOString()),
      );
      for (const e of ended) await store.create({ ...e, status: 'succeeded' });
      const running = execution(connectorId, '2024-05-01T10:00:00.000Z');
      const queued = execution(connectorId, '2024-05-01T10:00:01.000Z');
      const cancelled = execution(connectorId, '2024-05-01T10:00:02.000Z');
      for (const e of [queued, cancelled, running]) await store.create(e);
      await store.update(running.id, { status: 'running' });
      await store.update(cancelled.id, { status: 'cancelled' });

      const active = await store.listActiveByConnector(connectorId);
      expect(active.map((e) => [e.id, e.status])).toEqual([
        [running.id, 'running'],
        [queued.id, 'queued'],
      ]);
      // Ended executions never had a marker, or lost it when they ended.
      expect(await markers(connectorId)).toEqual([running, queued].map((e) => `${e.createdAt}#${e.id}`));
      await store.update(running.id, { status: 'succeeded' });
      expect((await store.listActiveByConnector(connectorId)).map((e) => e.id)).toEqual([queued.id]);
      expect(await store.listActiveByConnector(randomUUID())).toEqual([]);
    });

    it('keeps one marker for a repeated registration, and repairs what an interruption leaves', async () => {
      const clock = manualClock('2024-05-01T10:00:00.000Z');
      const store = newStore(clock);
      const connectorId = randomUUID();
      const first = execution(connectorId, '2024-05-01T10:00:00.000Z');
      await store.create(first);
      // The same event again, registered a second later: CONFLICT, and no second marker.
      const repeat = { ...first, createdAt: '2024-05-01T10:00:01.000Z' };
      expect((await failure(store.create(repeat))).code).toBe('CONFLICT');
      expect((await failure(store.create(first))).code).toBe('CONFLICT');
      expect(await markers(connectorId)).toEqual([`${first.createdAt}#${first.id}`]);

      // Markers as interruptions leave them: of an execution that ended (the delete after the update
      // never ran), and of executions whose registration stopped after the marker, young and old.
      const documents = documentClientFor(client);
      const put = (sk: string, executionId: string, markedAt: number) =>
        documents.send(
          new PutCommand({
            TableName: standIn.tables.control,
            Item: { pk: `CA#${connectorId}`, sk, executionId, markedAt },
          }),
        );
      const ended = execution(connectorId, '2024-05-01T09:00:00.000Z');
      await store.create({ ...ended, status: 'failed' });
      await put(`${ended.createdAt}#${ended.id}`, ended.id, clock.now().getTime());
      // A repeated registration's marker, between its write and its delete: a second marker of `first`.
      await put(`2024-05-01T10:00:05.000Z#${first.id}`, first.id, clock.now().getTime());
      const young = randomUUID();
      const old = randomUUID();
      await put(`2024-05-01T09:59:00.000Z#${young}`, young, clock.now().getTime() - 60_000);
      await put(`2024-05-01T08:00:00.000Z#${old}`, old, clock.now().getTime() - 2 * 3_600_000);

      expect((await store.listActiveByConnector(connectorId)).map((e) => e.id)).toEqual([first.id]);
      // The ended one's, the repeat's and the old orphan's are gone; the young orphan may still become an
      // execution.
      expect(await markers(connectorId)).toEqual([
        `2024-05-01T09:59:00.000Z#${young}`,
        `${first.createdAt}#${first.id}`,
      ]);
      clock.set('2024-05-01T11:00:00.000Z');
      await store.listActiveByConnector(connectorId);
      expect(await markers(connectorId)).toEqual([`${first.createdAt}#${first.id}`]);
    });
  });
});
