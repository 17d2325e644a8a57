import type { Readable } from 'node:stream';
import type { FilePart } from '../core/upload-parts.ts';

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
  /**
   * A time-limited download URL, where the store has one (S3); the local store has none. With
   * `contentDisposition`, the answer to the URL carries that header (the name a browser saves it under).
   */
  presignedUrl?(key: string, seconds?: number, options?: { contentDisposition?: string }): Promise<string>;
  readText(key: string): Promise<string>;
  exists(key: string): Promise<boolean>;
  /** Keys under a prefix, sorted. */
  list(prefix: string): Promise<string[]>;
  /** Removes a blob; a no-op when it is absent. */
  delete(key: string): Promise<void>;
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

  /*
   * Direct uploads (SPEC §9 `POST /connectors/{ref}/uploads`) and server-side copies: stores a client
   * can send bytes to without passing them through the API (S3) have these; the local disk has none.
   */

  /**
   * The blob's size (and S3 version, on a versioned bucket), or undefined when it is absent. With
   * `versionId`, that version of it (an S3 drop names the version its event is about); a store that
   * keeps no versions answers for the blob as it is, without a `versionId`.
   */
  stat?(key: string, versionId?: string): Promise<BlobInfo | undefined>;
  /**
   * Lets a client send `size` bytes to `key` for `seconds`: one presigned PUT, or a multipart upload with
   * a presigned PUT per part, as the store's part size decides.
   */
  presignUpload?(key: string, size: number, seconds: number): Promise<UploadTarget>;
  /** The parts a client has sent to a multipart upload so far; rejects `NOT_FOUND` once it is gone. */
  listUploadedParts?(key: string, multipartId: string): Promise<UploadedPart[]>;
  /** Joins the parts into the blob; rejects `NOT_FOUND` when the upload is gone (completed or aborted). */
  completeMultipartUpload?(key: string, multipartId: string, parts: UploadedPart[]): Promise<void>;
  /** Where the blob lives in S3, so another S3 store can copy it server-side. */
  s3Object?(key: string): S3ObjectRef;
  /** Copies an S3 object of `size` bytes to `key` inside S3, without its bytes passing through here. */
  copyFromS3?(key: string, source: S3ObjectRef, size: number): Promise<void>;
}

export interface BlobInfo {
  size: number;
  /** Set on a versioned S3 bucket. */
  versionId?: string;
}

/** An S3 object, as a copy names its source. */
export interface S3ObjectRef {
  bucket: string;
  key: string;
  /** A version of a versioned bucket; the current one when absent. */
  versionId?: string;
}

/** Where and how a client sends a file: one PUT, or one PUT per part of a multipart upload. */
export type UploadTarget =
  | {
      kind: 'single';
      url: string;
      /** Headers the client must send with the PUT (none today). */
      headers: Record<string, string>;
    }
  | {
      kind: 'multipart';
      /** S3's `UploadId`: completing the upload needs it. */
      multipartId: string;
      /** The size of every part but the last. */
      partSize: number;
      parts: Array<FilePart & { url: string }>;
    };

/** A part a client has sent, as S3 lists it. */
export interface UploadedPart {
  partNumber: number;
  size: number;
  eTag: string;
}
