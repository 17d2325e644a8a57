import {
  ConditionalCheckFailedException,
  CreateTableCommand,
  DescribeTableCommand,
  ResourceInUseException,
  ResourceNotFoundException,
  type DynamoDBClient,
  type GlobalSecondaryIndex,
} from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, type TranslateConfig } from '@aws-sdk/lib-dynamodb';

/**
 * The two DynamoDB tables, as plain data shared by the CDK stack (`TableV2` props) and `createTables`
 * (the local stand-in). Both use generic string keys `pk`/`sk` and one overloaded index `gsi1`
 * (`gsi1pk`/`gsi1sk`, all attributes projected); the item layouts are documented in the adapters:
 * `dynamodb-record-store.ts` and `dynamodb-control-store.ts`.
 */

/** A string key attribute, shaped like CDK's `Attribute` (`AttributeType.STRING` is `'S'`). */
export interface KeyAttribute {
  readonly name: string;
  readonly type: 'S';
}

export interface GlobalIndexDesign {
  readonly indexName: string;
  readonly partitionKey: KeyAttribute;
  readonly sortKey: KeyAttribute;
  /** Every index projects all attributes, so listings need no second read. */
  readonly projectionType: 'ALL';
}

export interface TableDesign {
  readonly partitionKey: KeyAttribute;
  readonly sortKey: KeyAttribute;
  readonly globalSecondaryIndexes: readonly GlobalIndexDesign[];
}

export const GSI1 = 'gsi1';

const GSI1_DESIGN: GlobalIndexDesign = {
  indexName: GSI1,
  partitionKey: { name: 'gsi1pk', type: 'S' },
  sortKey: { name: 'gsi1sk', type: 'S' },
  projectionType: 'ALL',
};

const PK_SK = { partitionKey: { name: 'pk', type: 'S' }, sortKey: { name: 'sk', type: 'S' } } as const;

/** Records, match-index items and per-object index metadata. */
export const RECORDS_TABLE: TableDesign = { ...PK_SK, globalSecondaryIndexes: [GSI1_DESIGN] };

/** Connectors, versions, object definitions, executions (and the other control-plane items). */
export const CONTROL_TABLE: TableDesign = { ...PK_SK, globalSecondaryIndexes: [GSI1_DESIGN] };

export interface TableNames {
  records: string;
  control: string;
}

export const TABLE_DESIGNS: Readonly<Record<keyof TableNames, TableDesign>> = {
  records: RECORDS_TABLE,
  control: CONTROL_TABLE,
};

/** Table names of the local runtime (the embedded stand-in). */
export const LOCAL_TABLE_NAMES: TableNames = { records: 'sc-records', control: 'sc-control' };

/**
 * How items are (un)marshalled, for every adapter on these tables. Record fields hold plain JS numbers
 * (`FieldValue`), so numbers beyond 2^53 are written as they are and always read back as `number`,
 * never as a `BigInt` (which JSON and the core cannot handle).
 */
export const DOCUMENT_TRANSLATION: TranslateConfig = {
  marshallOptions: {
    removeUndefinedValues: true,
    convertClassInstanceToMap: false,
    allowImpreciseNumbers: true,
  },
  unmarshallOptions: { wrapNumbers: (value: string) => Number(value) },
};

export function documentClientFor(client: DynamoDBClient): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(client, DOCUMENT_TRANSLATION);
}

/** DynamoDB refused a write because the item would exceed its 400 KB limit. */
export function isItemTooLarge(error: unknown): boolean {
  return error instanceof Error && error.name === 'ValidationException' && /size/i.test(error.message);
}

/**
 * Creates the tables that do not exist yet (on-demand billing) and waits until they are active. Used by
 * the local stand-in; in AWS the CDK stack owns the tables.
 */
export async function createTables(client: DynamoDBClient, names: TableNames): Promise<void> {
  await Promise.all(
    (Object.keys(TABLE_DESIGNS) as (keyof TableNames)[]).map((table) =>
      createTable(client, names[table], TABLE_DESIGNS[table]),
    ),
  );
}

async function createTable(client: DynamoDBClient, tableName: string, design: TableDesign): Promise<void> {
  if ((await tableStatus(client, tableName)) === undefined) {
    try {
      await client.send(new CreateTableCommand(createTableInput(tableName, design)));
    } catch (error) {
      // Another process created it between our describe and create.
      if (!(error instanceof ResourceInUseException)) throw error;
    }
  }
  for (let attempt = 0; (await tableStatus(client, tableName)) !== 'ACTIVE'; attempt++) {
    if (attempt >= 100) throw new Error(`DynamoDB table ${tableName} did not become active.`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function tableStatus(client: DynamoDBClient, tableName: string): Promise<string | undefined> {
  try {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    return Table?.TableStatus ?? 'UNKNOWN';
  } catch (error) {
    if (error instanceof ResourceNotFoundException) return undefined;
    throw error;
  }
}

function createTableInput(tableName: string, design: TableDesign) {
  const keys = [design.partitionKey, design.sortKey];
  const indexKeys = design.globalSecondaryIndexes.flatMap((i) => [i.partitionKey, i.sortKey]);
  const attributes = new Map([...keys, ...indexKeys].map((a) => [a.name, a.type]));
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST' as const,
    AttributeDefinitions: [...attributes].map(([AttributeName, AttributeType]) => ({
      AttributeName,
      AttributeType,
    })),
    KeySchema: [
      { AttributeName: design.partitionKey.name, KeyType: 'HASH' as const },
      { AttributeName: design.sortKey.name, KeyType: 'RANGE' as const },
    ],
    GlobalSecondaryIndexes: design.globalSecondaryIndexes.map((index): GlobalSecondaryIndex => ({
      IndexName: index.indexName,
      KeySchema: [
        { AttributeName: index.partitionKey.name, KeyType: 'HASH' },
        { AttributeName: index.sortKey.name, KeyType: 'RANGE' },
      ],
      Projection: { ProjectionType: index.projectionType },
    })),
  };
}

/** Awaits a conditional write: true when it was written, false when its condition did not hold. */
export async function conditionalWrite(write: Promise<unknown>): Promise<boolean> {
  try {
    await write;
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    throw error;
  }
}
