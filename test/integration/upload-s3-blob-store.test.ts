import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3BlobStore } from '../../lambdas/adapters/aws/s3-blob-store.ts';
import { ScError } from '../../lambdas/core/errors.ts';
import type { UploadTarget } from '../../lambdas/ports/blob-store.ts';
import { s3ClientFor, startS3SqsStandIn, type S3SqsStandIn } from '../../lambdas/local/s3-sqs-stand-in.ts';

/*
 * The S3 adapter's direct-upload and copy methods with real SDK calls against the fauxqs stand-in:
 * presigned PUTs (sent with plain fetch, as a client would), multipart uploads listed and completed,
 * and server-side copies between buckets, in one CopyObject and in UploadPartCopy parts.
 */

const MiB = 1024 * 1024;
let standIn: S3SqsStandIn;
let client: S3Client;
let scratch: string;
let ingest: S3BlobStore;
let artifacts: S3BlobStore;

beforeAll(async () => {
  standIn = await startS3SqsStandIn({ buckets: ['upload-ingest', 'upload-artifacts'] });
  client = s3ClientFor(standIn.endpoint);
  scratch = await mkdtemp(join(tmpdir(), 'sc-upload-s3-'));
  ingest = new S3BlobStore({ client, bucket: 'upload-ingest', tmpDir: scratch, uploadPartBytes: 5 * MiB });
  artifacts = new S3BlobStore({
    client,
    bucket: 'upload-artifacts',
    tmpDir: scratch,
    copyPartBytes: 5 * MiB,
  });
});
afterAll(async () => {
  await ingest?.dispose();
  await artifacts?.dispose();
  client?.destroy();
  await standIn?.stop();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

async function bytes(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

const sha = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

async function put(url: string, body: Uint8Array): Promise<Response> {
  return fetch(url, { method: 'PUT', body });
}

function multipart(target: UploadTarget): Extract<UploadTarget, { kind: 'multipart' }> {
  if (target.kind !== 'multipart') throw new Error(`expected a multipart upload, got ${target.kind}`);
  return target;
}

async function rejection(promise: Promise<unknown>): Promise<ScError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ScError);
  return error as ScError;
}

describe('S3BlobStore presigned uploads', () => {
  it('presigns one PUT up to the part size; a client PUTs the file and stat sees its size', async () => {
    const file = randomBytes(5 * MiB);
    const target = await ingest.presignUpload('single/a file.csv', file.length, 600);
    expect(target.kind).toBe('single');
    if (target.kind !== 'single') return;
    expect(target.headers).toEqual({});
    const url = new URL(target.url);
    expect(url.searchParams.get('X-Amz-Expires')).toBe('600');
    expect((await put(target.url, file)).status).toBe(200);
    expect(await ingest.stat('single/a file.csv')).toEqual({ size: file.length });
    expect(sha(await bytes(await ingest.read('single/a file.csv')))).toBe(sha(file));
  });

  it('signs no checksum into a URL, since the body is unknown when presigning', async () => {
    const single = await ingest.presignUpload('single/no-checksum.csv', 10, 60);
    const parts = multipart(await ingest.presignUpload('multi/no-checksum.csv', 6 * MiB, 60));
    for (const url of [single.kind === 'single' ? single.url : '', ...parts.parts.map((p) => p.url)]) {
      const names = [...new URL(url).searchParams.keys()].map((n) => n.toLowerCase());
      expect(names.filter((n) => n.includes('checksum'))).toEqual([]);
      expect(new URL(url).searchParams.get('X-Amz-SignedHeaders')).toBe('host');
    }
  });

  it('presigns a multipart upload over the part size; parts are listed, completed and joined in order', async () => {
    const file = randomBytes(12 * MiB + 123);
    const target = multipart(await ingest.presignUpload('multi/big.csv', file.length, 600));
    expect(target.partSize).toBe(5 * MiB);
    expect(target.parts.map(({ partNumber, offset, size }) => ({ partNumber, offset, size }))).toEqual([
      { partNumber: 1, offset: 0, size: 5 * MiB },
      { partNumber: 2, offset: 5 * MiB, size: 5 * MiB },
      { partNumber: 3, offset: 10 * MiB, size: 2 * MiB + 123 },
    ]);
    expect(await ingest.listUploadedParts('multi/big.csv', target.multipartId)).toEqual([]);
    // Parts may arrive in any order.
    for (const part of [...target.parts].reverse()) {
      const response = await put(part.url, file.subarray(part.offset, part.offset + part.size));
      expect(response.status).toBe(200);
    }
    const listed = await ingest.listUploadedParts('multi/big.csv', target.multipartId);
    expect(listed.map(({ partNumber, size }) => ({ partNumber, size }))).toEqual([
      { partNumber: 1, size: 5 * MiB },
      { partNumber: 2, size: 5 * MiB },
      { partNumber: 3, size: 2 * MiB + 123 },
    ]);
    expect(listed.every((p) => /^"[0-9a-f]{32}"$/.test(p.eTag))).toBe(true);
    expect(await ingest.stat('multi/big.csv')).toBeUndefined();

    await ingest.completeMultipartUpload('multi/big.csv', target.multipartId, listed);
    expect(await ingest.stat('multi/big.csv')).toEqual({ size: file.length });
    expect(sha(await bytes(await ingest.read('multi/big.csv')))).toBe(sha(file));
  });

  it('answers NOT_FOUND for the parts or completion of an upload that is gone', async () => {
    const target = multipart(await ingest.presignUpload('multi/once.csv', 6 * MiB, 600));
    const file = randomBytes(6 * MiB);
    for (const part of target.parts) await put(part.url, file.subarray(part.offset, part.offset + part.size));
    const listed = await ingest.listUploadedParts('multi/once.csv', target.multipartId);
    await ingest.completeMultipartUpload('multi/once.csv', target.multipartId, listed);

    const listing = await rejection(ingest.listUploadedParts('multi/once.csv', target.multipartId));
    expect(listing.code).toBe('NOT_FOUND');
    expect(listing.message).toMatch(/multipart upload of "multi\/once.csv" does not exist/);
    const again = await rejection(
      ingest.completeMultipartUpload('multi/once.csv', target.multipartId, listed),
    );
    expect(again.code).toBe('NOT_FOUND');
    expect((await rejection(ingest.listUploadedParts('multi/once.csv', 'no-such-upload'))).code).toBe(
      'NOT_FOUND',
    );
  });

  it('lists past the 1000 parts of one ListParts page', async () => {
    const target = multipart(await ingest.presignUpload('multi/many.csv', 5 * MiB * 1001 + 1, 600));
    expect(target.parts).toHaveLength(1002);
    // Only the listing is under test: tiny bodies stand in for the 5 MiB parts.
    await Promise.all(target.parts.map((part) => put(part.url, Buffer.from(String(part.partNumber)))));
    const listed = await ingest.listUploadedParts('multi/many.csv', target.multipartId);
    expect(listed.map((p) => p.partNumber)).toEqual(target.parts.map((p) => p.partNumber));
  }, 60_000);

  it('stat answers undefined for an absent blob', async () => {
    expect(await ingest.stat('nothing/here.csv')).toBeUndefined();
  });

  it('refuses a URL lifetime beyond 7 days', async () => {
    const error = await rejection(ingest.presignUpload('single/late.csv', 10, 8 * 24 * 3600));
    expect(error.code).toBe('INVALID_ARGUMENT');
  });

  it('refuses part sizes S3 would not take when the store is built', () => {
    expect(() => new S3BlobStore({ client, bucket: 'upload-ingest', uploadPartBytes: MiB })).toThrow(/5 MiB/);
    expect(() => new S3BlobStore({ client, bucket: 'upload-ingest', copyPartBytes: 6 * 1024 * MiB })).toThrow(
      /5 GiB/,
    );
  });
});

describe('S3BlobStore server-side copies', () => {
  async function source(key: string, size: number): Promise<Buffer> {
    const body = randomBytes(size);
    await client.send(new PutObjectCommand({ Bucket: 'upload-ingest', Key: key, Body: body }));
    return body;
  }

  it('copies an object up to the copy part size with one CopyObject, keeping odd keys intact', async () => {
    const body = await source('copy/small file (1).csv', 3 * MiB);
    const from = ingest.s3Object('copy/small file (1).csv');
    expect(from).toEqual({ bucket: 'upload-ingest', key: 'copy/small file (1).csv' });
    await artifacts.copyFromS3('executions/x/input/small file (1).csv', from, body.length);
    expect(sha(await bytes(await artifacts.read('executions/x/input/small file (1).csv')))).toBe(sha(body));
  });

  it('copies a larger object in UploadPartCopy ranges and joins them in order', async () => {
    // fauxqs takes at most 11 MiB per request, so the source is put in one PUT under that.
    const body = await source('copy/large.csv', 10 * MiB + 5);
    await artifacts.copyFromS3(
      'executions/y/input/large.csv',
      ingest.s3Object('copy/large.csv'),
      body.length,
    );
    expect(await artifacts.stat('executions/y/input/large.csv')).toEqual({ size: body.length });
    expect(sha(await bytes(await artifacts.read('executions/y/input/large.csv')))).toBe(sha(body));
  });

  it('rejects NOT_FOUND when the source is absent, in one copy and in parts, and leaves nothing', async () => {
    const missing = ingest.s3Object('copy/missing.csv');
    expect((await rejection(artifacts.copyFromS3('executions/z/input/a.csv', missing, 10))).code).toBe(
      'NOT_FOUND',
    );
    const parted = await rejection(artifacts.copyFromS3('executions/z/input/b.csv', missing, 11 * MiB));
    expect(parted.code).toBe('NOT_FOUND');
    expect(await artifacts.list('executions/z')).toEqual([]);
  });
});
