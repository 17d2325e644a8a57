import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { randomUUID } from 'node:crypto';
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { assertBlobKey } from '../../core/blob-keys.ts';
import { ScError } from '../../core/errors.ts';
import type { BlobStore } from '../../ports/blob-store.ts';

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
}

/** SigV4 presigned URLs live at most 7 days. */
const MAX_PRESIGN_SECONDS = 7 * 24 * 3600;
/** Parts of a multipart upload; 5 MiB is S3's minimum part size. */
const PART_SIZE = 8 * 1024 * 1024;

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

  /** A GET URL for the blob, valid `seconds` (default `presignSeconds`, at most 7 days). */
  async presignedUrl(key: string, seconds = this.presignSeconds): Promise<string> {
    assertBlobKey(key);
    if (!Number.isInteger(seconds) || seconds < 1 || seconds > MAX_PRESIGN_SECONDS) {
      throw new ScError(
        'INVALID_ARGUMENT',
        `A presigned URL lives 1 to ${MAX_PRESIGN_SECONDS} s, not ${seconds}.`,
      );
    }
    return getSignedUrl(this.client, new GetObjectCommand({ Bucket: this.bucket, Key: key }), {
      expiresIn: seconds,
    });
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
