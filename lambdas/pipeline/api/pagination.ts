import { z } from 'zod';
import { MAX_LIST_POSITION_LENGTH, type ListPage, type ListPageRequest } from '../../ports/list-page.ts';
import { ApiError } from './http.ts';

/*
 * Every list of the API takes `?limit=&cursor=` and returns `{ items, nextCursor }` (SPEC §9). A cursor
 * is opaque to clients: base64url JSON naming the list it belongs to and where the next page starts, so
 * a cursor of one list given to another, or a mangled one, is a 400 rather than a wrong page.
 *
 * Lists a store keeps in order (executions, records) are paged by the store (`pageFromStore`): the cursor
 * holds the store's position. Short lists (connectors, objects, keys) and filtered records are read whole
 * and cut (`pageByKey`).
 */

/** Items per page when `limit` is absent. */
export const DEFAULT_PAGE_LIMIT = 50;
/** The most items one page holds. */
export const MAX_PAGE_LIMIT = 500;

/** `limit` and `cursor`; extend it with a list's own filters. */
export const pageQuerySchema = z.object({
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(MAX_PAGE_LIMIT)
    .default(DEFAULT_PAGE_LIMIT)
    .meta({ description: `Items per page, 1–${MAX_PAGE_LIMIT}. Default ${DEFAULT_PAGE_LIMIT}.` }),
  cursor: z
    .string()
    .min(1)
    .optional()
    .meta({ description: 'The `nextCursor` of the previous page; absent for the first page.' }),
});
export type PageQuery = z.output<typeof pageQuerySchema>;

export interface Page<T> {
  items: T[];
  /** Where the next page starts; null on the last page. */
  nextCursor: string | null;
}

/** The response schema of a list of `item`. */
export function pageSchema<T extends z.ZodType>(item: T) {
  return z.object({
    items: z.array(item),
    nextCursor: z
      .string()
      .nullable()
      .meta({ description: 'Pass as `?cursor=` for the next page; null on the last page.' }),
  });
}

/** Makes a cursor for `list` holding `position`. */
export function encodeCursor(list: string, position: unknown): string {
  return Buffer.from(JSON.stringify({ list, at: position }), 'utf8').toString('base64url');
}

/** Reads a cursor made by `encodeCursor(list, …)`; 400 `INVALID_CURSOR` for anything else. */
export function decodeCursor<T>(cursor: string, list: string, position: z.ZodType<T>): T {
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    decoded = undefined;
  }
  const parsed = z.object({ list: z.literal(list), at: position }).safeParse(decoded);
  if (!parsed.success) {
    throw new ApiError(
      400,
      'INVALID_CURSOR',
      'The cursor is not one this list made. Pass the `nextCursor` of the previous page unchanged, or ' +
        'leave `cursor` out for the first page.',
      [{ path: 'query.cursor', message: 'not a cursor of this list' }],
    );
  }
  return parsed.data.at;
}

/**
 * One page of an in-memory list, ordered by a unique string key (ascending or descending). The cursor
 * holds the key of the last item returned, so items added or removed meanwhile never shift a page.
 */
export function pageByKey<T>(
  all: readonly T[],
  query: PageQuery,
  list: { name: string; keyOf: (item: T) => string; order: 'asc' | 'desc' },
): Page<T> {
  const sign = list.order === 'asc' ? 1 : -1;
  const items = all
    .map((item) => ({ item, key: list.keyOf(item) }))
    .sort((a, b) => sign * (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .map(({ item }) => item);
  let start = 0;
  if (query.cursor !== undefined) {
    const after = decodeCursor(query.cursor, list.name, z.string());
    const afterIndex = items.findIndex((item) =>
      list.order === 'asc' ? list.keyOf(item) > after : list.keyOf(item) < after,
    );
    start = afterIndex === -1 ? items.length : afterIndex;
  }
  const page = items.slice(start, start + query.limit);
  const more = start + query.limit < items.length;
  return {
    items: page,
    nextCursor: more && page.length > 0 ? encodeCursor(list.name, list.keyOf(page.at(-1)!)) : null,
  };
}

/**
 * A store position as a cursor carries it: bounded and well-formed (no lone surrogate), which is all a
 * store asks of `after` (`ports/list-page.ts`), so a forged cursor is a 400 here or a page somewhere in
 * the list, never a failed read.
 */
const storePositionSchema = z
  .string()
  .min(1)
  .max(MAX_LIST_POSITION_LENGTH)
  .refine((position) => !/\p{Surrogate}/u.test(position));

/** One page of a list the store pages itself (`read`), behind cursors of `list`. */
export async function pageFromStore<T>(
  query: PageQuery,
  list: string,
  read: (request: ListPageRequest) => Promise<ListPage<T>>,
): Promise<Page<T>> {
  const after =
    query.cursor === undefined ? undefined : decodeCursor(query.cursor, list, storePositionSchema);
  const page = await read({ limit: query.limit, after });
  return { items: page.items, nextCursor: page.next === null ? null : encodeCursor(list, page.next) };
}
