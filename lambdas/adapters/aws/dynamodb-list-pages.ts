import { QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ScError } from '../../core/errors.ts';
import { MAX_LIST_POSITION_LENGTH, type ListPage, type ListPageRequest } from '../../ports/list-page.ts';
import { GSI1 } from './dynamodb-tables.ts';

/*
 * Pages of a list kept in one gsi1 partition whose sort key is `<createdAt>#<id>` (a connector's
 * executions, an object's records). A page's position is its last item's gsi1 sort key: the next page is a
 * Query from there (`ExclusiveStartKey`), so a page reads what it returns plus one item, never the list.
 */

type Item = Record<string, unknown>;

/** Items a filtered Query evaluates at least per call: `Limit` counts them before the filter drops any. */
const FILTERED_READ_BATCH = 100;

export interface IndexList {
  tableName: string;
  gsi1pk: string;
  ascending: boolean;
  /** The table key (`pk`, `sk`) of the item with this id: a start key on an index names both keys. */
  tableKeyOf: (id: string) => Item;
  /** Items the page holds; items read but not passing it are skipped. */
  filter?: IndexFilter | undefined;
}

export interface IndexFilter {
  expression: string;
  names: Record<string, string>;
  values: Record<string, unknown>;
}

/**
 * One page of `list`. It reads one item past the page to know whether another follows, so `next` is null
 * exactly on the last page; with a filter it reads on until the page is full or the partition ends.
 */
export async function readListPage(
  documents: DynamoDBDocumentClient,
  list: IndexList,
  request: ListPageRequest,
): Promise<ListPage<Item>> {
  const wanted = request.limit + 1;
  const items: Item[] = [];
  let startKey = request.after ? startKeyAt(list, request.after) : undefined;
  do {
    const lacking = wanted - items.length;
    const page = await documents.send(
      new QueryCommand({
        TableName: list.tableName,
        IndexName: GSI1,
        KeyConditionExpression: '#gsi1pk = :gsi1pk',
        FilterExpression: list.filter?.expression,
        ExpressionAttributeNames: { '#gsi1pk': 'gsi1pk', ...list.filter?.names },
        ExpressionAttributeValues: { ':gsi1pk': list.gsi1pk, ...list.filter?.values },
        ScanIndexForward: list.ascending,
        Limit: list.filter ? Math.max(lacking, FILTERED_READ_BATCH) : lacking,
        ExclusiveStartKey: startKey,
      }),
    );
    items.push(...(page.Items ?? []));
    startKey = page.LastEvaluatedKey;
  } while (startKey && items.length < wanted);
  const pageItems = items.slice(0, request.limit);
  const more = items.length > request.limit && pageItems.length > 0;
  return { items: pageItems, next: more ? (pageItems.at(-1)!.gsi1sk as string) : null };
}

/**
 * The full index key of a position: the id is what follows the first `#` (a date never holds one), or the
 * whole position when it has none, as in records written before record sort keys began with the date.
 */
function startKeyAt(list: IndexList, position: string): Item {
  if (position.length > MAX_LIST_POSITION_LENGTH) {
    throw new ScError(
      'INVALID_ARGUMENT',
      `A list position is at most ${MAX_LIST_POSITION_LENGTH} characters; pass the \`next\` of the ` +
        'previous page unchanged.',
    );
  }
  const id = position.slice(position.indexOf('#') + 1);
  return { gsi1pk: list.gsi1pk, gsi1sk: position, ...list.tableKeyOf(id) };
}
