import type { Readable } from 'node:stream';

/**
 * Files of executions: inputs, SQL output, resolved rows, row results, reports. Keys are `/`-separated
 * paths such as `executions/<id>/report.xlsx`. In AWS it is the artifacts bucket; locally `.sc/blobs/`.
 */
export interface BlobStore {
  put(key: string, body: string | Uint8Array): Promise<void>;
  /** Copies a local file into the store. */
  putFile(key: string, localPath: string): Promise<void>;
  /** Streams a blob; rejects with a `NOT_FOUND` ScError when it is absent. */
  read(key: string): Promise<Readable>;
  /** A time-limited download URL, where the store has one (S3); the local store has none. */
  presignedUrl?(key: string, seconds?: number): Promise<string>;
  readText(key: string): Promise<string>;
  exists(key: string): Promise<boolean>;
  /** Keys under a prefix, sorted. */
  list(prefix: string): Promise<string[]>;
  /**
   * A local file holding the blob, for engines that read files (chDB, exceljs). The local adapter
   * returns its own path; a remote adapter downloads to a temporary file.
   */
  localPath(key: string): Promise<string>;
  /**
   * A local path to write a blob's content to, then `commitLocal(key, path)` stores it. The local adapter
   * writes in place; a remote one uploads on commit.
   */
  stagingPath(key: string): Promise<string>;
  commitLocal(key: string, localPath: string): Promise<void>;
  /** Where a person can open the blob: a file path locally, a URL in AWS. */
  location(key: string): string;
}
