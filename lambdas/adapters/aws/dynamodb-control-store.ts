import { ConditionalCheckFailedException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  BatchGetCommand,
  DeleteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
  type QueryCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { ScError } from '../../core/errors.ts';
import { TERMINAL_STATUSES, type Execution } from '../../core/model.ts';
import type { ObjectDefinition } from '../../core/object-schema.ts';
import { systemClock, type Clock } from '../../ports/clock.ts';
import type { ApiKeyRecord, ApiKeyStore } from '../../ports/api-key-store.ts';
import type { ConnectorRecord, ConnectorStore, ConnectorVersion } from '../../ports/connector-store.ts';
import type {
  ExecutionExpectation,
  ExecutionFilter,
  ExecutionPatch,
  ExecutionStore,
} from '../../ports/execution-store.ts';
import type { ListPage, ListPageRequest } from '../../ports/list-page.ts';
import { readListPage, type IndexFilter } from './dynamodb-list-pages.ts';
import { conditionalWrite, documentClientFor, GSI1, isItemTooLarge } from './dynamodb-tables.ts';

/*
 * The control table (keys `pk`/`sk`, index `gsi1`), the items this adapter owns:
 *
 *   pk              sk         gsi1pk             gsi1sk             attributes
 *   C#<id>          C          CONNECTORS         <apiName>          the ConnectorRecord
 *   CN#<apiName>    CN                                               connectorId, claimedAt (keeps api names unique)
 *   C#<id>          V#000001                                         connectorId, version, hash, definition, createdAt
 *   O#<apiName>     O          OBJECTS            <apiName>          definition (the ObjectDefinition)
 *   E#<id>          E          CE#<connectorId>   <createdAt>#<id>   the Execution
 *   CA#<connectorId> <createdAt>#<id>                                executionId, markedAt (while it is queued or running)
 *   APIKEY#<hash>   APIKEY     APIKEYS            <id>               the ApiKeyRecord (never the key)
 *
 * A connector's executions are paged on gsi1 from the sort key of a page's last item
 * (`dynamodb-list-pages.ts`); a status or mode filter is a FilterExpression, read on until the page is full.
 *
 * A connector's active (queued or running) executions each have a marker under `CA#<connectorId>`, so
 * dispatching reads them with one consistent Query of the table, however many executions ended before,
 * and an execution registered a moment ago is always in it (gsi1 is eventually consistent). The marker is
 * written before the execution and deleted after the execution ended; the reader repairs what an
 * interruption leaves (`listActiveByConnector`).
 *
 * Definitions are stored as DynamoDB maps. An item holds at most 400 KB, which bounds one connector
 * version, inline SQL included (`DEFINITION_TOO_LARGE` beyond); moving definitions to S3 would lift it.
 * There are no transactions (the dynalite stand-in has none): each change that spans items is ordered so
 * that an interruption leaves a state the next attempt repairs, as commented where it happens.
 */

export interface DynamoDbControlStoreOptions {
  /** The plain DynamoDB client; the store wraps it in a document client. */
  client: DynamoDBClient;
  tableName: string;
  /** Stamps `updatedAt` on connector changes and dates api-name claims. Default: the system clock. */
  clock?: Clock;
  /**
   * How long an api-name claim whose connector was never written (its creator died) blocks other
   * creators, in ms. Default 60,000.
   */
  claimTimeoutMs?: number;
}

type Item = Record<string, unknown>;

const KEY_ATTRIBUTES = ['pk', 'sk', 'gsi1pk', 'gsi1sk'] as const;
const CONNECTOR_LIST = 'CONNECTORS';
const OBJECT_LIST = 'OBJECTS';
const API_KEY_LIST = 'APIKEYS';
/**
 * How old a marker whose execution does not exist must be before a reader deletes it: younger, its
 * execution may be being registered (the marker is written first).
 */
const ORPHAN_MARKER_MS = 60 * 60 * 1000;
/** DynamoDB's most keys per BatchGetItem. */
const BATCH_GET_KEYS = 100;
/** How often a BatchGetItem is sent for keys DynamoDB left unprocessed before giving up. */
const BATCH_GET_ATTEMPTS = 8;

/** Connectors, versions and object definitions (ConnectorStore) and executions (ExecutionStore). */
export class DynamoDbControlStore implements ConnectorStore, ExecutionStore, ApiKeyStore {
  private readonly documents: DynamoDBDocumentClient;
  private readonly tableName: string;
  private readonly clock: Clock;
  private readonly claimTimeoutMs: number;

  constructor(options: DynamoDbControlStoreOptions) {
    this.documents = documentClientFor(options.client);
    this.tableName = options.tableName;
    this.clock = options.clock ?? systemClock;
    this.claimTimeoutMs = options.claimTimeoutMs ?? 60_000;
  }

  // --- connectors -------------------------------------------------------------------------------------

  async getConnector(ref: string): Promise<ConnectorRecord | null> {
    const byId = await this.getItem(connectorKey(ref));
    if (byId) return toConnector(byId);
    const claim = await this.getItem(claimKey(ref));
    const claimed = claim && (await this.getItem(connectorKey(claim.connectorId as string)));
    return claimed && claimed.apiName === ref ? toConnector(claimed) : null;
  }

  async listConnectors(): Promise<ConnectorRecord[]> {
    return (await this.queryIndex(CONNECTOR_LIST, true)).map(toConnector);
  }

  /**
   * Claim → first version → connector → check the claim:
   * - interrupted after the claim, the claim names a connector that does not exist; the same connector
   *   id re-claims it at once, anyone else once it is older than `claimTimeoutMs`;
   * - a creator stalled longer than that finds, on its final check, that the claim was taken over: it
   *   removes its connector and reports the conflict, so an api name never names two connectors.
   */
  async createConnector(connector: ConnectorRecord, firstVersion: ConnectorVersion): Promise<void> {
    if (firstVersion.connectorId !== connector.id || firstVersion.version !== connector.version) {
      throw new ScError(
        'INVALID_ARGUMENT',
        `The first version must belong to connector ${connector.id} and be its version ${connector.version}.`,
      );
    }
    await this.claimApiName(connector);
    await this.putVersion(firstVersion, connector.apiName);
    try {
      await this.documents.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            ...connectorKey(connector.id),
            gsi1pk: CONNECTOR_LIST,
            gsi1sk: connector.apiName,
            ...connector,
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) {
        throw conflict(`Connector ${connector.id} ("${connector.apiName}") already exists.`, error);
      }
      throw error;
    }
    const claim = await this.getItem(claimKey(connector.apiName));
    if (claim?.connectorId !== connector.id) {
      await this.documents.send(
        new DeleteCommand({ TableName: this.tableName, Key: connectorKey(connector.id) }),
      );
      throw apiNameTaken(connector.apiName);
    }
  }

  /**
   * Connector first, then the version item:
   *   1. move the connector from version v-1 to v (conditional: one writer gets v);
   *   2. put V#v unless it exists with another definition.
   * Interrupted between them, the connector names v and V#v is missing: `getVersion` returns null until a
   * later `addVersion(v)` (any writer: it finds the connector at v) writes it, or `addVersion(v+1)` moves
   * past it. The other order would leave an orphan V#v that blocks version v for every other definition.
   */
  async addVersion(version: ConnectorVersion): Promise<void> {
    const id = version.connectorId;
    try {
      await this.documents.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: connectorKey(id),
          UpdateExpression: 'SET #version = :version, #updatedAt = :now',
          ConditionExpression: 'attribute_exists(pk) AND #version = :previous',
          ExpressionAttributeNames: { '#version': 'version', '#updatedAt': 'updatedAt' },
          ExpressionAttributeValues: {
            ':version': version.version,
            ':previous': version.version - 1,
            ':now': this.clock.now().toISOString(),
          },
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      const current = await this.getItem(connectorKey(id));
      if (!current) throw notFound(`Connector ${id} does not exist.`);
      // Already at v: an earlier attempt (this one's or another writer's) got step 1 done; step 2 decides.
      if (current.version !== version.version) {
        throw conflict(
          `Connector "${String(current.apiName)}" is at version ${String(current.version)}, so version ` +
            `${version.version} cannot follow it. Reload the connector and deploy again.`,
          error,
        );
      }
    }
    await this.putVersion(version, id);
  }

  async getVersion(connectorId: string, version: number): Promise<ConnectorVersion | null> {
    const item = await this.getItem(versionKey(connectorId, version));
    return item ? toVersion(item) : null;
  }

  async updateConnector(
    id: string,
    patch: Partial<Pick<ConnectorRecord, 'status' | 'name' | 'diffBaselineExecutionId' | 'webhookToken'>>,
  ): Promise<ConnectorRecord> {
    const stamped = { ...patch, updatedAt: this.clock.now().toISOString() };
    const item = await this.updateItem(connectorKey(id), stamped, ['id', 'apiName', 'version', 'createdAt']);
    if (!item) throw notFound(`Connector ${id} does not exist.`);
    return toConnector(item);
  }

  /**
   * Connector → versions → claim. Interrupted after the connector, the claim names a connector that no
   * longer exists: it is stale, and the name is free once it is older than `claimTimeoutMs` (the same
   * takeover as an interrupted create). Deleting the claim first could let another connector take the
   * name while this one still exists.
   */
  async deleteConnector(id: string): Promise<void> {
    const item = await this.getItem(connectorKey(id));
    if (!item) return;
    await this.documents.send(new DeleteCommand({ TableName: this.tableName, Key: connectorKey(id) }));
    let startKey: Item | undefined;
    do {
      const page = await this.documents.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :versions)',
          ExpressionAttributeValues: { ':pk': connectorKey(id).pk, ':versions': 'V#' },
          ProjectionExpression: 'pk, sk',
          ExclusiveStartKey: startKey,
        }),
      );
      for (const key of page.Items ?? []) {
        await this.documents.send(new DeleteCommand({ TableName: this.tableName, Key: key }));
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    await conditionalWrite(
      this.documents.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: claimKey(item.apiName as string),
          ConditionExpression: 'connectorId = :id',
          ExpressionAttributeValues: { ':id': id },
        }),
      ),
    );
  }

  // --- object definitions -----------------------------------------------------------------------------

  async putObject(object: ObjectDefinition): Promise<void> {
    await this.documents.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          ...objectKey(object.apiName),
          gsi1pk: OBJECT_LIST,
          gsi1sk: object.apiName,
          definition: object,
        },
      }),
    );
  }

  async getObject(apiName: string): Promise<ObjectDefinition | null> {
    const item = await this.getItem(objectKey(apiName));
    return item ? (item.definition as ObjectDefinition) : null;
  }

  async listObjects(): Promise<ObjectDefinition[]> {
    return (await this.queryIndex(OBJECT_LIST, true)).map((item) => item.definition as ObjectDefinition);
  }

  // --- API keys ---------------------------------------------------------------------------------------

  async createApiKey(key: ApiKeyRecord): Promise<void> {
    const item = { ...apiKeyKey(key.hash), gsi1pk: API_KEY_LIST, gsi1sk: key.id, ...key };
    const created = await this.putIf(item, 'attribute_not_exists(pk)', {});
    if (!created) throw conflict('An API key with this hash exists already.');
  }

  async findApiKeyByHash(hash: string): Promise<ApiKeyRecord | null> {
    const item = await this.getItem(apiKeyKey(hash));
    return item ? toApiKey(item) : null;
  }

  async listApiKeys(): Promise<ApiKeyRecord[]> {
    const keys = (await this.queryIndex(API_KEY_LIST, true)).map(toApiKey);
    return keys.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
  }

  /** Finds the key by id on the index, then stamps `revokedAt` on its item (kept the first time). */
  async revokeApiKey(id: string): Promise<ApiKeyRecord> {
    const found = (await this.queryIndex(API_KEY_LIST, true, id))[0];
    if (!found) {
      throw new ScError('API_KEY_NOT_FOUND', `No API key ${id}. List the keys with \`sc keys list\`.`);
    }
    const key = toApiKey(found);
    if (key.revokedAt) return key;
    const item = await this.updateItem(apiKeyKey(key.hash), { revokedAt: this.clock.now().toISOString() }, [
      'id',
      'hash',
    ]);
    if (!item) throw new ScError('API_KEY_NOT_FOUND', `No API key ${id}.`);
    return toApiKey(item);
  }

  // --- executions -------------------------------------------------------------------------------------

  async create(execution: Execution): Promise<void> {
    const active = !TERMINAL_STATUSES.has(execution.status);
    const marker = activeMarkerKey(execution);
    if (active) {
      await this.documents.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...marker, executionId: execution.id, markedAt: this.clock.now().getTime() },
        }),
      );
    }
    try {
      await this.documents.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            ...executionKey(execution.id),
            gsi1pk: `CE#${execution.connectorId}`,
            gsi1sk: `${execution.createdAt}#${execution.id}`,
            ...execution,
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) {
        // A repeat registration: its marker is the existing execution's only if it has the same key.
        const existing = await this.get(execution.id);
        if (active && existing?.createdAt !== execution.createdAt) await this.deleteMarker(marker);
        throw conflict(`Execution ${execution.id} already exists.`, error);
      }
      throw error;
    }
  }

  async get(id: string): Promise<Execution | null> {
    const item = await this.getItem(executionKey(id));
    return item ? toExecution(item) : null;
  }

  async update(id: string, patch: ExecutionPatch, expected?: ExecutionExpectation): Promise<Execution> {
    const condition =
      expected === undefined
        ? undefined
        : {
            expression:
              '#expectedStatus = :expectedStatus' +
              (expected.cancelRequested === false
                ? ' AND (attribute_not_exists(#cancelRequested) OR #cancelRequested = :notCancelled)'
                : ''),
            names: {
              '#expectedStatus': 'status',
              ...(expected.cancelRequested === false ? { '#cancelRequested': 'cancelRequested' } : {}),
            },
            values: {
              ':expectedStatus': expected.status,
              ...(expected.cancelRequested === false ? { ':notCancelled': false } : {}),
            },
          };
    const item = await this.updateItem(
      executionKey(id),
      patch,
      ['id', 'connectorId', 'createdAt'],
      condition,
    );
    if (!item) {
      if (expected && (await this.get(id))) {
        throw conflict(
          `Execution ${id} is no longer ${expected.status}${expected.cancelRequested === false ? ' and uncancelled' : ''}.`,
        );
      }
      throw notFound(`Execution ${id} does not exist.`);
    }
    const execution = toExecution(item);
    if (patch.status !== undefined && TERMINAL_STATUSES.has(execution.status)) {
      await this.deleteMarker(activeMarkerKey(execution));
    }
    return execution;
  }

  async listActiveByConnector(connectorId: string): Promise<Execution[]> {
    const markers = await this.queryAll({
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': `CA#${connectorId}` },
      ConsistentRead: true,
    });
    // Two markers can name one execution for a moment: a repeated registration's, until it is deleted.
    const ids = new Set(markers.map((marker) => marker.executionId as string));
    const executions = await this.getExecutions([...ids]);
    const active: Execution[] = [];
    for (const marker of markers) {
      const execution = executions.get(marker.executionId as string);
      if (execution && !TERMINAL_STATUSES.has(execution.status)) {
        const key = activeMarkerKey(execution);
        if (key.pk === marker.pk && key.sk === marker.sk) {
          active.push(execution);
          continue;
        }
      } else if (!execution && this.clock.now().getTime() - (marker.markedAt as number) < ORPHAN_MARKER_MS) {
        continue;
      }
      // Left by an interruption: its execution ended, was registered under another key, or never was.
      await this.deleteMarker({ pk: marker.pk, sk: marker.sk });
    }
    return active;
  }

  async listByConnector(connectorId: string): Promise<Execution[]> {
    return (await this.queryIndex(`CE#${connectorId}`, false)).map(toExecution);
  }

  async pageByConnector(
    connectorId: string,
    request: ListPageRequest & ExecutionFilter,
  ): Promise<ListPage<Execution>> {
    const list = {
      tableName: this.tableName,
      gsi1pk: `CE#${connectorId}`,
      ascending: false,
      tableKeyOf: executionKey,
      filter: executionFilter(request),
    };
    const page = await readListPage(this.documents, list, request);
    return { items: page.items.map(toExecution), next: page.next };
  }

  // --- helpers ----------------------------------------------------------------------------------------

  private async deleteMarker(key: Item): Promise<void> {
    await this.documents.send(new DeleteCommand({ TableName: this.tableName, Key: key }));
  }

  /** The executions with these ids that exist, read consistently, by id. */
  private async getExecutions(ids: readonly string[]): Promise<Map<string, Execution>> {
    const found = new Map<string, Execution>();
    for (let start = 0; start < ids.length; start += BATCH_GET_KEYS) {
      let keys: Item[] = ids.slice(start, start + BATCH_GET_KEYS).map(executionKey);
      for (let attempt = 0; keys.length > 0; attempt++) {
        if (attempt >= BATCH_GET_ATTEMPTS) {
          throw new ScError(
            'THROTTLED',
            `DynamoDB left ${keys.length} executions unread after ${BATCH_GET_ATTEMPTS} attempts on table ` +
              `${this.tableName}; the table is throttled. Retry later.`,
            { retryable: true },
          );
        }
        if (attempt > 0) await sleep(Math.min(1_000, 50 * 2 ** attempt));
        const { Responses, UnprocessedKeys } = await this.documents.send(
          new BatchGetCommand({
            RequestItems: { [this.tableName]: { Keys: keys, ConsistentRead: true } },
          }),
        );
        for (const item of Responses?.[this.tableName] ?? []) {
          const execution = toExecution(item);
          found.set(execution.id, execution);
        }
        keys = UnprocessedKeys?.[this.tableName]?.Keys ?? [];
      }
    }
    return found;
  }

  /**
   * Puts the api-name claim, or takes over a stale one (its connector never written, older than
   * `claimTimeoutMs`). Throws `CONFLICT` when the name belongs to another connector.
   */
  private async claimApiName(connector: ConnectorRecord): Promise<void> {
    const now = this.clock.now();
    const claim = { ...claimKey(connector.apiName), connectorId: connector.id, claimedAt: now.toISOString() };
    const unclaimedOrOurs = 'attribute_not_exists(pk) OR connectorId = :id';
    if (await this.putIf(claim, unclaimedOrOurs, { ':id': connector.id })) return;

    const held = await this.getItem(claimKey(connector.apiName));
    if (!held || !(await this.isStaleClaim(held, now))) throw apiNameTaken(connector.apiName);
    // Take it over only if nobody changed it since we read it.
    const unchanged = 'connectorId = :holder AND claimedAt = :claimedAt';
    const values = { ':holder': held.connectorId, ':claimedAt': held.claimedAt };
    if (!(await this.putIf(claim, unchanged, values))) throw apiNameTaken(connector.apiName);
  }

  /** A claim whose creator died before writing its connector, longer than `claimTimeoutMs` ago. */
  private async isStaleClaim(claim: Item, now: Date): Promise<boolean> {
    if (now.getTime() - Date.parse(claim.claimedAt as string) <= this.claimTimeoutMs) return false;
    return (await this.getItem(connectorKey(claim.connectorId as string))) === null;
  }

  /** Writes a version item unless one with another definition exists (versions are immutable). */
  private async putVersion(version: ConnectorVersion, connectorRef: string): Promise<void> {
    const item = { ...versionKey(version.connectorId, version.version), ...version };
    const absentOrSame = 'attribute_not_exists(pk) OR #hash = :hash';
    let written: boolean;
    try {
      written = await this.putIf(item, absentOrSame, { ':hash': version.hash }, { '#hash': 'hash' });
    } catch (error) {
      if (!isItemTooLarge(error)) throw error;
      throw new ScError(
        'DEFINITION_TOO_LARGE',
        `The definition of connector "${connectorRef}" is larger than DynamoDB's 400 KB item limit. ` +
          'Shorten it, e.g. move reference data out of its SQL.',
        { cause: error },
      );
    }
    if (!written) {
      throw conflict(
        `Version ${version.version} of connector "${connectorRef}" already exists with another definition. ` +
          'Reload the connector and deploy again.',
      );
    }
  }

  /** A conditional put; false when the condition does not hold. */
  private async putIf(
    item: Item,
    condition: string,
    values: Record<string, unknown>,
    names?: Record<string, string>,
  ): Promise<boolean> {
    return conditionalWrite(
      this.documents.send(
        new PutCommand({
          TableName: this.tableName,
          Item: item,
          ConditionExpression: condition,
          ExpressionAttributeValues: Object.keys(values).length > 0 ? values : undefined,
          ExpressionAttributeNames: names,
        }),
      ),
    );
  }

  /**
   * Sets the patch's attributes (undefined values are skipped) on an existing item and returns the new
   * item, or null when the item does not exist or fails `condition`.
   */
  private async updateItem(
    key: Item,
    patch: object,
    immutable: readonly string[],
    condition?: { expression: string; names: Record<string, string>; values: Record<string, unknown> },
  ): Promise<Item | null> {
    const entries = Object.entries(patch).filter(([, value]) => value !== undefined);
    const forbidden = entries
      .map(([name]) => name)
      .filter((n) => [...immutable, ...KEY_ATTRIBUTES].includes(n));
    if (forbidden.length > 0)
      throw new ScError('INVALID_PATCH', `These attributes cannot change: ${forbidden.join(', ')}.`);
    if (entries.length === 0) return this.getItem(key);
    try {
      const { Attributes } = await this.documents.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: key,
          UpdateExpression: `SET ${entries.map((_, i) => `#a${i} = :v${i}`).join(', ')}`,
          ConditionExpression: condition
            ? `attribute_exists(pk) AND (${condition.expression})`
            : 'attribute_exists(pk)',
          ExpressionAttributeNames: {
            ...Object.fromEntries(entries.map(([name], i) => [`#a${i}`, name])),
            ...condition?.names,
          },
          ExpressionAttributeValues: {
            ...Object.fromEntries(entries.map(([, value], i) => [`:v${i}`, value])),
            ...condition?.values,
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return Attributes ?? null;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return null;
      throw error;
    }
  }

  private async getItem(key: Item): Promise<Item | null> {
    const { Item } = await this.documents.send(
      new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }),
    );
    return Item ?? null;
  }

  /** Every item under one gsi1 partition (or only those with sort key `gsi1sk`), in sort-key order (or reversed). */
  private async queryIndex(gsi1pk: string, ascending: boolean, gsi1sk?: string): Promise<Item[]> {
    return this.queryAll({
      TableName: this.tableName,
      IndexName: GSI1,
      KeyConditionExpression:
        gsi1sk === undefined ? '#gsi1pk = :gsi1pk' : '#gsi1pk = :gsi1pk AND #gsi1sk = :gsi1sk',
      ExpressionAttributeNames:
        gsi1sk === undefined ? { '#gsi1pk': 'gsi1pk' } : { '#gsi1pk': 'gsi1pk', '#gsi1sk': 'gsi1sk' },
      ExpressionAttributeValues:
        gsi1sk === undefined ? { ':gsi1pk': gsi1pk } : { ':gsi1pk': gsi1pk, ':gsi1sk': gsi1sk },
      ScanIndexForward: ascending,
    });
  }

  /** Every item a Query finds, page after page. */
  private async queryAll(input: Omit<QueryCommandInput, 'ExclusiveStartKey'>): Promise<Item[]> {
    const items: Item[] = [];
    let startKey: Item | undefined;
    do {
      const page = await this.documents.send(new QueryCommand({ ...input, ExclusiveStartKey: startKey }));
      items.push(...(page.Items ?? []));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return items;
  }
}

function connectorKey(id: string) {
  return { pk: `C#${id}`, sk: 'C' };
}

function claimKey(apiName: string) {
  return { pk: `CN#${apiName}`, sk: 'CN' };
}

function versionKey(connectorId: string, version: number) {
  return { pk: `C#${connectorId}`, sk: `V#${String(version).padStart(6, '0')}` };
}

function objectKey(apiName: string) {
  return { pk: `O#${apiName}`, sk: 'O' };
}

function apiKeyKey(hash: string) {
  return { pk: `APIKEY#${hash}`, sk: 'APIKEY' };
}

function executionKey(id: string) {
  return { pk: `E#${id}`, sk: 'E' };
}

/** The key of the marker an execution has while it is queued or running. */
function activeMarkerKey(execution: Pick<Execution, 'id' | 'connectorId' | 'createdAt'>) {
  return { pk: `CA#${execution.connectorId}`, sk: `${execution.createdAt}#${execution.id}` };
}

/** The FilterExpression of a filtered page of executions; undefined when nothing filters. */
function executionFilter(filter: ExecutionFilter): IndexFilter | undefined {
  const conditions = Object.entries({ status: filter.status, dryRun: filter.dryRun }).filter(
    ([, value]) => value !== undefined,
  );
  if (conditions.length === 0) return undefined;
  return {
    expression: conditions.map(([name]) => `#${name} = :${name}`).join(' AND '),
    names: Object.fromEntries(conditions.map(([name]) => [`#${name}`, name])),
    values: Object.fromEntries(conditions.map(([name, value]) => [`:${name}`, value])),
  };
}

function toConnector(item: Item): ConnectorRecord {
  return {
    id: item.id as string,
    apiName: item.apiName as string,
    name: item.name as string,
    status: item.status as ConnectorRecord['status'],
    version: item.version as number,
    createdAt: item.createdAt as string,
    updatedAt: item.updatedAt as string,
    diffBaselineExecutionId: (item.diffBaselineExecutionId as string | null | undefined) ?? null,
    ...(typeof item.webhookToken === 'string' ? { webhookToken: item.webhookToken } : {}),
  };
}

function toApiKey(item: Item): ApiKeyRecord {
  return {
    id: item.id as string,
    name: item.name as string,
    hash: item.hash as string,
    createdAt: item.createdAt as string,
    revokedAt: (item.revokedAt as string | null | undefined) ?? null,
  };
}

function toVersion(item: Item): ConnectorVersion {
  return {
    connectorId: item.connectorId as string,
    version: item.version as number,
    hash: item.hash as string,
    definition: item.definition as ConnectorVersion['definition'],
    createdAt: item.createdAt as string,
  };
}

function toExecution(item: Item): Execution {
  const execution: Item = { ...item };
  for (const name of KEY_ATTRIBUTES) delete execution[name];
  return execution as unknown as Execution;
}

function conflict(message: string, cause?: unknown): ScError {
  return new ScError('CONFLICT', message, cause === undefined ? {} : { cause });
}

function notFound(message: string): ScError {
  return new ScError('NOT_FOUND', message);
}

function apiNameTaken(apiName: string): ScError {
  return conflict(`The api name "${apiName}" is taken by another connector. Choose another api name.`);
}
