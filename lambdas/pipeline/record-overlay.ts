import { matchKeys } from '../core/match-keys.ts';
import type { StoredRecord } from '../core/model.ts';
import type { FieldDefinition, ObjectDefinition } from '../core/object-schema.ts';
import type { RecordStore, RecordWrite } from '../ports/record-store.ts';

type KeyIndex = Map<string, Set<string>>;

export interface OverlaySnapshot {
  objects: ObjectDefinition[];
  /** [object api name, record as written], in write order. */
  writes: Array<[string, StoredRecord]>;
}

/**
 * An in-memory layer over a RecordStore. Reads see the layer's own writes on top of the store, so a row
 * sees what earlier rows of the same run created or changed. `flush()` writes the layer through in one
 * batch (live runs, once per chunk); a dry run never flushes, so it writes nothing and still produces the
 * same outcomes as a live run.
 *
 * Look-ups are batched: `prefetch*` fills the cache for a whole chunk in one call per field, then the
 * synchronous `peek*` accessors answer row by row.
 */
export class RecordOverlay {
  private readonly baseIds = new Map<string, Map<string, string[]>>();
  private readonly baseRecords = new Map<string, Map<string, StoredRecord | null>>();
  private readonly written = new Map<string, Map<string, RecordWrite>>();
  private readonly writtenIndex = new Map<string, KeyIndex>();
  private readonly objects = new Map<string, ObjectDefinition>();

  constructor(private readonly base: RecordStore) {}

  /**
   * Loads the ids of records whose `field` has one of `keys`, and those records, into the cache. An id
   * the index still lists for a key its record no longer has (a write interrupted between index and
   * record) is dropped here.
   */
  async prefetchKeys(
    object: string,
    field: Pick<FieldDefinition, 'apiName' | 'type'>,
    keys: Iterable<string>,
  ): Promise<void> {
    const cache = mapOf(this.baseIds, `${object}\u0000${field.apiName}`);
    const missing = [...new Set(keys)].filter((k) => !cache.has(k));
    if (missing.length === 0) return;
    const found = await this.base.findIdsByKeys(object, field.apiName, missing);
    await this.prefetchRecords(object, [...found.values()].flat());
    const records = this.baseRecords.get(object);
    for (const key of missing) {
      const ids = (found.get(key) ?? []).filter((id) => {
        const record = records?.get(id);
        return record != null && matchKeys(field.type, record.fields[field.apiName]).includes(key);
      });
      cache.set(key, ids);
    }
  }

  async prefetchRecords(object: string, ids: Iterable<string>): Promise<void> {
    const cache = mapOf(this.baseRecords, object);
    const missing = [...new Set(ids)].filter((id) => !cache.has(id));
    if (missing.length === 0) return;
    const found = await this.base.getMany(object, missing);
    for (const id of missing) cache.set(id, found.get(id) ?? null);
  }

  /** Ids of records whose `field` has `key`, as the run sees them now (after prefetchKeys). */
  peekIds(object: string, field: string, key: string): string[] {
    const result = new Set<string>();
    const writtenOfObject = this.written.get(object);
    for (const id of this.baseIds.get(`${object}\u0000${field}`)?.get(key) ?? []) {
      // A record this run rewrote is found by its new value only.
      if (!writtenOfObject?.has(id)) result.add(id);
    }
    for (const id of this.writtenIndex.get(`${object}\u0000${field}`)?.get(key) ?? []) result.add(id);
    return [...result];
  }

  /** The record as the run sees it now, or undefined when unknown (after a prefetch). */
  peekRecord(object: string, id: string): StoredRecord | undefined {
    return this.written.get(object)?.get(id)?.record ?? this.baseRecords.get(object)?.get(id) ?? undefined;
  }

  /** Records a write in the layer; the next peek sees it. */
  write(object: ObjectDefinition, record: StoredRecord): void {
    this.objects.set(object.apiName, object);
    const writes = mapOf(this.written, object.apiName);
    const earlier = writes.get(record.id);
    const previous = earlier
      ? earlier.previous
      : (this.baseRecords.get(object.apiName)?.get(record.id) ?? null);
    if (earlier) this.unindex(object, earlier.record);
    writes.set(record.id, { record, previous });
    for (const field of object.fields) {
      const index = mapOf(this.writtenIndex, `${object.apiName}\u0000${field.apiName}`);
      for (const key of matchKeys(field.type, record.fields[field.apiName])) {
        let ids = index.get(key);
        if (!ids) index.set(key, (ids = new Set()));
        ids.add(record.id);
      }
    }
  }

  /**
   * The layer's writes, as plain data: what a dry run carries from one invocation to the next. `replay`
   * on a fresh layer over the same store rebuilds what its peeks see.
   */
  snapshot(): OverlaySnapshot {
    return {
      objects: [...this.objects.values()],
      writes: [...this.written].flatMap(([object, writes]) =>
        [...writes.values()].map(({ record }) => [object, record] as [string, StoredRecord]),
      ),
    };
  }

  replay(snapshot: OverlaySnapshot): void {
    const objects = new Map(snapshot.objects.map((o) => [o.apiName, o]));
    for (const [object, record] of snapshot.writes) this.write(objects.get(object)!, record);
  }

  /** Writes every pending record through to the store, then forgets them (they are now the base). */
  async flush(): Promise<void> {
    for (const [objectName, writes] of this.written) {
      const object = this.objects.get(objectName);
      if (!object || writes.size === 0) continue;
      await this.base.writeMany(object, [...writes.values()]);
      const cache = mapOf(this.baseRecords, objectName);
      for (const { record } of writes.values()) cache.set(record.id, record);
    }
    // Cached key look-ups may now be stale for rewritten records; drop them all.
    this.written.clear();
    this.writtenIndex.clear();
    this.baseIds.clear();
  }

  private unindex(object: ObjectDefinition, record: StoredRecord): void {
    for (const field of object.fields) {
      const index = this.writtenIndex.get(`${object.apiName}\u0000${field.apiName}`);
      for (const key of matchKeys(field.type, record.fields[field.apiName]))
        index?.get(key)?.delete(record.id);
    }
  }
}

function mapOf<K, V>(outer: Map<string, Map<K, V>>, key: string): Map<K, V> {
  let inner = outer.get(key);
  if (!inner) outer.set(key, (inner = new Map()));
  return inner;
}
