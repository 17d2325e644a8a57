import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { HeadObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3BlobStore } from '../../lambdas/adapters/aws/s3-blob-store.ts';
import { FsBlobStore } from '../../lambdas/adapters/local/fs-blob-store.ts';
import { ScError } from '../../lambdas/core/errors.ts';
import type { BlobStore } from '../../lambdas/ports/blob-store.ts';
import { s3ClientFor, startS3SqsStandIn, type S3SqsStandIn } from '../../lambdas/local/s3-sqs-stand-in.ts';

const BUCKETS = ['contract-bucket', 'multipart-bucket', 'paging-bucket', 'local-bucket'];

let standIn: S3SqsStandIn;
let client: S3Client;
let scratch: string;

beforeAll(async () => {
  standIn = await startS3SqsStandIn({ buckets: BUCKETS });
  client = s3ClientFor(standIn.endpoint);
  scratch = await mkdtemp(join(tmpdir(), 'sc-s3-test-'));
});
afterAll(async () => {
  client?.destroy();
  await standIn?.stop();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

async function text(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks).toString('utf8');
}

async function rejection(promise: Promise<unknown>): Promise<ScError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ScError);
  return error as ScError;
}

/** The BlobStore contract: both adapters must pass the same cases. */
describe.each([
  { adapter: 'FsBlobStore', open: async () => new FsBlobStore(await mkdtemp(join(scratch, 'fs-'))) },
  {
    adapter: 'S3BlobStore',
    open: async () =>
      new S3BlobStore({ client, bucket: 'contract-bucket', tmpDir: await mkdtemp(join(scratch, 's3-')) }),
  },
])('BlobStore contract: $adapter', ({ open }) => {
  let store: BlobStore;
  // Every case writes under its own folder, so the S3 cases can share one bucket.
  let n = 0;
  const folder = () => `case-${++n}-${Date.now()}`;
  beforeAll(async () => {
    store = await open();
  });

  it('puts text and bytes and reads them back', async () => {
    const dir = folder();
    await store.put(`${dir}/a.txt`, 'héllo');
    await store.put(`${dir}/b.bin`, new Uint8Array([0, 1, 254, 255]));
    expect(await store.readText(`${dir}/a.txt`)).toBe('héllo');
    expect(await text(await store.read(`${dir}/a.txt`))).toBe('héllo');
    const bytes: Buffer[] = [];
    for await (const chunk of await store.read(`${dir}/b.bin`)) bytes.push(Buffer.from(chunk as Uint8Array));
    expect([...Buffer.concat(bytes)]).toEqual([0, 1, 254, 255]);
    await store.put(`${dir}/a.txt`, 'replaced');
    expect(await store.readText(`${dir}/a.txt`)).toBe('replaced');
  });

  it('reports missing blobs as NOT_FOUND, and exists() as false', async () => {
    const key = `${folder()}/missing.txt`;
    expect(await store.exists(key)).toBe(false);
    expect((await rejection(store.read(key))).code).toBe('NOT_FOUND');
    expect((await rejection(store.readText(key))).code).toBe('NOT_FOUND');
    expect((await rejection(store.localPath(key))).code).toBe('NOT_FOUND');
    await store.put(key, 'now here');
    expect(await store.exists(key)).toBe(true);
  });

  it('lists keys under a folder, sorted, never siblings that share a name prefix', async () => {
    const dir = folder();
    for (const key of ['b/2.json', 'a.txt', 'b/1.json', 'b/sub/3.json', 'bc/4.json']) {
      await store.put(`${dir}/${key}`, key);
    }
    const expected = ['b/1.json', 'b/2.json', 'b/sub/3.json'].map((key) => `${dir}/${key}`);
    expect(await store.list(`${dir}/b`)).toEqual(expected);
    expect(await store.list(`${dir}/b/`)).toEqual(expected);
    expect(await store.list(dir)).toHaveLength(5);
    expect(await store.list(`${dir}/nothing`)).toEqual([]);
    expect(await store.list(`${dir}/a.txt`)).toEqual([]);
  });

  it('copies a local file in with putFile, leaving the file', async () => {
    const dir = folder();
    const source = join(scratch, `${dir}.csv`);
    await writeFile(source, 'id,name\n1,a\n');
    await store.putFile(`${dir}/input.csv`, source);
    expect(await store.readText(`${dir}/input.csv`)).toBe('id,name\n1,a\n');
    expect(existsSync(source)).toBe(true);
  });

  it('gives a local file for a blob, which follows later writes', async () => {
    const key = `${folder()}/data.tsv`;
    await store.put(key, 'one');
    const path = await store.localPath(key);
    expect(path.endsWith('.tsv')).toBe(true);
    expect(await readFile(path, 'utf8')).toBe('one');
    await store.put(key, 'two');
    expect(await readFile(await store.localPath(key), 'utf8')).toBe('two');
  });

  it('stores a staged file on commit, and the staging file is gone', async () => {
    const key = `${folder()}/report.xlsx`;
    const staged = await store.stagingPath(key);
    await writeFile(staged, 'report bytes');
    expect(await store.exists(key)).toBe(false);
    await store.commitLocal(key, staged);
    expect(await store.readText(key)).toBe('report bytes');
    expect(existsSync(staged)).toBe(false);
  });

  it('commits a file it did not stage without removing it', async () => {
    const key = `${folder()}/out.jsonl`;
    const own = join(scratch, `${n}-own.jsonl`);
    await writeFile(own, '{"a":1}\n');
    await store.commitLocal(key, own);
    expect(await store.readText(key)).toBe('{"a":1}\n');
    expect(existsSync(own)).toBe(true);
  });

  it('refuses keys that are not plain relative paths', async () => {
    for (const key of ['../escape.txt', 'a//b.txt', '/abs.txt', 'a/../b.txt']) {
      expect((await rejection(store.put(key, 'x'))).code).toBe('INVALID_KEY');
      expect(() => store.location(key)).toThrow(ScError);
    }
  });
});

describe('S3BlobStore', () => {
  it('uploads a large file as a multipart upload, streamed, and reads the same bytes back', async () => {
    const store = new S3BlobStore({ client, bucket: 'multipart-bucket', tmpDir: scratch });
    const source = join(scratch, 'large.bin');
    const content = randomBytes(17 * 1024 * 1024 + 123);
    await writeFile(source, content);
    await store.putFile('executions/e1/input/large.bin', source);

    const head = await client.send(
      new HeadObjectCommand({ Bucket: 'multipart-bucket', Key: 'executions/e1/input/large.bin' }),
    );
    expect(head.ContentLength).toBe(content.length);
    // 8 MiB parts: an AWS-style multipart ETag ends with the part count.
    expect(head.ETag).toMatch(/-3"?$/);

    const sha = createHash('sha256');
    for await (const chunk of await store.read('executions/e1/input/large.bin'))
      sha.update(chunk as Uint8Array);
    expect(sha.digest('hex')).toBe(createHash('sha256').update(content).digest('hex'));

    const local = await store.localPath('executions/e1/input/large.bin');
    expect((await readFile(local)).equals(content)).toBe(true);
    await store.dispose();
  });

  it('lists past the 1000 keys of one ListObjectsV2 page', async () => {
    const store = new S3BlobStore({ client, bucket: 'paging-bucket' });
    const keys = Array.from(
      { length: 1105 },
      (_, i) => `executions/e2/chunks/${String(i).padStart(5, '0')}.jsonl`,
    );
    for (let i = 0; i < keys.length; i += 50) {
      await Promise.all(keys.slice(i, i + 50).map((key) => store.put(key, key)));
    }
    await store.put('executions/e3/other.jsonl', 'not listed');
    // The stand-in pages as S3 does, so the adapter's continuation really runs.
    const firstPage = await client.send(new ListObjectsV2Command({ Bucket: 'paging-bucket' }));
    expect(firstPage.IsTruncated).toBe(true);
    expect(firstPage.Contents).toHaveLength(1000);
    const listed = await store.list('executions/e2/chunks');
    expect(listed).toEqual(keys);
    expect(await store.list('')).toHaveLength(1106);
  });

  it('caches downloads per key, and dispose() removes them and staged files', async () => {
    const tmpDir = await mkdtemp(join(scratch, 'dispose-'));
    const store = new S3BlobStore({ client, bucket: 'local-bucket', tmpDir });
    await store.put('a/b.csv', 'x');
    const [first, second] = await Promise.all([store.localPath('a/b.csv'), store.localPath('a/b.csv')]);
    expect(second).toBe(first);
    expect(await store.localPath('a/b.csv')).toBe(first);
    expect(first.startsWith(tmpDir)).toBe(true);
    const staged = await store.stagingPath('a/c.csv');
    await writeFile(staged, 'y');
    await store.dispose();
    expect(existsSync(first)).toBe(false);
    expect(existsSync(staged)).toBe(false);
    // The store still works after dispose, in a fresh directory.
    expect(await readFile(await store.localPath('a/b.csv'), 'utf8')).toBe('x');
    await store.dispose();
  });

  it('names blobs by s3:// location and presigns GET URLs that serve them', async () => {
    const store = new S3BlobStore({ client, bucket: 'local-bucket', presignSeconds: 120 });
    await store.put('executions/e4/report.xlsx', 'report');
    expect(store.location('executions/e4/report.xlsx')).toBe('s3://local-bucket/executions/e4/report.xlsx');

    const url = new URL(await store.presignedUrl('executions/e4/report.xlsx'));
    expect(url.searchParams.get('X-Amz-Expires')).toBe('120');
    expect(url.pathname).toBe('/local-bucket/executions/e4/report.xlsx');
    const response = await fetch(url);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('report');

    const short = new URL(await store.presignedUrl('executions/e4/report.xlsx', 60));
    expect(short.searchParams.get('X-Amz-Expires')).toBe('60');
    expect((await rejection(store.presignedUrl('executions/e4/report.xlsx', 8 * 24 * 3600))).code).toBe(
      'INVALID_ARGUMENT',
    );
  });

  it('does not mistake a missing bucket for a missing blob', async () => {
    const store = new S3BlobStore({ client, bucket: 'no-such-bucket' });
    const error = await store.readText('a.txt').then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error).toBeDefined();
    expect((error as ScError).code).not.toBe('NOT_FOUND');
  });
});
