import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { randomUUID } from 'node:crypto';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutObjectCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { assertBlobKey } from '../../core/blob-keys.ts';
import { ScError } from '../../core/errors.ts';
import { assertPartBytes, MAX_PRESIGNED_PARTS, planParts, type FilePart } from '../../core/upload-parts.ts';
import type { BlobInfo, BlobStore, S3ObjectRef, UploadTarget, UploadedPart } from '../../ports/blob-store.ts';

export interface S3BlobStoreOptions {
  client: S3Client;
  /** The artifacts bucket. */
  bucket: string;
  /**
   * Where `localPath` downloads and `stagingPath` files go; each store makes its own directory inside.
   * Default: the OS temporary directory (`/tmp` in Lambda, which holds 512 MB unless configured larger).
   */
  tmpDir?: string;
  /** How long `presignedUrl` links stay valid, in seconds. Default 3600. */
  presignSeconds?: number;
  /**
   * Presigned uploads (`presignUpload`): a file up to this size gets one PUT URL, a larger one a
   * multipart upload in parts of this size (more when it would need over 2,000 parts). 5 MiB to 5 GiB;
   * default 64 MiB. Set it below the endpoint's request limit: fauxqs takes 11 MiB per request.
   */
  uploadPartBytes?: number;
  /**
   * Server-side copies (`copyFromS3`): an object up to this size is copied with one CopyObject, a larger
   * one in parts of this size copied in parallel (UploadPartCopy), which is also the only way past
   * CopyObject's 5 GB. 5 MiB to 5 GiB; default 256 MiB.
   */
  copyPartBytes?: number;
}

/** SigV4 presigned URLs live at most 7 days. */
const MAX_PRESIGN_SECONDS = 7 * 24 * 3600;
/** Parts of a multipart upload; 5 MiB is S3's minimum part size. */
const PART_SIZE = 8 * 1024 * 1024;
const DEFAULT_UPLOAD_PART_BYTES = 64 * 1024 * 1024;
const DEFAULT_COPY_PART_BYTES = 256 * 1024 * 1024;
/** Part copies in flight at once: a 5 GB object in 256 MiB parts is copied in one round. */
const COPY_CONCURRENCY = 20;

/**
 * Blobs as objects of one S3 bucket, under the same keys the local adapter uses as file paths. Keys
 * behave like paths as in `FsBlobStore`: `list('a/b')` lists what is under the folder `a/b/`, never
 * `a/bc`, so pipeline code sees the same results from both adapters.
 */
export class S3BlobStore implements BlobStore {
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly tmpRoot: string;
  private readonly presignSeconds: number;
  private readonly uploadPartBytes: number;
  private readonly copyPartBytes: number;
  private workDir: Promise<string> | undefined;
  /** Downloads made by `localPath`, by key; dropped when the key is written through this store. */
  private readonly downloads = new Map<string, Promise<string>>();
  /** Paths handed out by `stagingPath`, removed once committed. */
  private readonly staged = new Set<string>();

  constructor(options: S3BlobStoreOptions) {
    this.client = options.client;
    this.bucket = options.bucket;
    this.tmpRoot = options.tmpDir ?? tmpdir();
    this.presignSeconds = options.presignSeconds ?? 3600;
    this.uploadPartBytes = options.uploadPartBytes ?? DEFAULT_UPLOAD_PART_BYTES;
    this.copyPartBytes = options.copyPartBytes ?? DEFAULT_COPY_PART_BYTES;
    assertPartBytes(this.uploadPartBytes);
    assertPartBytes(this.copyPartBytes);
  }

  async put(key: string, body: string | Uint8Array): Promise<void> {
    assertBlobKey(key);
    await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body }));
    this.forgetDownload(key);
  }

  /** Streams the file from disk; files over one part size go up as a multipart upload. */
  async putFile(key: string, localPath: string): Promise<void> {
    assertBlobKey(key);
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key: key, Body: createReadStream(localPath) },
      partSize: PART_SIZE,
      leavePartsOnError: false,
    });
    await upload.done();
    this.forgetDownload(key);
  }

  async read(key: string): Promise<Readable> {
    assertBlobKey(key);
    try {
      const object = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      // In Node the body is an http.IncomingMessage, a Readable.
      return object.Body as Readable;
    } catch (error) {
      throw this.translate(error, key);
    }
  }

  async readText(key: string): Promise<string> {
    assertBlobKey(key);
    try {
      const object = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return (await object.Body?.transformToString('utf8')) ?? '';
    } catch (error) {
      throw this.translate(error, key);
    }
  }

  async exists(key: string): Promise<boolean> {
    assertBlobKey(key);
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw this.translate(error, key);
    }
  }

  /** S3 answers a delete of an absent key with success too. */
  async delete(key: string): Promise<void> {
    assertBlobKey(key);
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
    } catch (error) {
      throw this.translate(error, key);
    }
    this.forgetDownload(key);
  }

  async list(prefix: string): Promise<string[]> {
    const folder = prefix.replace(/\/+$/, '');
    if (folder !== '') assertBlobKey(folder);
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: folder === '' ? undefined : `${folder}/`,
          ContinuationToken: token,
        }),
      );
      for (const object of page.Contents ?? []) if (object.Key !== undefined) keys.push(object.Key);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    // S3 lists in UTF-8 byte order; sort as FsBlobStore does.
    return keys.sort();
  }

  /** Downloads the blob once per store instance; later calls return the same file until it is rewritten. */
  async localPath(key: string): Promise<string> {
    assertBlobKey(key);
    let download = this.downloads.get(key);
    if (download === undefined) {
      download = this.download(key);
      this.downloads.set(key, download);
      // A failed download is not cached, so a later call tries again.
      download.catch(() => this.downloads.delete(key));
    }
    return download;
  }

  async stagingPath(key: string): Promise<string> {
    assertBlobKey(key);
    // Keep the key's file name: engines such as chDB pick a format from the extension.
    const path = join(await this.directory(), 'staging', randomUUID(), baseName(key));
    await mkdir(dirname(path), { recursive: true });
    this.staged.add(path);
    return path;
  }

  async commitLocal(key: string, localPath: string): Promise<void> {
    await this.putFile(key, localPath);
    if (this.staged.delete(localPath)) await rm(dirname(localPath), { recursive: true, force: true });
  }

  /**
   * `s3://<bucket>/<key>`. The port's `location` is synchronous, while presigning is not (it resolves
   * credentials and hashes asynchronously), so a link a person can open comes from `presignedUrl`.
   */
  location(key: string): string {
    assertBlobKey(key);
    return `s3://${this.bucket}/${key}`;
  }

  /**
   * A GET URL for the blob, valid `seconds` (default `presignSeconds`, at most 7 days). A
   * `contentDisposition` is signed into the URL (`response-content-disposition`), and S3 answers with it.
   */
  async presignedUrl(
    key: string,
    seconds = this.presignSeconds,
    options: { contentDisposition?: string } = {},
  ): Promise<string> {
    assertBlobKey(key);
    assertPresignSeconds(seconds);
    const get = new GetObjectCommand({
      Bucket: this.bucket,
      Key: key,
      ResponseContentDisposition: options.contentDisposition,
    });
    return getSignedUrl(this.client, get, { expiresIn: seconds });
  }

  /** HeadObject, of `versionId` when given (a version that is gone, or never was, is absent). */
  async stat(key: string, versionId?: string): Promise<BlobInfo | undefined> {
    assertBlobKey(key);
    try {
      const head = await this.client.send(
        new HeadObjectCommand({ Bucket: this.bucket, Key: key, VersionId: versionId }),
      );
      return { size: head.ContentLength ?? 0, ...(head.VersionId ? { versionId: head.VersionId } : {}) };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw this.translate(error, key);
    }
  }

  /**
   * One presigned PUT up to `uploadPartBytes`, else CreateMultipartUpload and a presigned UploadPart per
   * part. Nothing about the body is signed but its key, so any client (curl, a browser) can send it.
   */
  async presignUpload(key: string, size: number, seconds: number): Promise<UploadTarget> {
    assertBlobKey(key);
    assertPresignSeconds(seconds);
    if (size <= this.uploadPartBytes) {
      const put = new PutObjectCommand({ Bucket: this.bucket, Key: key });
      put.middlewareStack.add(dropChecksums, DROP_CHECKSUMS);
      return {
        kind: 'single',
        url: await getSignedUrl(this.client, put, { expiresIn: seconds }),
        headers: {},
      };
    }
    const { partSize, parts } = planParts(size, this.uploadPartBytes, MAX_PRESIGNED_PARTS);
    const created = await this.client.send(
      new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: key }),
    );
    const multipartId = created.UploadId!;
    const urls = await Promise.all(
      parts.map((part) => {
        const upload = new UploadPartCommand({
          Bucket: this.bucket,
          Key: key,
          UploadId: multipartId,
          PartNumber: part.partNumber,
        });
        upload.middlewareStack.add(dropChecksums, DROP_CHECKSUMS);
        return getSignedUrl(this.client, upload, { expiresIn: seconds });
      }),
    );
    return {
      kind: 'multipart',
      multipartId,
      partSize,
      parts: parts.map((part, i) => ({ ...part, url: urls[i]! })),
    };
  }

  /** ListParts, every page. */
  async listUploadedParts(key: string, multipartId: string): Promise<UploadedPart[]> {
    assertBlobKey(key);
    const parts: UploadedPart[] = [];
    let marker: string | undefined;
    try {
      do {
        const page = await this.client.send(
          new ListPartsCommand({
            Bucket: this.bucket,
            Key: key,
            UploadId: multipartId,
            PartNumberMarker: marker,
          }),
        );
        for (const part of page.Parts ?? []) {
          parts.push({ partNumber: part.PartNumber!, size: part.Size ?? 0, eTag: part.ETag ?? '' });
        }
        marker = page.IsTruncated ? page.NextPartNumberMarker : undefined;
      } while (marker !== undefined);
    } catch (error) {
      throw this.translateUpload(error, key);
    }
    return parts.sort((a, b) => a.partNumber - b.partNumber);
  }

  async completeMultipartUpload(key: string, multipartId: string, parts: UploadedPart[]): Promise<void> {
    assertBlobKey(key);
    try {
      await this.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.bucket,
          Key: key,
          UploadId: multipartId,
          MultipartUpload: { Parts: parts.map((p) => ({ PartNumber: p.partNumber, ETag: p.eTag })) },
        }),
      );
    } catch (error) {
      throw this.translateUpload(error, key);
    }
    this.forgetDownload(key);
  }

  s3Object(key: string): S3ObjectRef {
    assertBlobKey(key);
    return { bucket: this.bucket, key };
  }

  /**
   * CopyObject up to `copyPartBytes`; above, a multipart upload whose parts are UploadPartCopy ranges of
   * the source, `COPY_CONCURRENCY` at a time. A failed multipart copy is aborted, leaving nothing behind.
   */
  async copyFromS3(key: string, source: S3ObjectRef, size: number): Promise<void> {
    assertBlobKey(key);
    const copySource = copySourceOf(source);
    try {
      if (size <= this.copyPartBytes) {
        await this.client.send(
          new CopyObjectCommand({ Bucket: this.bucket, Key: key, CopySource: copySource }),
        );
      } else {
        await this.copyInParts(key, copySource, planParts(size, this.copyPartBytes).parts);
      }
    } catch (error) {
      throw this.translate(error, `${source.bucket}/${source.key}`);
    }
    this.forgetDownload(key);
  }

  private async copyInParts(key: string, copySource: string, parts: FilePart[]): Promise<void> {
    const created = await this.client.send(
      new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: key }),
    );
    const uploadId = created.UploadId!;
    try {
      const copied = await mapConcurrently(parts, COPY_CONCURRENCY, async (part) => {
        const result = await this.client.send(
          new UploadPartCopyCommand({
            Bucket: this.bucket,
            Key: key,
            UploadId: uploadId,
            PartNumber: part.partNumber,
            CopySource: copySource,
            CopySourceRange: `bytes=${part.offset}-${part.offset + part.size - 1}`,
          }),
        );
        return { PartNumber: part.partNumber, ETag: result.CopyPartResult?.ETag };
      });
      await this.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.bucket,
          Key: key,
          UploadId: uploadId,
          MultipartUpload: { Parts: copied },
        }),
      );
    } catch (error) {
      await this.client
        .send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId }))
        .catch(() => undefined);
      throw error;
    }
  }

  /** Removes this store's downloads and staged files (a Lambda's `/tmp` outlives one invocation). */
  async dispose(): Promise<void> {
    const dir = this.workDir;
    this.workDir = undefined;
    this.downloads.clear();
    this.staged.clear();
    if (dir !== undefined) await rm(await dir, { recursive: true, force: true });
  }

  private async download(key: string): Promise<string> {
    const body = await this.read(key);
    const path = join(await this.directory(), 'downloads', randomUUID(), baseName(key));
    await mkdir(dirname(path), { recursive: true });
    // Download then rename, so a reader never sees half a file.
    await pipeline(body, createWriteStream(`${path}.part`));
    await rename(`${path}.part`, path);
    return path;
  }

  /** The old file stays until `dispose`, as a caller may still hold its path. */
  private forgetDownload(key: string): void {
    this.downloads.delete(key);
  }

  private directory(): Promise<string> {
    this.workDir ??= mkdir(this.tmpRoot, { recursive: true }).then(() =>
      mkdtemp(join(this.tmpRoot, 'sc-s3-')),
    );
    return this.workDir;
  }

  /** `NoSuchUpload`: the multipart upload was completed or aborted (or never was). */
  private translateUpload(error: unknown, key: string): unknown {
    if ((error as SdkError)?.name === 'NoSuchUpload') {
      return new ScError('NOT_FOUND', `The multipart upload of "${key}" does not exist (any more).`, {
        cause: error,
      });
    }
    return this.translate(error, key);
  }

  private translate(error: unknown, key: string): unknown {
    if (isNotFound(error)) return new ScError('NOT_FOUND', `Blob "${key}" does not exist.`, { cause: error });
    if (isTransient(error)) {
      return new ScError('BLOB_STORE_UNAVAILABLE', `S3 failed on "${key}"; try again.`, {
        retryable: true,
        cause: error,
      });
    }
    return error;
  }
}

/**
 * Presigned PUTs carry no checksum. The SDK adds a CRC32 of the body to every PUT, and at presigning
 * time the body is empty, so the URL would demand the checksum of an empty file and S3 would refuse
 * every real upload (aws/aws-sdk-js-v3#6994). The headers are dropped after the build-step middleware
 * that adds them, before the presigner turns headers into query parameters.
 */
function dropChecksums<A extends { request: unknown }, R>(next: (args: A) => Promise<R>) {
  return async (args: A): Promise<R> => {
    const headers = (args.request as { headers?: Record<string, string> }).headers ?? {};
    for (const name of Object.keys(headers)) {
      if (/^x-amz-(checksum-|sdk-checksum-algorithm$)/i.test(name)) delete headers[name];
    }
    return next(args);
  };
}
const DROP_CHECKSUMS = { step: 'build', priority: 'low', name: 'dropPresignedChecksums' } as const;

function assertPresignSeconds(seconds: number): void {
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > MAX_PRESIGN_SECONDS) {
    throw new ScError(
      'INVALID_ARGUMENT',
      `A presigned URL lives 1 to ${MAX_PRESIGN_SECONDS} s, not ${seconds}.`,
    );
  }
}

/** `bucket/key[?versionId=…]`, the key URL-encoded as CopySource requires. */
function copySourceOf(source: S3ObjectRef): string {
  const key = encodeURIComponent(source.key).replace(/%2F/g, '/');
  const version = source.versionId ? `?versionId=${encodeURIComponent(source.versionId)}` : '';
  return `${source.bucket}/${key}${version}`;
}

/** Maps `items` with at most `limit` calls in flight; results in the items' order. */
async function mapConcurrently<T, R>(items: T[], limit: number, map: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await map(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

function baseName(key: string): string {
  return key.slice(key.lastIndexOf('/') + 1);
}

interface SdkError {
  name?: string;
  $metadata?: { httpStatusCode?: number };
  $retryable?: unknown;
}

/** GetObject reports `NoSuchKey`; HeadObject has no body, so only `NotFound` and its status. */
function isNotFound(error: unknown): boolean {
  const e = error as SdkError;
  if (e?.name === 'NoSuchBucket') return false;
  return e?.name === 'NoSuchKey' || e?.name === 'NotFound' || e?.$metadata?.httpStatusCode === 404;
}

function isTransient(error: unknown): boolean {
  const e = error as SdkError;
  const status = e?.$metadata?.httpStatusCode ?? 0;
  return e?.$retryable !== undefined || status === 429 || status >= 500;
}
