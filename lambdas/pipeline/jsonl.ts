import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import type { BlobStore } from '../ports/blob-store.ts';

/** Reads a JSON Lines stream one parsed line at a time. */
export async function* readJsonl<T>(stream: Readable): AsyncGenerator<T> {
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  for await (const line of lines) {
    if (line.length > 0) yield JSON.parse(line) as T;
  }
}

export async function* readJsonlBlob<T>(blobs: BlobStore, key: string): AsyncGenerator<T> {
  yield* readJsonl<T>(await blobs.read(key));
}

export async function readJsonlBlobAll<T>(blobs: BlobStore, key: string): Promise<T[]> {
  const out: T[] = [];
  for await (const item of readJsonlBlob<T>(blobs, key)) out.push(item);
  return out;
}

export function toJsonl(items: readonly unknown[]): string {
  return items.length === 0 ? '' : items.map((i) => JSON.stringify(i)).join('\n') + '\n';
}
