import type { ObjectDefinition } from '../core/object-schema.ts';
import type { StoredRecord } from '../core/model.ts';
import type { ListPage, ListPageRequest } from './list-page.ts';

/** A record to write, with the version it replaces (null for a new record) so indexes stay exact. */
export interface RecordWrite {
  record: StoredRecord;
  previous: StoredRecord | null;
}

/**
 * Where records live (the destination of load steps). Matching looks records up by normalised match
 * keys (`core/match-keys.ts`) of indexed fields; a chunk does one batched look-up, never one per row.
 */
export interface RecordStore {
  /**
   * Makes sure `fields` of `object` are indexed for look-ups, back-filling the index from existing
   * records when a field is indexed for the first time. Idempotent.
   */
  ensureIndexed(object: ObjectDefinition, fields: readonly string[]): Promise<void>;
  /**
   * For each match key, the ids of the records (archived ones too) whose `field` has that key.
   * Keys with no records are absent from the result.
   */
  findIdsByKeys(object: string, field: string, keys: readonly string[]): Promise<Map<string, string[]>>;
  /** The records with these ids; unknown ids are absent from the result. */
  getMany(object: string, ids: readonly string[]): Promise<Map<string, StoredRecord>>;
  /** Writes records and keeps the indexes of indexed fields in step. Safe to retry. */
  writeMany(object: ObjectDefinition, writes: readonly RecordWrite[]): Promise<void>;
  /** Every record of the object (archived too), in no particular order. */
  scan(object: string): AsyncIterable<StoredRecord>;
  /** One page of the object's records (archived too), oldest first (by `createdAt`, then id). */
  page(object: string, request: ListPageRequest): Promise<ListPage<StoredRecord>>;
}
