import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ApiError } from '../../lambdas/pipeline/api/http.ts';
import type { ListPage, ListPageRequest } from '../../lambdas/ports/list-page.ts';
import {
  decodeCursor,
  encodeCursor,
  pageByKey,
  pageFromStore,
  pageQuerySchema,
} from '../../lambdas/pipeline/api/pagination.ts';

/* Pages of in-memory lists: limits, cursors that survive inserts and removals, and bad cursors. */

const letters = ['e', 'a', 'c', 'b', 'd'];
const list = { name: 'letters', keyOf: (s: string) => s, order: 'asc' as const };

function all(items: string[], limit: number, order: 'asc' | 'desc' = 'asc'): string[][] {
  const pages: string[][] = [];
  let cursor: string | undefined;
  do {
    const page = pageByKey(items, { limit, ...(cursor ? { cursor } : {}) }, { ...list, order });
    pages.push(page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return pages;
}

describe('pageByKey', () => {
  it.each([
    [1, 'asc', [['a'], ['b'], ['c'], ['d'], ['e']]],
    [2, 'asc', [['a', 'b'], ['c', 'd'], ['e']]],
    [5, 'asc', [['a', 'b', 'c', 'd', 'e']]],
    [9, 'asc', [['a', 'b', 'c', 'd', 'e']]],
    [2, 'desc', [['e', 'd'], ['c', 'b'], ['a']]],
  ] as const)('limit %i, %s → %j', (limit, order, pages) => {
    expect(all(letters, limit, order)).toEqual(pages);
  });

  it('answers an empty list with one empty page', () => {
    expect(pageByKey([], { limit: 10 }, list)).toEqual({ items: [], nextCursor: null });
  });

  it('continues after the last key it returned, whatever was added or removed meanwhile', () => {
    const first = pageByKey(letters, { limit: 2 }, list);
    expect(first.items).toEqual(['a', 'b']);
    const changed = ['c', 'd', 'e', 'aa', 'bb'].filter((s) => s !== 'b');
    const second = pageByKey(changed, { limit: 2, cursor: first.nextCursor! }, list);
    expect(second.items).toEqual(['bb', 'c']);
  });

  it('refuses a cursor of another list or a mangled one with 400 INVALID_CURSOR on query.cursor', () => {
    for (const cursor of ['garbage', encodeCursor('other', 'a'), encodeCursor('letters', 42), '']) {
      let caught: unknown;
      try {
        pageByKey(letters, { limit: 2, cursor }, list);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(ApiError);
      expect(caught).toMatchObject({
        status: 400,
        code: 'INVALID_CURSOR',
        details: [{ path: 'query.cursor' }],
      });
    }
  });
});

describe('pageFromStore', () => {
  /** A store's list of letters in order, paged as `ListPage` says: `next` is the last item's position. */
  function letterStore() {
    const requests: ListPageRequest[] = [];
    const read = async (request: ListPageRequest): Promise<ListPage<string>> => {
      requests.push(request);
      const rest = [...letters].sort().filter((s) => request.after === undefined || s > request.after);
      const items = rest.slice(0, request.limit);
      return { items, next: rest.length > request.limit ? items.at(-1)! : null };
    };
    return { read, requests };
  }

  it('hands the store the limit and the position the cursor holds, and wraps its next in a cursor', async () => {
    const store = letterStore();
    const first = await pageFromStore({ limit: 2 }, 'letters', store.read);
    expect(first.items).toEqual(['a', 'b']);
    const second = await pageFromStore({ limit: 2, cursor: first.nextCursor! }, 'letters', store.read);
    expect(second.items).toEqual(['c', 'd']);
    const third = await pageFromStore({ limit: 2, cursor: second.nextCursor! }, 'letters', store.read);
    expect(third).toEqual({ items: ['e'], nextCursor: null });
    expect(store.requests).toEqual([
      { limit: 2, after: undefined },
      { limit: 2, after: 'b' },
      { limit: 2, after: 'd' },
    ]);
  });

  it.each([
    ['a mangled cursor', 'garbage'],
    ["another list's cursor", encodeCursor('digits', 'b')],
    ['a number', encodeCursor('letters', 2)],
    ['an empty position', encodeCursor('letters', '')],
    ['a position over 256 characters', encodeCursor('letters', 'b'.repeat(257))],
    ['a lone surrogate', encodeCursor('letters', 'b\ud800')],
  ])('refuses %s with 400 INVALID_CURSOR before reading', async (_, cursor) => {
    const store = letterStore();
    await expect(pageFromStore({ limit: 2, cursor }, 'letters', store.read)).rejects.toMatchObject({
      status: 400,
      code: 'INVALID_CURSOR',
      details: [{ path: 'query.cursor' }],
    });
    expect(store.requests).toEqual([]);
  });

  it('takes any other bounded position, such as one with an emoji', async () => {
    const store = letterStore();
    const page = await pageFromStore(
      { limit: 9, cursor: encodeCursor('letters', 'b\u{1F600}') },
      'letters',
      store.read,
    );
    expect(page).toEqual({ items: ['c', 'd', 'e'], nextCursor: null });
  });
});

describe('cursors', () => {
  it('are url-safe and round-trip their position', () => {
    const position = { s: 1, c: 20, o: 3 };
    const cursor = encodeCursor('rows:x', position);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(cursor, 'rows:x', z.object({ s: z.number(), c: z.number(), o: z.number() }))).toEqual(
      position,
    );
  });
});

describe('pageQuerySchema', () => {
  it.each([
    [{}, { limit: 50 }],
    [{ limit: '10' }, { limit: 10 }],
    [
      { limit: '500', cursor: 'abc' },
      { limit: 500, cursor: 'abc' },
    ],
  ])('%j → %j', (query, parsed) => {
    expect(pageQuerySchema.parse(query)).toEqual(parsed);
  });

  it.each([['0'], ['501'], ['1.5'], ['ten']])('refuses limit=%s', (limit) => {
    const result = pageQuerySchema.safeParse({ limit });
    expect(result.success).toBe(false);
    expect(result.error!.issues[0]!.path).toEqual(['limit']);
  });
});
