/*
 * Pages of a list a store keeps in order (a connector's executions, an object's records). The store reads
 * what one page needs, never the whole list, and hands back where the next page starts.
 */

/** The longest `after` a store takes; a position it made is far shorter (a date and an id). */
export const MAX_LIST_POSITION_LENGTH = 256;

export interface ListPageRequest {
  /** Items per page, from 1. */
  limit: number;
  /**
   * The `next` of the previous page, unchanged; absent for the first page. Any well-formed string of up to
   * `MAX_LIST_POSITION_LENGTH` characters is a place in the order, so one the store did not make starts
   * the page somewhere in the list and never fails the read.
   */
  after?: string | undefined;
}

export interface ListPage<T> {
  items: T[];
  /**
   * Where the next page starts, opaque to callers: the place of this page's last item in the order, so
   * items added or removed meanwhile never shift a page. Null on the last page.
   */
  next: string | null;
}
