import { Buffer } from 'node:buffer';
import { createHash } from 'node:crypto';
import { ConditionalCheckFailedException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  BatchWriteCommand,
  DeleteCommand,
  GetCommand,
  QueryCommand,
  UpdateCommand,
  type BatchWriteWriteRequest,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import { ScError } from '../../core/errors.ts';
import { matchKeys, RECORD_ID_FIELD } from '../../core/match-keys.ts';
import type { FieldValue, StoredRecord } from '../../core/model.ts';
import type { FieldDefinition, ObjectDefinition } from '../../core/object-schema.ts';
import type { ListPage, ListPageRequest } from '../../ports/list-page.ts';
import type { RecordStore, RecordWrite } from '../../ports/record-store.ts';
import { readListPage } from './dynamodb-list-pages.ts';
import { conditionalWrite, documentClientFor, GSI1, isItemTooLarge } from './dynamodb-tables.ts';

/*
 * The records table (keys `pk`/`sk`, index `gsi1`):
 *
 *   pk                           sk  attributes
 *   R#<object>#<id>              R   object, id, archived, createdAt, updatedAt, fields (a map: strings,
 *                                    numbers, booleans, string lists), gsi1pk = O#<object>,
 *                                    gsi1sk = <createdAt>#<id>
 *   I#<object>#<field>#<key>     I   ids: string set of the records whose field has that match key
 *   M#<object>                   M   indexedFields: fields writers keep indexed;
 *                                    readyFields: fields whose back-fill has finished
 *
 * - `scan(object)` queries gsi1 (`O#<object>`); look-ups by id read `R#…` items directly, so the record-id
 *   pseudo-field (`__id`) is never indexed.
 * - `page(object)` reads gsi1 in sort-key order, so records list oldest first, a page at a time
 *   (`dynamodb-list-pages.ts`). Records written before the sort key began with `createdAt` (it was the id)
 *   list by id among the others until they are written again; paging still holds each exactly once.
 * - A match key longer than 512 bytes is stored as `#sha256:<hex>` to stay under the 2 KB key limit.
 * - `ids` changes only through UpdateItem `ADD` / `DELETE`, so concurrent writers never lose each other's
 *   ids. DynamoDB drops a set that becomes empty; the bare item is then deleted (look-ups treat a missing
 *   item and a missing set alike).
 * - An index item holds at most ~10,000 ids (400 KB item limit); a value shared by more records of one
 *   object cannot be matched on and fails the write with `INDEX_KEY_TOO_COMMON`.
 * - After an interrupted `writeMany`, a look-up may return an id whose record no longer has the key (see
 *   `writeMany`); it never misses a record. Callers compare the fetched record's keys when it matters.
 * - The back-fill of a newly indexed field reads gsi1, which in AWS lags writes by a fraction of a second:
 *   a record written in that instant before the field was first indexed could be left out of it.
 */

export interface DynamoDbRecordStoreOptions {
  /** The plain DynamoDB client; the store wraps it in a document client. */
  client: DynamoDBClient;
  tableName: string;
  /** Index UpdateItem calls in flight at once. Default 16. */
  indexConcurrency?: number;
  /** BatchGetItem / BatchWriteItem calls in flight at once. Default 4. */
  batchConcurrency?: number;
  /**
   * Re-sending what a batch call left unprocessed: at most `maxAttempts` calls in all (default 10),
   * waiting `baseDelayMs` (default 50) doubling up to 5 s, with jitter, between them.
   */
  unprocessedRetry?: { maxAttempts?: number; baseDelayMs?: number };
}

/** DynamoDB limits: keys per BatchGetItem, requests per BatchWriteItem. */
const BATCH_GET_SIZE = 100;
const BATCH_WRITE_SIZE = 25;
/** Ids per ADD/DELETE call, so one call stays well below the 400 KB item limit with uuid ids. */
const IDS_PER_UPDATE = 1000;
const MAX_PLAIN_KEY_BYTES = 512;
const MAX_BACKOFF_MS = 5000;

type Item = Record<string, unknown>;

/** Ids to add to or remove from index items, by index item pk. */
type IndexChanges = Map<string, { object: string; field: string; key: string; ids: Set<string> }>;

interface IndexMeta {
  indexed: ReadonlySet<string>;
  ready: ReadonlySet<string>;
}

export class DynamoDbRecordStore implements RecordStore {
  private readonly documents: DynamoDBDocumentClient;
  private readonly tableName: string;
  private readonly indexConcurrency: number;
  private readonly batchConcurrency: number;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  /** Indexed fields per object, as last read; refreshed by `ensureIndexed` and after every write. */
  private readonly indexedFieldsCache = new Map<string, ReadonlySet<string>>();

  constructor(options: DynamoDbRecordStoreOptions) {
    this.documents = documentClientFor(options.client);
    this.tableName = options.tableName;
    this.indexConcurrency = options.indexConcurrency ?? 16;
    this.batchConcurrency = options.batchConcurrency ?? 4;
    this.maxAttempts = options.unprocessedRetry?.maxAttempts ?? 10;
    this.baseDelayMs = options.unprocessedRetry?.baseDelayMs ?? 50;
  }

  async ensureIndexed(object: ObjectDefinition, fields: readonly string[]): Promise<void> {
    const wanted = [...new Set(fields)].filter((f) => f !== RECORD_ID_FIELD);
    for (const field of wanted) fieldOf(object, field);
    const meta = await this.readMeta(object.apiName);
    const pending = wanted.filter((f) => !meta.ready.has(f));
    if (pending.length === 0) return;

    // A field becomes usable in three steps, so that no record is left out of its index:
    //   1. add it to indexedFields: every writeMany that starts or finishes after this indexes it;
    //   2. back-fill from the records written before (a writer that was in flight during step 1 re-reads
    //      indexedFields after its put and indexes its own records; ADD makes doing both harmless);
    //   3. add it to readyFields. A crash before step 3 leaves the field not ready, and the next call
    //      back-fills again.
    await this.addToMeta(object.apiName, 'indexedFields', pending);
    for await (const page of this.recordPages(object.apiName)) {
      const writes = page.map((record) => ({ record, previous: null }));
      await this.addIds(indexChanges(object, writes, pending).add);
    }
    await this.addToMeta(object.apiName, 'readyFields', pending);
  }

  async findIdsByKeys(
    object: string,
    field: string,
    keys: readonly string[],
  ): Promise<Map<string, string[]>> {
    const keyByPk = new Map([...new Set(keys)].map((key) => [indexPk(object, field, key), key]));
    const found = new Map<string, string[]>();
    await this.batchGet(
      [...keyByPk.keys()].map((pk) => ({ pk, sk: 'I' })),
      { ProjectionExpression: '#pk, #ids', ExpressionAttributeNames: { '#pk': 'pk', '#ids': 'ids' } },
      (item) => {
        const ids = item.ids as Set<string> | undefined;
        const key = keyByPk.get(item.pk as string);
        if (key !== undefined && ids && ids.size > 0) found.set(key, [...ids].sort());
      },
    );
    return found;
  }

  async getMany(object: string, ids: readonly string[]): Promise<Map<string, StoredRecord>> {
    const found = new Map<string, StoredRecord>();
    await this.batchGet(
      [...new Set(ids)].map((id) => recordKey(object, id)),
      {},
      (item) => {
        const record = toRecord(item);
        found.set(record.id, record);
      },
    );
    return found;
  }

  /**
   * Writes in three phases, ordered so that an interrupted write can be retried. A retried chunk re-reads
   * its records, so its `previous` is what the first attempt wrote and it finds nothing left to index.
   *   1. ADD the new keys;
   *   2. put the records;
   *   3. DELETE the removed keys.
   * Interrupted after 1 or 2, the index holds extra ids (under keys their records do not have): extra
   * look-up candidates, never a missed record. Putting the records first would instead lose the new keys
   * for good, and a missing key means a duplicate record on the next run.
   */
  async writeMany(object: ObjectDefinition, writes: readonly RecordWrite[]): Promise<void> {
    const latest = latestWrites(object, writes);
    if (latest.length === 0) return;
    const indexedBefore = await this.indexedFields(object.apiName);
    const changes = indexChanges(object, latest, indexedBefore);
    await this.addIds(changes.add);
    await this.putRecords(latest.map((w) => w.record));
    // A field that ensureIndexed started indexing while we wrote may have missed our records in its
    // back-fill; index them for it too.
    const indexedAfter = (await this.readMeta(object.apiName)).indexed;
    const late = indexChanges(
      object,
      latest,
      [...indexedAfter].filter((f) => !indexedBefore.has(f)),
    );
    await this.addIds(late.add);
    await this.removeIds(new Map([...changes.remove, ...late.remove]));
  }

  async *scan(object: string): AsyncIterable<StoredRecord> {
    for await (const page of this.recordPages(object)) yield* page;
  }

  async page(object: string, request: ListPageRequest): Promise<ListPage<StoredRecord>> {
    const list = {
      tableName: this.tableName,
      gsi1pk: `O#${object}`,
      ascending: true,
      tableKeyOf: (id: string) => recordKey(object, id),
    };
    const page = await readListPage(this.documents, list, request);
    return { items: page.items.map(toRecord), next: page.next };
  }

  private async *recordPages(object: string): AsyncGenerator<StoredRecord[]> {
    let startKey: Item | undefined;
    do {
      const page = await this.documents.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: GSI1,
          KeyConditionExpression: '#gsi1pk = :gsi1pk',
          ExpressionAttributeNames: { '#gsi1pk': 'gsi1pk' },
          ExpressionAttributeValues: { ':gsi1pk': `O#${object}` },
          ExclusiveStartKey: startKey,
        }),
      );
      yield (page.Items ?? []).map(toRecord);
      startKey = page.LastEvaluatedKey;
    } while (startKey);
  }

  private async indexedFields(object: string): Promise<ReadonlySet<string>> {
    return this.indexedFieldsCache.get(object) ?? (await this.readMeta(object)).indexed;
  }

  private async readMeta(object: string): Promise<IndexMeta> {
    const { Item } = await this.documents.send(
      new GetCommand({ TableName: this.tableName, Key: metaKey(object), ConsistentRead: true }),
    );
    return this.rememberMeta(object, Item);
  }

  private async addToMeta(
    object: string,
    attribute: 'indexedFields' | 'readyFields',
    fields: string[],
  ): Promise<IndexMeta> {
    const { Attributes } = await this.documents.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: metaKey(object),
        UpdateExpression: 'ADD #fields :fields',
        ExpressionAttributeNames: { '#fields': attribute },
        ExpressionAttributeValues: { ':fields': new Set(fields) },
        ReturnValues: 'ALL_NEW',
      }),
    );
    return this.rememberMeta(object, Attributes);
  }

  private rememberMeta(object: string, item: Item | undefined): IndexMeta {
    const meta = {
      indexed: (item?.indexedFields as Set<string> | undefined) ?? new Set<string>(),
      ready: (item?.readyFields as Set<string> | undefined) ?? new Set<string>(),
    };
    this.indexedFieldsCache.set(object, meta.indexed);
    return meta;
  }

  private async putRecords(records: StoredRecord[]): Promise<void> {
    await forEachLimited(chunks(records, BATCH_WRITE_SIZE), this.batchConcurrency, (batch) =>
      this.untilProcessed<BatchWriteWriteRequest>(
        'record writes',
        batch.map((record) => ({ PutRequest: { Item: recordItem(record) } })),
        async (requests) => {
          const { UnprocessedItems } = await this.documents.send(
            new BatchWriteCommand({ RequestItems: { [this.tableName]: requests } }),
          );
          return UnprocessedItems?.[this.tableName] ?? [];
        },
      ),
    );
  }

  private async batchGet(
    keys: Item[],
    projection: { ProjectionExpression?: string; ExpressionAttributeNames?: Record<string, string> },
    onItem: (item: Item) => void,
  ): Promise<void> {
    await forEachLimited(chunks(keys, BATCH_GET_SIZE), this.batchConcurrency, (batch) =>
      this.untilProcessed('keys to read', batch, async (pending) => {
        const { Responses, UnprocessedKeys } = await this.documents.send(
          new BatchGetCommand({
            RequestItems: { [this.tableName]: { Keys: pending, ConsistentRead: true, ...projection } },
          }),
        );
        for (const item of Responses?.[this.tableName] ?? []) onItem(item);
        return UnprocessedKeys?.[this.tableName]?.Keys ?? [];
      }),
    );
  }

  /** Sends a batch, then re-sends what DynamoDB left unprocessed, backing off exponentially. */
  private async untilProcessed<T>(
    what: string,
    items: T[],
    send: (items: T[]) => Promise<T[]>,
  ): Promise<void> {
    let pending = items;
    for (let attempt = 1; pending.length > 0; attempt++) {
      if (attempt > 1) {
        if (attempt > this.maxAttempts) {
          throw new ScError(
            'THROTTLED',
            `DynamoDB left ${pending.length} ${what} unprocessed after ${this.maxAttempts} attempts on table ` +
              `${this.tableName}; the table is throttled. Retry later.`,
            { retryable: true },
          );
        }
        const delay = Math.min(MAX_BACKOFF_MS, this.baseDelayMs * 2 ** (attempt - 2));
        await sleep(delay / 2 + (Math.random() * delay) / 2);
      }
      pending = await send(pending);
    }
  }

  private async addIds(changes: IndexChanges): Promise<void> {
    await forEachLimited(
      updateParts(changes),
      this.indexConcurrency,
      async ({ pk, object, field, key, ids }) => {
        try {
          await this.documents.send(
            new UpdateCommand({
              TableName: this.tableName,
              Key: { pk, sk: 'I' },
              UpdateExpression: 'ADD #ids :ids',
              ExpressionAttributeNames: { '#ids': 'ids' },
              ExpressionAttributeValues: { ':ids': new Set(ids) },
            }),
          );
        } catch (error) {
          if (!isItemTooLarge(error)) throw error;
          throw new ScError(
            'INDEX_KEY_TOO_COMMON',
            `Too many ${object} records share the value "${key.slice(0, 80)}" in field "${field}" for it to be matched on ` +
              '(an index entry holds about 10,000 records). Match on a field whose values are more distinct.',
            { cause: error },
          );
        }
      },
    );
  }

  /**
   * Removes ids from index items. Mostly a key's ids are exactly the ones leaving it (distinct values such
   * as SKUs), so the item is first deleted on that condition, in one call; otherwise the ids are taken out
   * of the set, and the item is dropped when that emptied it.
   */
  private async removeIds(changes: IndexChanges): Promise<void> {
    await forEachLimited(updateParts(changes), this.indexConcurrency, async ({ pk, ids }) => {
      const key = { pk, sk: 'I' };
      const names = { '#ids': 'ids' };
      const values = { ':ids': new Set(ids) };
      if (await this.deleteIf(key, '#ids = :ids', names, values)) return;
      let remaining: Item | undefined;
      try {
        ({ Attributes: remaining } = await this.documents.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: key,
            UpdateExpression: 'DELETE #ids :ids',
            // Without the condition, DELETE on a missing item would create a bare one.
            ConditionExpression: 'attribute_exists(#ids)',
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: values,
            ReturnValues: 'ALL_NEW',
          }),
        ));
      } catch (error) {
        if (error instanceof ConditionalCheckFailedException) return;
        throw error;
      }
      if (remaining?.ids !== undefined) return;
      // The set is now empty; drop the bare item unless a writer has added an id since:
      //   we: DELETE ids {r1} → set empty, attribute gone
      //   W:  ADD ids {r2}    → ids = {r2}
      //   we: DeleteItem if attribute_not_exists(ids) → fails, r2 stays.
      await this.deleteIf(key, 'attribute_not_exists(#ids)', names);
    });
  }

  /** A conditional DeleteItem; false when the condition does not hold. */
  private async deleteIf(
    key: Item,
    condition: string,
    names: Record<string, string>,
    values?: Record<string, unknown>,
  ): Promise<boolean> {
    return conditionalWrite(
      this.documents.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: key,
          ConditionExpression: condition,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      ),
    );
  }
}

function recordKey(object: string, id: string) {
  return { pk: `R#${object}#${id}`, sk: 'R' };
}

function metaKey(object: string) {
  return { pk: `M#${object}`, sk: 'M' };
}

function indexPk(object: string, field: string, key: string): string {
  const part =
    Buffer.byteLength(key, 'utf8') > MAX_PLAIN_KEY_BYTES
      ? `#sha256:${createHash('sha256').update(key, 'utf8').digest('hex')}`
      : key;
  return `I#${object}#${field}#${part}`;
}

function recordItem(record: StoredRecord): Item {
  return {
    ...recordKey(record.object, record.id),
    gsi1pk: `O#${record.object}`,
    gsi1sk: `${record.createdAt}#${record.id}`,
    object: record.object,
    id: record.id,
    archived: record.archived,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
    fields: record.fields,
  };
}

function toRecord(item: Item): StoredRecord {
  return {
    id: item.id as string,
    object: item.object as string,
    archived: item.archived as boolean,
    createdAt: item.createdAt as string,
    updatedAt: item.updatedAt as string,
    fields: (item.fields as Record<string, FieldValue> | undefined) ?? {},
  };
}

function fieldOf(object: ObjectDefinition, apiName: string): FieldDefinition {
  const field = object.fields.find((f) => f.apiName === apiName);
  if (!field) {
    throw new ScError('UNKNOWN_FIELD', `Object "${object.apiName}" has no field "${apiName}" to match on.`);
  }
  return field;
}

/** One write per record (BatchWriteItem refuses two puts of one key): the first `previous`, the last `record`. */
function latestWrites(object: ObjectDefinition, writes: readonly RecordWrite[]): RecordWrite[] {
  const byId = new Map<string, RecordWrite>();
  for (const write of writes) {
    if (write.record.object !== object.apiName) {
      throw new ScError(
        'RECORD_OBJECT_MISMATCH',
        `Record ${write.record.id} belongs to "${write.record.object}", not "${object.apiName}".`,
      );
    }
    const earlier = byId.get(write.record.id);
    byId.set(write.record.id, earlier ? { previous: earlier.previous, record: write.record } : write);
  }
  return [...byId.values()];
}

/** The index ids to add and remove so that `fields` of the written records are indexed by their new values. */
function indexChanges(
  object: ObjectDefinition,
  writes: Iterable<RecordWrite>,
  fields: Iterable<string>,
): { add: IndexChanges; remove: IndexChanges } {
  const add: IndexChanges = new Map();
  const remove: IndexChanges = new Map();
  const definitions = [...fields].flatMap((name) => object.fields.filter((f) => f.apiName === name));
  const note = (changes: IndexChanges, field: string, key: string, id: string) => {
    const pk = indexPk(object.apiName, field, key);
    let change = changes.get(pk);
    if (!change) changes.set(pk, (change = { object: object.apiName, field, key, ids: new Set() }));
    change.ids.add(id);
  };
  for (const { record, previous } of writes) {
    for (const field of definitions) {
      const before = new Set(matchKeys(field.type, previous?.fields[field.apiName]));
      const after = new Set(matchKeys(field.type, record.fields[field.apiName]));
      for (const key of after) if (!before.has(key)) note(add, field.apiName, key, record.id);
      for (const key of before) if (!after.has(key)) note(remove, field.apiName, key, record.id);
    }
  }
  return { add, remove };
}

function* updateParts(changes: IndexChanges) {
  for (const [pk, change] of changes) {
    for (const ids of chunks([...change.ids], IDS_PER_UPDATE)) yield { pk, ...change, ids };
  }
}

function* chunks<T>(items: readonly T[], size: number): Generator<T[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
}

/**
 * Runs `task` over `items` with at most `limit` in flight. After a failure no new item starts; the ones in
 * flight finish, then the first error is thrown.
 */
async function forEachLimited<T>(
  items: Iterable<T>,
  limit: number,
  task: (item: T) => Promise<void>,
): Promise<void> {
  const iterator = items[Symbol.iterator]();
  const errors: unknown[] = [];
  const worker = async () => {
    for (let next = iterator.next(); !next.done && errors.length === 0; next = iterator.next()) {
      await task(next.value).catch((error: unknown) => errors.push(error));
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, limit) }, worker));
  if (errors.length > 0) throw errors[0];
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
