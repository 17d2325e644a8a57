import { randomUUID } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbRecordStore } from '../../lambdas/adapters/aws/dynamodb-record-store.ts';
import { documentClientFor } from '../../lambdas/adapters/aws/dynamodb-tables.ts';
import { ScError } from '../../lambdas/core/errors.ts';
import type { FieldValue, StoredRecord } from '../../lambdas/core/model.ts';
import type { FieldDefinition, FieldType, ObjectDefinition } from '../../lambdas/core/object-schema.ts';
import type { RecordWrite } from '../../lambdas/ports/record-store.ts';
import {
  dynamoClientFor,
  startDynamoStandIn,
  type DynamoStandIn,
} from '../../lambdas/local/dynamo-stand-in.ts';

let standIn: DynamoStandIn;
let client: DynamoDBClient;
const extraClients: DynamoDBClient[] = [];

beforeAll(async () => {
  standIn = await startDynamoStandIn();
  client = dynamoClientFor(standIn.endpoint);
});
afterAll(async () => {
  for (const c of [client, ...extraClients]) c.destroy();
  await standIn.stop();
});

function newStore(options: { client?: DynamoDBClient; maxAttempts?: number } = {}): DynamoDbRecordStore {
  return new DynamoDbRecordStore({
    client: options.client ?? client,
    tableName: standIn.tables.records,
    unprocessedRetry: { maxAttempts: options.maxAttempts ?? 10, baseDelayMs: 1 },
  });
}

const field = (apiName: string, type: FieldType, options: string[] = []): FieldDefinition => ({
  apiName,
  label: apiName,
  type,
  required: false,
  options,
});

/** A fresh object per test, so tests share one stand-in without seeing each other's records. */
function productObject(): ObjectDefinition {
  return {
    apiName: `product_${randomUUID().slice(0, 8)}`,
    name: 'Product',
    fields: [
      field('name', 'text'),
      field('sku', 'text'),
      field('email', 'email'),
      field('price', 'money'),
      field('active', 'checkbox'),
      field('tags', 'checkboxes', ['red', 'green', 'blue']),
      field('phone', 'phone'),
      field('notes', 'longtext'),
    ],
  };
}

const at = '2024-05-01T13:45:00.000Z';
function record(object: ObjectDefinition, id: string, fields: Record<string, FieldValue>, archived = false) {
  return {
    id,
    object: object.apiName,
    archived,
    createdAt: at,
    updatedAt: at,
    fields,
  } satisfies StoredRecord;
}
const created = (r: StoredRecord): RecordWrite => ({ record: r, previous: null });
const ids = (n: number, prefix = 'r') =>
  Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(5, '0')}`);

async function failure(promise: Promise<unknown>): Promise<ScError> {
  const error = await promise.then(
    () => new Error('expected a failure'),
    (e: unknown) => e,
  );
  if (!(error instanceof ScError)) throw error;
  return error;
}

/**
 * A client whose batch calls send only the first half of their items to DynamoDB and report the rest as
 * unprocessed, as a throttled table does. `always` keeps doing it even for a single item.
 */
function throttlingClient(always = false): DynamoDBClient {
  const throttled = dynamoClientFor(standIn.endpoint);
  extraClients.push(throttled);
  throttled.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as Record<string, Record<string, unknown>>;
      const [table, request] = Object.entries(input.RequestItems ?? {})[0] ?? [];
      if (context.commandName === 'BatchWriteItemCommand' && table) {
        const requests = request as unknown[];
        const kept = always ? [] : requests.slice(0, Math.ceil(requests.length / 2));
        const left = requests.slice(kept.length);
        if (kept.length === 0)
          return { output: { UnprocessedItems: { [table]: left }, $metadata: {} }, response: {} };
        const result = await next({ ...args, input: { ...input, RequestItems: { [table]: kept } } });
        if (left.length > 0) Object.assign(result.output as object, { UnprocessedItems: { [table]: left } });
        return result;
      }
      if (context.commandName === 'BatchGetItemCommand' && table) {
        const { Keys, ...rest } = request as { Keys: unknown[] };
        const kept = Keys.slice(0, Math.ceil(Keys.length / 2));
        const left = Keys.slice(kept.length);
        const result = await next({
          ...args,
          input: { ...input, RequestItems: { [table]: { ...rest, Keys: kept } } },
        });
        if (left.length > 0)
          Object.assign(result.output as object, { UnprocessedKeys: { [table]: { ...rest, Keys: left } } });
        return result;
      }
      return next(args);
    },
    { step: 'initialize', name: 'simulateUnprocessedItems' },
  );
  return throttled;
}

describe('DynamoDbRecordStore: records', () => {
  it('writes records and reads them back with their field types', async () => {
    const store = newStore();
    const object = productObject();
    const full = record(object, 'p1', {
      name: 'Chair',
      sku: 'CH-1',
      price: 19.99,
      active: true,
      tags: ['red', 'blue'],
      notes: '',
    });
    const empty = record(object, 'p2', {}, true);
    await store.writeMany(object, [created(full), created(empty)]);

    const found = await store.getMany(object.apiName, ['p1', 'p2', 'missing', 'p1']);
    expect([...found.keys()].sort()).toEqual(['p1', 'p2']);
    expect(found.get('p1')).toEqual(full);
    expect(found.get('p2')).toEqual(empty);
    expect(typeof found.get('p1')!.fields.price).toBe('number');
    expect(await store.getMany(object.apiName, [])).toEqual(new Map());
  });

  it('keeps numbers beyond 2^53 as numbers', async () => {
    const store = newStore();
    const object = productObject();
    const big = 2 ** 64;
    await store.writeMany(object, [created(record(object, 'big', { price: big, sku: 'B' }))]);
    expect((await store.getMany(object.apiName, ['big'])).get('big')!.fields.price).toBe(big);
  });

  it('scans, reads and looks up more records than one batch call holds (260)', async () => {
    const store = newStore();
    const object = productObject();
    const other = productObject();
    await store.ensureIndexed(object, ['sku']);
    const records = ids(260).map((id) => record(object, id, { name: `Item ${id}`, sku: `SKU-${id}` }));
    await store.writeMany(object, records.map(created));
    await store.writeMany(other, [created(record(other, 'x', { name: 'Other' }))]);

    const scanned: StoredRecord[] = [];
    for await (const r of store.scan(object.apiName)) scanned.push(r);
    expect(scanned.map((r) => r.id).sort()).toEqual(ids(260));

    const read = await store.getMany(object.apiName, ids(260));
    expect(read.size).toBe(260);
    expect(read.get('r00259')).toEqual(records[259]);

    const keys = ids(260).map((id) => `sku-${id}`);
    const found = await store.findIdsByKeys(object.apiName, 'sku', [...keys, 'sku-unknown']);
    expect(found.size).toBe(260);
    expect(found.get('sku-r00007')).toEqual(['r00007']);
    expect(found.has('sku-unknown')).toBe(false);
  });

  it('collapses several writes of one record in a call: first previous, last record', async () => {
    const store = newStore();
    const object = productObject();
    await store.ensureIndexed(object, ['sku']);
    const v1 = record(object, 'p1', { sku: 'A' });
    const v2 = record(object, 'p1', { sku: 'B' });
    const v3 = record(object, 'p1', { sku: 'C' });
    await store.writeMany(object, [created(v1)]);
    await store.writeMany(object, [
      { record: v2, previous: v1 },
      { record: v3, previous: v2 },
    ]);
    expect((await store.getMany(object.apiName, ['p1'])).get('p1')).toEqual(v3);
    const found = await store.findIdsByKeys(object.apiName, 'sku', ['a', 'b', 'c']);
    expect([...found]).toEqual([['c', ['p1']]]);
  });

  it('refuses a record of another object', async () => {
    const store = newStore();
    const object = productObject();
    const error = await failure(store.writeMany(object, [created(record(productObject(), 'p1', {}))]));
    expect(error.code).toBe('RECORD_OBJECT_MISMATCH');
  });
});

describe('DynamoDbRecordStore: match index', () => {
  it('moves index entries when values change, and keeps archived records findable', async () => {
    const store = newStore();
    const object = productObject();
    await store.ensureIndexed(object, ['sku', 'tags', 'phone', 'price']);
    const v1 = record(object, 'p1', {
      sku: ' ABC-1 ',
      tags: ['red', 'green'],
      phone: '+1 (555) 010-0000',
      price: 5,
    });
    await store.writeMany(object, [created(v1)]);
    expect(await store.findIdsByKeys(object.apiName, 'sku', ['abc-1'])).toEqual(new Map([['abc-1', ['p1']]]));
    expect(await store.findIdsByKeys(object.apiName, 'phone', ['+15550100000'])).toEqual(
      new Map([['+15550100000', ['p1']]]),
    );
    expect(await store.findIdsByKeys(object.apiName, 'price', ['5'])).toEqual(new Map([['5', ['p1']]]));

    const v2 = { ...record(object, 'p1', { sku: 'XYZ', tags: ['green', 'blue'], price: 5.5 }, true) };
    await store.writeMany(object, [{ record: v2, previous: v1 }]);

    expect(await store.findIdsByKeys(object.apiName, 'sku', ['abc-1', 'xyz'])).toEqual(
      new Map([['xyz', ['p1']]]),
    );
    expect(await store.findIdsByKeys(object.apiName, 'tags', ['red', 'green', 'blue'])).toEqual(
      new Map([
        ['green', ['p1']],
        ['blue', ['p1']],
      ]),
    );
    expect(await store.findIdsByKeys(object.apiName, 'phone', ['+15550100000'])).toEqual(new Map());
    expect(await store.findIdsByKeys(object.apiName, 'price', ['5', '5.5'])).toEqual(
      new Map([['5.5', ['p1']]]),
    );

    // The emptied index items are gone, not left behind as bare items.
    const documents = documentClientFor(client);
    const oldKey = { pk: `I#${object.apiName}#sku#abc-1`, sk: 'I' };
    expect(
      (await documents.send(new GetCommand({ TableName: standIn.tables.records, Key: oldKey }))).Item,
    ).toBe(undefined);
  });

  it('keeps other ids under a key when one record leaves it', async () => {
    const store = newStore();
    const object = productObject();
    await store.ensureIndexed(object, ['email']);
    const a = record(object, 'a', { email: 'Shared@Example.com' });
    const b = record(object, 'b', { email: 'shared@example.com' });
    await store.writeMany(object, [created(a), created(b)]);
    expect(await store.findIdsByKeys(object.apiName, 'email', ['shared@example.com'])).toEqual(
      new Map([['shared@example.com', ['a', 'b']]]),
    );
    await store.writeMany(object, [{ record: record(object, 'a', {}), previous: a }]);
    expect(await store.findIdsByKeys(object.apiName, 'email', ['shared@example.com'])).toEqual(
      new Map([['shared@example.com', ['b']]]),
    );
  });

  it('indexes only indexed fields', async () => {
    const store = newStore();
    const object = productObject();
    await store.ensureIndexed(object, ['sku']);
    await store.writeMany(object, [created(record(object, 'p1', { sku: 'S', name: 'Chair' }))]);
    expect(await store.findIdsByKeys(object.apiName, 'name', ['chair'])).toEqual(new Map());
  });

  it('back-fills a field indexed after records exist', async () => {
    const store = newStore();
    const object = productObject();
    const records = ids(120).map((id, i) => record(object, id, { sku: `S${i % 40}`, name: id }));
    await store.writeMany(object, records.map(created));
    expect(await store.findIdsByKeys(object.apiName, 'sku', ['s1'])).toEqual(new Map());

    await store.ensureIndexed(object, ['sku', 'sku', '__id']);
    const found = await store.findIdsByKeys(object.apiName, 'sku', ['s1', 's39']);
    expect(found.get('s1')).toEqual(['r00001', 'r00041', 'r00081']);
    expect(found.get('s39')).toEqual(['r00039', 'r00079', 'r00119']);
    await store.ensureIndexed(object, ['sku']); // idempotent, and cheap once ready
  });

  it('indexes the records of a writer that started before a field was indexed', async () => {
    const object = productObject();
    const writer = newStore();
    const indexer = newStore();
    // The writer caches "no indexed fields" from its first write…
    await writer.writeMany(object, [created(record(object, 'early', { sku: 'E' }))]);
    // …then another process indexes sku (back-filling `early`)…
    await indexer.ensureIndexed(object, ['sku']);
    // …and the writer, with its stale cache, writes again: it notices after writing.
    const late = record(object, 'late', { sku: 'L' });
    await writer.writeMany(object, [created(late)]);
    expect(await indexer.findIdsByKeys(object.apiName, 'sku', ['e', 'l'])).toEqual(
      new Map([
        ['e', ['early']],
        ['l', ['late']],
      ]),
    );
    // From then on the writer maintains sku from the start, removals included.
    await writer.writeMany(object, [{ record: record(object, 'late', { sku: 'M' }), previous: late }]);
    expect(await indexer.findIdsByKeys(object.apiName, 'sku', ['l', 'm'])).toEqual(
      new Map([['m', ['late']]]),
    );
  });

  it('refuses to index a field the object does not have', async () => {
    const error = await failure(newStore().ensureIndexed(productObject(), ['nope']));
    expect(error.code).toBe('UNKNOWN_FIELD');
  });

  it('finds values longer than a DynamoDB key allows', async () => {
    const store = newStore();
    const object = productObject();
    await store.ensureIndexed(object, ['notes']);
    const long = 'Lorem ipsum dolor sit amet. '.repeat(200);
    await store.writeMany(object, [created(record(object, 'p1', { notes: long }))]);
    const key = long.trim().toLowerCase();
    expect(await store.findIdsByKeys(object.apiName, 'notes', [key])).toEqual(new Map([[key, ['p1']]]));
  });

  it('keeps every id when parallel writers add to one key', async () => {
    const object = productObject();
    await newStore().ensureIndexed(object, ['sku']);
    const writers = Array.from({ length: 8 }, () => newStore());
    await Promise.all(
      writers.map((store, w) =>
        store.writeMany(
          object,
          ids(30, `w${w}-`).map((id) => created(record(object, id, { sku: 'SHARED' }))),
        ),
      ),
    );
    expect((await writers[0]!.findIdsByKeys(object.apiName, 'sku', ['shared'])).get('shared')).toHaveLength(
      240,
    );
  });

  it('stays exact when parallel writers add to and remove from one key', async () => {
    const object = productObject();
    const setup = newStore();
    await setup.ensureIndexed(object, ['sku']);
    const leaving = ids(40, 'old-').map((id) => record(object, id, { sku: 'HOT' }));
    await setup.writeMany(object, leaving.map(created));
    const arriving = ids(40, 'new-').map((id) => record(object, id, { sku: 'HOT' }));
    await Promise.all([
      ...leaving.map((r) =>
        newStore().writeMany(object, [{ record: { ...r, fields: { sku: 'COLD' } }, previous: r }]),
      ),
      ...arriving.map((r) => newStore().writeMany(object, [created(r)])),
    ]);
    const found = await setup.findIdsByKeys(object.apiName, 'sku', ['hot', 'cold']);
    expect(found.get('hot')).toEqual(arriving.map((r) => r.id));
    expect(found.get('cold')).toEqual(leaving.map((r) => r.id));
  });

  it('drops the index item when parallel writers empty it', async () => {
    const object = productObject();
    const setup = newStore();
    await setup.ensureIndexed(object, ['sku']);
    const leaving = ids(20).map((id) => record(object, id, { sku: 'GONE' }));
    await setup.writeMany(object, leaving.map(created));
    await Promise.all(
      leaving.map((r) => newStore().writeMany(object, [{ record: { ...r, fields: {} }, previous: r }])),
    );
    expect(await setup.findIdsByKeys(object.apiName, 'sku', ['gone'])).toEqual(new Map());
    const key = { pk: `I#${object.apiName}#sku#gone`, sk: 'I' };
    const documents = documentClientFor(client);
    expect((await documents.send(new GetCommand({ TableName: standIn.tables.records, Key: key }))).Item).toBe(
      undefined,
    );
  });

  it('gives the same state when a write is retried', async () => {
    const store = newStore();
    const object = productObject();
    await store.ensureIndexed(object, ['sku']);
    const v1 = record(object, 'p1', { sku: 'A' });
    const v2 = record(object, 'p1', { sku: 'B' });
    await store.writeMany(object, [created(v1)]);
    const write = { record: v2, previous: v1 };
    await store.writeMany(object, [write]);
    await store.writeMany(object, [write]); // the same call again
    await store.writeMany(object, [{ record: v2, previous: v2 }]); // a retry that re-read the record
    expect((await store.getMany(object.apiName, ['p1'])).get('p1')).toEqual(v2);
    expect(await store.findIdsByKeys(object.apiName, 'sku', ['a', 'b'])).toEqual(new Map([['b', ['p1']]]));
  });

  it('fails with INDEX_KEY_TOO_COMMON when one key would hold more ids than an item can', async () => {
    const store = newStore();
    const object = productObject();
    await store.ensureIndexed(object, ['active']);
    const longIds = ids(1500).map((id) => id.padEnd(300, 'x'));
    const error = await failure(
      store.writeMany(
        object,
        longIds.map((id) => created(record(object, id, { active: true }))),
      ),
    );
    expect(error.code).toBe('INDEX_KEY_TOO_COMMON');
    expect(error.message).toContain('field "active"');
  });
});

describe('DynamoDbRecordStore: unprocessed batch items', () => {
  it('re-sends unprocessed writes and keys until all are done', async () => {
    const store = newStore({ client: throttlingClient() });
    const object = productObject();
    await store.ensureIndexed(object, ['sku']);
    const records = ids(60).map((id) => record(object, id, { sku: id }));
    await store.writeMany(object, records.map(created));
    expect((await store.getMany(object.apiName, ids(60))).size).toBe(60);
    expect((await store.findIdsByKeys(object.apiName, 'sku', ids(60))).size).toBe(60);
    expect((await newStore().getMany(object.apiName, ids(60))).size).toBe(60);
  });

  it('gives up with a retryable THROTTLED error', async () => {
    const store = newStore({ client: throttlingClient(true), maxAttempts: 3 });
    const object = productObject();
    const error = await failure(store.writeMany(object, [created(record(object, 'p1', {}))]));
    expect(error.code).toBe('THROTTLED');
    expect(error.retryable).toBe(true);
  });
});

describe('DynamoDbRecordStore: throughput', () => {
  it('writes 10,000 records with 2 indexed fields', { timeout: 300_000 }, async () => {
    const store = newStore();
    const object = productObject();
    await store.ensureIndexed(object, ['sku', 'email']);
    const records = ids(10_000).map((id) =>
      record(object, id, { name: `Product ${id}`, sku: `SKU-${id}`, email: `${id}@example.com`, price: 9.5 }),
    );
    const chunkSize = 1000;

    let started = performance.now();
    for (let i = 0; i < records.length; i += chunkSize) {
      await store.writeMany(object, records.slice(i, i + chunkSize).map(created));
    }
    const createSeconds = (performance.now() - started) / 1000;

    started = performance.now();
    for (let i = 0; i < records.length; i += chunkSize) {
      const writes = records.slice(i, i + chunkSize).map((previous) => ({
        previous,
        record: { ...previous, fields: { ...previous.fields, sku: `NEW-${previous.id}` } },
      }));
      await store.writeMany(object, writes);
    }
    const updateSeconds = (performance.now() - started) / 1000;

    started = performance.now();
    for (let i = 0; i < records.length; i += chunkSize) {
      const writes = records.slice(i, i + chunkSize).map((r) => ({
        previous: { ...r, fields: { ...r.fields, sku: `NEW-${r.id}` } },
        record: { ...r, fields: { ...r.fields, sku: `NEW-${r.id}`, price: 12 } },
      }));
      await store.writeMany(object, writes);
    }
    const plainUpdateSeconds = (performance.now() - started) / 1000;

    console.log(
      `[dynamodb throughput, dynalite in-process] 10,000 records, 2 indexed fields, chunks of ${chunkSize}: ` +
        `create ${Math.round(10_000 / createSeconds)} records/s (${createSeconds.toFixed(1)} s), ` +
        `update of one indexed field ${Math.round(10_000 / updateSeconds)} records/s (${updateSeconds.toFixed(1)} s), ` +
        `update of a non-indexed field ${Math.round(10_000 / plainUpdateSeconds)} records/s ` +
        `(${plainUpdateSeconds.toFixed(1)} s)`,
    );
    const found = await store.findIdsByKeys(object.apiName, 'sku', ['new-r09999', 'sku-r09999']);
    expect([...found]).toEqual([['new-r09999', ['r09999']]]);
  });
});
