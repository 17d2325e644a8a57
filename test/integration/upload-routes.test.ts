import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3BlobStore } from '../../lambdas/adapters/aws/s3-blob-store.ts';
import type { Execution } from '../../lambdas/core/model.ts';
import { s3ClientFor, startS3SqsStandIn, type S3SqsStandIn } from '../../lambdas/local/s3-sqs-stand-in.ts';
import { createApiKey, handleApiRequest, type ApiDeps } from '../../lambdas/pipeline/api.ts';
import { ApiError } from '../../lambdas/pipeline/api/http.ts';
import { startFromUpload } from '../../lambdas/pipeline/api/upload-routes.ts';
import { setConnectorActive } from '../../lambdas/pipeline/control.ts';
import { createUpload, startUpload, uploadKeys, type Upload } from '../../lambdas/pipeline/uploads.ts';
import type { ConnectorRecord } from '../../lambdas/ports/connector-store.ts';
import { csv, itemsConnector, openPipelineWorkspace, type PipelineWorkspace } from '../helpers/pipeline.ts';

/*
 * Presigned uploads through the API function (the one `sc serve` and the API Lambda call), on the local
 * runtime with the fauxqs S3 as the ingest bucket: the route's input checks, each way a start can be
 * refused, and uploads — single and multipart — that run to the end exactly once.
 */

const MiB = 1024 * 1024;
const BUCKET = 'upload-routes-ingest';
let ws: PipelineWorkspace;
let standIn: S3SqsStandIn;
let client: S3Client;
let scratch: string;
let ingest: S3BlobStore;
let deps: ApiDeps;
let key: string;
let connector: ConnectorRecord;
let other: ConnectorRecord;

beforeAll(async () => {
  ws = await openPipelineWorkspace([
    {
      apiName: 'u_items',
      name: 'Items',
      fields: [
        { name: 'name', type: 'text' },
        { name: 'qty', type: 'integer' },
      ],
    },
  ]);
  standIn = await startS3SqsStandIn({ buckets: [BUCKET] });
  client = s3ClientFor(standIn.endpoint);
  scratch = await mkdtemp(join(tmpdir(), 'sc-upload-routes-'));
  // 5 MiB parts (S3's smallest), so a multipart upload stays small enough for a quick test.
  ingest = new S3BlobStore({ client, bucket: BUCKET, tmpDir: scratch, uploadPartBytes: 5 * MiB });
  deps = { ports: ws.ports, apiKeys: ws.runtime.apiKeys, ingest };
  key = (await createApiKey(ws.runtime.apiKeys, 'uploads', new Date())).key;
  await ws.writeConnector('uploaded', { definition: itemsConnector('Uploaded', ['u_items']) });
  await ws.writeConnector('elsewhere', { definition: itemsConnector('Elsewhere', ['u_items']) });
  connector = await setConnectorActive(ws.ports, (await ws.apply('uploaded')).connector.id, true);
  other = (await ws.apply('elsewhere')).connector;
});
afterAll(async () => {
  await ingest?.dispose();
  client?.destroy();
  await standIn?.stop();
  await ws?.close();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

async function call(
  path: string,
  body: unknown,
  options: { apiKey?: string | null; deps?: ApiDeps; raw?: string } = {},
) {
  const apiKey = options.apiKey === undefined ? key : options.apiKey;
  const response = await handleApiRequest(options.deps ?? deps, {
    method: 'POST',
    path,
    query: {},
    headers: { 'content-type': 'application/json', ...(apiKey === null ? {} : { 'x-api-key': apiKey }) },
    body: Buffer.from(options.raw ?? JSON.stringify(body)),
  });
  return { status: response.statusCode, body: JSON.parse(String(response.body)) as Record<string, unknown> };
}

async function upload(fileName: string, size: number): Promise<Upload> {
  const response = await call(`/connectors/uploaded/uploads`, { fileName, size });
  expect(response.status).toBe(201);
  return response.body as unknown as Upload;
}

/** PUTs the file as a client would: whole, or each part to its URL. */
async function send(target: Upload, file: Buffer): Promise<void> {
  const puts = target.parts
    ? target.parts.map((p) => ({ url: p.url, body: file.subarray(p.offset, p.offset + p.size) }))
    : [{ url: target.url!, body: file }];
  for (const put of puts) {
    const response = await fetch(put.url, { method: 'PUT', headers: target.headers, body: put.body });
    expect(response.status).toBe(200);
  }
}

async function refusal(promise: Promise<unknown>): Promise<ApiError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ApiError);
  return error as ApiError;
}

async function settled(id: string): Promise<Execution> {
  await ws.runtime.stateMachine.idle();
  return (await ws.ports.executions.get(id))!;
}

/** A CSV of `rows` items whose `notes` column pads it to about `bytes`. */
function paddedCsv(rows: number, bytes: number): Buffer {
  const pad = 'x'.repeat(Math.ceil(bytes / rows));
  return Buffer.from(
    csv(['name', 'qty', 'notes'], ...Array.from({ length: rows }, (_, i) => [`P${i}`, i, pad])),
  );
}

describe('POST /connectors/{ref}/uploads', () => {
  it('answers 201 with one presigned PUT for a small file, valid for an hour', async () => {
    const before = Date.now();
    const target = await upload('small.csv', 120);
    expect(target).toMatchObject({
      kind: 'single',
      method: 'PUT',
      headers: {},
      fileName: 'small.csv',
      size: 120,
    });
    expect(target.uploadId).toMatch(/^[0-9a-f-]{36}$/);
    expect(new URL(target.url!).pathname).toBe(`/${BUCKET}/uploads/${target.uploadId}/small.csv`);
    const expires = Date.parse(target.expiresAt) - before;
    expect(expires).toBeGreaterThan(3590_000);
    expect(expires).toBeLessThanOrEqual(3600_000 + 5_000);
    expect(target.parts).toBeUndefined();
    expect(await ingest.exists(uploadKeys.record(target.uploadId))).toBe(true);
  });

  it('answers a multipart upload with one URL per part for a file over the part size', async () => {
    const target = await upload('large.csv', 11 * MiB);
    expect(target).toMatchObject({ kind: 'multipart', url: null, partSize: 5 * MiB });
    expect(target.parts!.map(({ partNumber, offset, size }) => [partNumber, offset, size])).toEqual([
      [1, 0, 5 * MiB],
      [2, 5 * MiB, 5 * MiB],
      [3, 10 * MiB, MiB],
    ]);
  });

  it.each([
    { body: {}, paths: ['body.fileName', 'body.size'], message: /expected string/ },
    { body: { fileName: 'in/a/folder.csv', size: 10 }, paths: ['body.fileName'], message: /not a path/ },
    { body: { fileName: '..', size: 10 }, paths: ['body.fileName'], message: /cannot be "\." or "\.\."/ },
    { body: { fileName: 'tab\t.csv', size: 10 }, paths: ['body.fileName'], message: /control characters/ },
    { body: { fileName: '', size: 10 }, paths: ['body.fileName'], message: /1 character/ },
    { body: { fileName: 'a.csv', size: 0 }, paths: ['body.size'], message: /file is empty/ },
    { body: { fileName: 'a.csv', size: 1.5 }, paths: ['body.size'], message: /expected int/ },
    { body: { fileName: 'a.csv', size: '10' }, paths: ['body.size'], message: /expected number/ },
    { body: { fileName: 'a.csv', size: 6 * 1024 ** 4 }, paths: ['body.size'], message: /at most 5 TiB/ },
  ])('answers 400 naming $paths for $body', async ({ body, paths, message }) => {
    const response = await call('/connectors/uploaded/uploads', body);
    expect(response.status).toBe(400);
    const error = response.body.error as { code: string; message: string; details: Array<{ path: string }> };
    expect(error.code).toBe('INVALID_REQUEST');
    expect(error.details.map((d) => d.path)).toEqual(paths);
    expect(error.message).toMatch(message);
  });

  it('answers 400 INVALID_JSON for a body that is not JSON', async () => {
    const response = await call('/connectors/uploaded/uploads', undefined, { raw: '{"fileName": ' });
    expect(response.status).toBe(400);
    expect(response.body.error).toMatchObject({ code: 'INVALID_JSON' });
  });

  it('answers 404 for an unknown connector, 401 without a key and 403 with a wrong one', async () => {
    const unknown = await call('/connectors/no_such/uploads', { fileName: 'a.csv', size: 10 });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toMatchObject({ code: 'CONNECTOR_NOT_FOUND' });
    expect((await call('/connectors/uploaded/uploads', {}, { apiKey: null })).status).toBe(401);
    expect((await call('/connectors/uploaded/uploads', {}, { apiKey: 'sc_wrong' })).status).toBe(403);
  });

  it('answers 501 where the runtime has no ingest bucket', async () => {
    const bare = { ports: ws.ports, apiKeys: ws.runtime.apiKeys };
    const response = await call(
      '/connectors/uploaded/uploads',
      { fileName: 'a.csv', size: 10 },
      { deps: bare },
    );
    expect(response.status).toBe(501);
    expect(response.body.error).toMatchObject({ code: 'UPLOADS_UNAVAILABLE' });
    const start = await refusal(startFromUpload(bare, connector, crypto.randomUUID(), { dryRun: false }));
    expect([start.status, start.code]).toEqual([501, 'UPLOADS_UNAVAILABLE']);
  });
});

describe('starting an upload', () => {
  it('runs a single PUT upload to the end; starting it again answers the same execution', async () => {
    const file = Buffer.from(csv(['name', 'qty'], ['Apple', 3], ['Pear', 4]));
    const target = await upload('fruit.csv', file.length);
    await send(target, file);

    const execution = await startFromUpload(deps, connector, target.uploadId, { dryRun: false });
    expect(execution).toMatchObject({
      id: target.uploadId,
      trigger: 'api',
      initiatedBy: 'api',
      dryRun: false,
    });
    expect(execution.inputFile).toEqual({
      name: 'fruit.csv',
      size: file.length,
      key: `executions/${target.uploadId}/input/fruit.csv`,
    });
    expect((await settled(execution.id)).status).toBe('succeeded');
    expect(await ws.ports.blobs.readText(execution.inputFile!.key)).toBe(file.toString());

    const again = await startUpload(ws.ports, ingest, connector, target.uploadId, { dryRun: true });
    expect(again).toMatchObject({ created: false, execution: { id: execution.id, dryRun: false } });
    const runs = await ws.ports.executions.listByConnector(connector.id);
    expect(runs.filter((e) => e.id === target.uploadId)).toHaveLength(1);
    const records = await ws.records('u_items');
    expect(records.filter((r) => ['Apple', 'Pear'].includes(String(r.fields.name)))).toHaveLength(2);
  });

  it('completes a multipart upload from its parts and runs it; concurrent starts make one execution', async () => {
    const file = paddedCsv(40, 11 * MiB);
    const target = await upload('padded.csv', file.length);
    expect(target.parts).toHaveLength(3);
    await send(target, file);

    const [first, second] = await Promise.all([
      startUpload(ws.ports, ingest, connector, target.uploadId, { dryRun: false, initiatedBy: 'api:one' }),
      startUpload(ws.ports, ingest, connector, target.uploadId, { dryRun: false, initiatedBy: 'api:two' }),
    ]);
    expect([first.created, second.created].sort()).toEqual([false, true]);
    expect(first.execution.id).toBe(target.uploadId);
    expect(second.execution.id).toBe(target.uploadId);
    const done = await settled(target.uploadId);
    expect(done.status).toBe('succeeded');
    expect(done.inputFile?.size).toBe(file.length);
    expect(done.counts.steps[0]).toMatchObject({ created: 40, failed: 0 });
    const runs = await ws.ports.executions.listByConnector(connector.id);
    expect(runs.filter((e) => e.id === target.uploadId)).toHaveLength(1);
  });

  it('answers 404 UPLOAD_NOT_FOUND for an unknown or malformed upload id', async () => {
    for (const id of [crypto.randomUUID(), 'not-an-id', '../etc']) {
      const error = await refusal(startFromUpload(deps, connector, id, { dryRun: false }));
      expect([error.status, error.code]).toEqual([404, 'UPLOAD_NOT_FOUND']);
      expect(error.message).toMatch(/unknown, or expired .* POST \/connectors\/\{ref\}\/uploads/);
    }
  });

  it('answers 409 UPLOAD_NOT_FINISHED before the file arrived, naming missing parts', async () => {
    const single = await upload('later.csv', 10);
    const notYet = await refusal(startFromUpload(deps, connector, single.uploadId, { dryRun: false }));
    expect([notYet.status, notYet.code]).toEqual([409, 'UPLOAD_NOT_FINISHED']);
    expect(notYet.message).toMatch(/has not arrived: PUT the file/);

    const file = paddedCsv(30, 11 * MiB);
    const parted = await upload('parted.csv', file.length);
    const [one, , three] = parted.parts!;
    await send({ ...parted, parts: [one!, three!] }, file);
    const missing = await refusal(startFromUpload(deps, connector, parted.uploadId, { dryRun: false }));
    expect([missing.status, missing.code]).toEqual([409, 'UPLOAD_NOT_FINISHED']);
    expect(missing.message).toMatch(/is missing part 2 of 3/);
    expect(await ws.ports.executions.get(parted.uploadId)).toBeNull();
  });

  it('answers 422 UPLOAD_SIZE_MISMATCH when the file or a part is not the declared size', async () => {
    const single = await upload('short.csv', 100);
    await send(single, Buffer.from('name\nA\n'));
    const short = await refusal(startFromUpload(deps, connector, single.uploadId, { dryRun: false }));
    expect([short.status, short.code]).toEqual([422, 'UPLOAD_SIZE_MISMATCH']);
    expect(short.message).toMatch(/declared as 100 bytes, but 7 arrived/);

    const file = paddedCsv(30, 11 * MiB);
    const parted = await upload('wrong-part.csv', file.length);
    await send(parted, file);
    // Part 2 sent again, one byte short.
    const part = parted.parts![1]!;
    await fetch(part.url, { method: 'PUT', body: file.subarray(part.offset, part.offset + part.size - 1) });
    const wrong = await refusal(startFromUpload(deps, connector, parted.uploadId, { dryRun: false }));
    expect([wrong.status, wrong.code]).toEqual([422, 'UPLOAD_SIZE_MISMATCH']);
    expect(wrong.message).toMatch(
      `Part 2 of upload ${parted.uploadId} holds ${5 * MiB - 1} bytes, not ${5 * MiB}`,
    );
    expect(await ws.ports.executions.get(parted.uploadId)).toBeNull();
  });

  it('answers 409 UPLOAD_CONNECTOR_MISMATCH for an upload made for another connector, before and after it ran', async () => {
    const file = Buffer.from(csv(['name', 'qty'], ['Mine', 1]));
    const target = await upload('mine.csv', file.length);
    await send(target, file);
    const before = await refusal(startFromUpload(deps, other, target.uploadId, { dryRun: false }));
    expect([before.status, before.code]).toEqual([409, 'UPLOAD_CONNECTOR_MISMATCH']);
    expect(before.message).toMatch('made for connector "uploaded", not "elsewhere"');
    // The start's options reach the execution.
    const started = await startFromUpload(deps, connector, target.uploadId, {
      dryRun: true,
      diffCheck: false,
      initiatedBy: 'api:tests',
    });
    expect(started).toMatchObject({ dryRun: true, diffCheck: false, initiatedBy: 'api:tests' });
    expect((await settled(target.uploadId)).status).toBe('succeeded');
    expect((await ws.records('u_items')).some((r) => r.fields.name === 'Mine')).toBe(false);
    const after = await refusal(startFromUpload(deps, other, target.uploadId, { dryRun: false }));
    expect([after.status, after.code]).toEqual([409, 'UPLOAD_CONNECTOR_MISMATCH']);
  });

  it('answers 410 UPLOAD_EXPIRED when the URLs ran out before the file arrived; a file that arrived in time still starts', async () => {
    const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
    const late = await createUpload(ingest, connector, { fileName: 'late.csv', size: 10 }, twoHoursAgo);
    const expired = await refusal(startFromUpload(deps, connector, late.uploadId, { dryRun: false }));
    expect([expired.status, expired.code]).toEqual([410, 'UPLOAD_EXPIRED']);
    expect(expired.message).toMatch(
      /expired at .* create a new upload with POST \/connectors\/uploaded\/uploads/,
    );

    const file = Buffer.from(csv(['name', 'qty'], ['InTime', 1]));
    const inTime = await createUpload(
      ingest,
      connector,
      { fileName: 'in-time.csv', size: file.length },
      twoHoursAgo,
    );
    await send(inTime, file); // the stand-in does not check signatures, so the old URL still takes it
    const started = await startFromUpload(deps, connector, inTime.uploadId, { dryRun: true });
    expect((await settled(started.id)).status).toBe('succeeded');
  });
});
