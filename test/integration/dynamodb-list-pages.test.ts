import { randomUUID } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbControlStore } from '../../lambdas/adapters/aws/dynamodb-control-store.ts';
import { DynamoDbRecordStore } from '../../lambdas/adapters/aws/dynamodb-record-store.ts';
import { documentClientFor } from '../../lambdas/adapters/aws/dynamodb-tables.ts';
import { ScError } from '../../lambdas/core/errors.ts';
import type { Execution, ExecutionStatus, StoredRecord } from '../../lambdas/core/model.ts';
import type { ObjectDefinition } from '../../lambdas/core/object-schema.ts';
import type { ListPage, ListPageRequest } from '../../lambdas/ports/list-page.ts';
import {
  dynamoClientFor,
  startDynamoStandIn,
  type DynamoStandIn,
} from '../../lambdas/local/dynamo-stand-in.ts';

/*
 * Store-level pages on the embedded DynamoDB: a connector's executions (newest first, filtered by status
 * and mode) and an object's records (oldest first), read a page at a time with Limit and
 * ExclusiveStartKey. Pages are exact (no item twice or missed, `next` null on the last page), do not move
 * when items are added between them, and any position — even one the store did not make — is a place in
 * the list, never a failed read.
 */

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

const executions = () => new DynamoDbControlStore({ client, tableName: standIn.tables.control });
const records = () => new DynamoDbRecordStore({ client, tableName: standIn.tables.records });

/** The instant `i` minutes after a fixed start, so creation order is the index order. */
const minute = (i: number) => new Date(Date.UTC(2024, 4, 1, 8, 0) + i * 60_000).toISOString();

function execution(
  connectorId: string,
  createdAt: string,
  extra: { status?: ExecutionStatus; dryRun?: boolean } = {},
): Execution {
  const id = randomUUID();
  return {
    id,
    connectorId,
    connectorApiName: 'vendors',
    connectorName: 'Vendors',
    connectorVersion: 1,
    status: extra.status ?? 'succeeded',
    dryRun: extra.dryRun ?? false,
    diffCheck: false,
    trigger: 'upload',
    initiatedBy: 'cli',
    createdAt,
    startedAt: null,
    endedAt: null,
    stage: 'done',
    progress: { rowsDone: 0, rowsTotal: 0, chunksDone: 0, chunksTotal: 0 },
    counts: { scopes: {}, steps: [] },
    error: null,
    inputFile: null,
    sqlOutputKey: null,
    reportKey: null,
    cancelRequested: false,
  };
}

function record(object: string, id: string, createdAt: string): StoredRecord {
  return { id, object, archived: false, createdAt, updatedAt: createdAt, fields: { name: id } };
}

const object = (): ObjectDefinition => ({
  apiName: `thing_${randomUUID().slice(0, 8)}`,
  name: 'Thing',
  fields: [{ apiName: 'name', label: 'Name', type: 'text', required: true, options: [] }],
});

/** Every page of a list, from the first, with `limit` items each. */
async function allPages<T>(
  read: (request: ListPageRequest) => Promise<ListPage<T>>,
  limit: number,
): Promise<T[][]> {
  const pages: T[][] = [];
  let after: string | undefined;
  do {
    const page = await read({ limit, after });
    pages.push(page.items);
    after = page.next ?? undefined;
  } while (after !== undefined);
  return pages;
}

async function failure(promise: Promise<unknown>): Promise<ScError> {
  const error = await promise.then(
    () => new Error('expected a failure'),
    (e: unknown) => e,
  );
  if (!(error instanceof ScError)) throw error;
  return error;
}

describe("DynamoDbControlStore.pageByConnector: a connector's executions", () => {
  let store: DynamoDbControlStore;
  const connectorId = randomUUID();
  /** 120 executions a minute apart, newest first; every 7th failed, every 3rd a dry run. */
  const all: Execution[] = Array.from({ length: 120 }, (_, i) =>
    execution(connectorId, minute(i), {
      status: i % 7 === 0 ? 'failed' : 'succeeded',
      dryRun: i % 3 === 0,
    }),
  ).reverse();
  const page = (request: ListPageRequest & { status?: ExecutionStatus; dryRun?: boolean }) =>
    store.pageByConnector(connectorId, request);

  beforeAll(async () => {
    store = executions();
    // Written out of order, and beside another connector's, which no page may show.
    await Promise.all([...all].sort(() => Math.random() - 0.5).map((e) => store.create(e)));
    await store.create(execution(randomUUID(), minute(60)));
  });

  it('pages 120 by 50 into 50, 50 and 20, newest first, each once, next null on the last', async () => {
    const pages = await allPages(page, 50);
    expect(pages.map((p) => p.length)).toEqual([50, 50, 20]);
    expect(pages.flat().map((e) => e.id)).toEqual(all.map((e) => e.id));
    expect(pages[0]![0]).toEqual(all[0]);
  });

  it('ends exactly on a full last page: no empty page after it', async () => {
    expect((await allPages(page, 60)).map((p) => p.length)).toEqual([60, 60]);
    expect((await allPages(page, 120)).map((p) => p.length)).toEqual([120]);
    expect((await allPages(page, 500)).map((p) => p.length)).toEqual([120]);
    const single = await allPages(page, 1);
    expect(single).toHaveLength(120);
    expect(single.flat().map((e) => e.id)).toEqual(all.map((e) => e.id));
  });

  it('keeps its pages when executions are created between them', async () => {
    const other = randomUUID();
    const before = Array.from({ length: 120 }, (_, i) => execution(other, minute(i))).reverse();
    await Promise.all(before.map((e) => store.create(e)));
    const first = await store.pageByConnector(other, { limit: 50 });
    expect(first.items).toEqual(before.slice(0, 50));
    // Newer runs arrive (as they do: newest first, they sort before the page already read).
    await Promise.all(Array.from({ length: 5 }, (_, i) => store.create(execution(other, minute(200 + i)))));
    const second = await store.pageByConnector(other, { limit: 50, after: first.next! });
    expect(second.items).toEqual(before.slice(50, 100));
    const third = await store.pageByConnector(other, { limit: 50, after: second.next! });
    expect(third).toEqual({ items: before.slice(100), next: null });
  });

  it('filters by status and mode, and a filter never makes a page short', async () => {
    const cases: Array<{ status?: ExecutionStatus; dryRun?: boolean }> = [
      { status: 'failed' },
      { dryRun: true },
      { dryRun: false },
      { status: 'failed', dryRun: true },
      { status: 'running' },
    ];
    for (const filter of cases) {
      const expected = all.filter(
        (e) =>
          (filter.status === undefined || e.status === filter.status) &&
          (filter.dryRun === undefined || e.dryRun === filter.dryRun),
      );
      const pages = await allPages((request) => page({ ...request, ...filter }), 7);
      expect(
        pages.flat().map((e) => e.id),
        JSON.stringify(filter),
      ).toEqual(expected.map((e) => e.id));
      // Every page but the last is full, though the matches are spread over more than a Query reads.
      expect(pages.slice(0, -1).every((p) => p.length === 7)).toBe(true);
      expect(pages.at(-1)!.length).toBe(expected.length === 0 ? 0 : ((expected.length - 1) % 7) + 1);
    }
  });

  it('answers a connector without executions with one empty page', async () => {
    expect(await store.pageByConnector(randomUUID(), { limit: 50 })).toEqual({ items: [], next: null });
  });

  it('starts anywhere a position says, made by the store or not, and refuses an overlong one', async () => {
    // An instant between two executions starts at the older one (minute 59 is all[60]).
    const between = new Date(Date.UTC(2024, 4, 1, 8, 59, 30)).toISOString();
    expect((await page({ limit: 2, after: between })).items).toEqual(all.slice(60, 62));
    for (const forged of ['no-hash', '#', 'zzzz#', `${minute(10)}#`, '0000', '€#\u{1F600}']) {
      const result = await page({ limit: 5, after: forged });
      expect(result.items.length, forged).toBeLessThanOrEqual(5);
    }
    expect(await page({ limit: 5, after: '0' })).toEqual({ items: [], next: null });
    const overlong = await failure(page({ limit: 5, after: 'x'.repeat(257) }));
    expect(overlong.code).toBe('INVALID_ARGUMENT');
  });

  it('still lists the whole list at once for callers that need it', async () => {
    expect((await store.listByConnector(connectorId)).map((e) => e.id)).toEqual(all.map((e) => e.id));
  });
});

describe("DynamoDbRecordStore.page: an object's records", () => {
  let store: DynamoDbRecordStore;
  beforeAll(() => {
    store = records();
  });

  it('pages 120 by 50 into 50, 50 and 20, oldest first, ties broken by id, each once', async () => {
    const thing = object();
    // Records of one chunk share their createdAt: pairs here, so the id decides within a pair.
    const all = Array.from({ length: 120 }, (_, i) =>
      record(thing.apiName, `r${String(119 - i).padStart(3, '0')}`, minute(Math.floor(i / 2))),
    );
    const expected = [...all].sort(
      (a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id),
    );
    await store.writeMany(
      thing,
      [...all].reverse().map((r) => ({ record: r, previous: null })),
    );
    const pages = await allPages((request) => store.page(thing.apiName, request), 50);
    expect(pages.map((p) => p.length)).toEqual([50, 50, 20]);
    expect(pages.flat()).toEqual(expected);
    expect(
      (await allPages((request) => store.page(thing.apiName, request), 40)).map((p) => p.length),
    ).toEqual([40, 40, 40]);
  });

  it('keeps its pages when records are written between them, and a rewrite does not move a record', async () => {
    const thing = object();
    const all = Array.from({ length: 120 }, (_, i) => record(thing.apiName, `r${i}`, minute(i)));
    await store.writeMany(
      thing,
      all.map((r) => ({ record: r, previous: null })),
    );
    const first = await store.page(thing.apiName, { limit: 50 });
    expect(first.items).toEqual(all.slice(0, 50));
    const newer = Array.from({ length: 5 }, (_, i) => record(thing.apiName, `n${i}`, minute(500 + i)));
    const updated = { ...all[70]!, updatedAt: minute(600), fields: { name: 'changed' } };
    await store.writeMany(thing, [
      ...newer.map((r) => ({ record: r, previous: null })),
      { record: updated, previous: all[70]! },
    ]);
    const second = await store.page(thing.apiName, { limit: 50, after: first.next! });
    expect(second.items).toEqual([...all.slice(50, 70), updated, ...all.slice(71, 100)]);
    const third = await store.page(thing.apiName, { limit: 50, after: second.next! });
    // Records added after the page already read come at the end, where oldest-first puts them.
    expect(third).toEqual({ items: [...all.slice(100), ...newer], next: null });
  });

  it('keys each record in the list by its createdAt, then id', async () => {
    const thing = object();
    const one = record(thing.apiName, 'only', minute(3));
    await store.writeMany(thing, [{ record: one, previous: null }]);
    const raw = await documentClientFor(client).send(
      new GetCommand({ TableName: standIn.tables.records, Key: { pk: `R#${thing.apiName}#only`, sk: 'R' } }),
    );
    expect(raw.Item).toMatchObject({ gsi1pk: `O#${thing.apiName}`, gsi1sk: `${minute(3)}#only` });
    expect(await store.page(thing.apiName, { limit: 5 })).toEqual({ items: [one], next: null });
  });

  it('lists a record written before sort keys began with the date exactly once', async () => {
    const thing = object();
    const current = Array.from({ length: 6 }, (_, i) => record(thing.apiName, `r${i}`, minute(i)));
    await store.writeMany(
      thing,
      current.map((r) => ({ record: r, previous: null })),
    );
    // The earlier item layout: gsi1sk was the bare id.
    const legacy = record(thing.apiName, 'aa-legacy', minute(2));
    await documentClientFor(client).send(
      new PutCommand({
        TableName: standIn.tables.records,
        Item: {
          pk: `R#${thing.apiName}#${legacy.id}`,
          sk: 'R',
          gsi1pk: `O#${thing.apiName}`,
          gsi1sk: legacy.id,
          ...legacy,
        },
      }),
    );
    for (const limit of [1, 2, 3, 7]) {
      const listed = (await allPages((request) => store.page(thing.apiName, request), limit)).flat();
      expect(listed.map((r) => r.id).sort(), `limit ${limit}`).toEqual(
        [...current, legacy].map((r) => r.id).sort(),
      );
    }
  });

  it('answers an object without records with one empty page', async () => {
    expect(await store.page(object().apiName, { limit: 10 })).toEqual({ items: [], next: null });
  });
});
