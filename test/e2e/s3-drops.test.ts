import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { CreateBucketCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3BlobStore } from '../../lambdas/adapters/aws/s3-blob-store.ts';
import { SqsWorkQueue } from '../../lambdas/adapters/aws/sqs-work-queue.ts';
import { artifacts } from '../../lambdas/pipeline/artifacts.ts';
import { setConnectorActive } from '../../lambdas/pipeline/control.ts';
import type { Ports } from '../../lambdas/pipeline/ports.ts';
import {
  dropExecutionId,
  handleIngestMessage,
  registerDrop,
  s3CreatedNotification,
} from '../../lambdas/pipeline/s3-drops.ts';
import { DropsWatcher } from '../../lambdas/local/drops-watcher.ts';
import {
  s3ClientFor,
  sqsClientFor,
  startS3SqsStandIn,
  type S3SqsStandIn,
} from '../../lambdas/local/s3-sqs-stand-in.ts';
import { pumpQueue } from '../../lambdas/local/sqs-pump.ts';
import { csv, itemsConnector, openPipelineWorkspace, type PipelineWorkspace } from '../helpers/pipeline.ts';

/*
 * S3 drops (SPEC §8): a file put at drops/<apiName>/ on the ingest bucket (the fauxqs S3 stand-in), its
 * event notification on the ingest queue (the SQS stand-in), the queue pumped into the function the
 * register Lambda calls, and the execution run by the local state machine. With an S3 artifacts bucket
 * too (as in AWS), the S3 calls registration sends are recorded to show the file is copied inside S3,
 * never downloaded.
 */

const BUCKET = 'sc-ingest';
let ws: PipelineWorkspace;
let aws: S3SqsStandIn;
let s3: S3Client;
let ingest: S3BlobStore;
let queue: SqsWorkQueue;
let deadLetters: SqsWorkQueue;

beforeAll(async () => {
  ws = await openPipelineWorkspace([
    {
      apiName: 'd_items',
      name: 'Items',
      fields: [
        { name: 'name', type: 'text' },
        { name: 'qty', type: 'integer' },
      ],
    },
  ]);
  aws = await startS3SqsStandIn({
    buckets: [BUCKET],
    queues: [{ name: 'ingest', dlq: 'ingest-dlq', maxReceiveCount: 1, visibilityTimeoutSeconds: 1 }],
  });
  s3 = s3ClientFor(aws.endpoint);
  const sqs = sqsClientFor(aws.endpoint);
  ingest = new S3BlobStore({ client: s3, bucket: BUCKET });
  queue = new SqsWorkQueue({ client: sqs, queueUrl: aws.queueUrls.ingest! });
  deadLetters = new SqsWorkQueue({ client: sqs, queueUrl: aws.queueUrls['ingest-dlq']! });
  await ws.writeConnector('drops', { definition: itemsConnector('Drops', ['d_items'], {}) });
  const { connector } = await ws.apply('drops');
  await setConnectorActive(ws.ports, connector.id, true);
  // Never activated: its executions stay queued, so registration alone is observed.
  await ws.writeConnector('parked', { definition: itemsConnector('Parked', ['d_items'], {}) });
  await ws.apply('parked');
});
afterAll(async () => {
  await ingest?.dispose();
  await aws?.stop();
  await ws?.close();
});

function createdEvent(key: string, versionId: string) {
  return s3CreatedNotification(BUCKET, key, versionId);
}

async function drop(key: string, body: string): Promise<void> {
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
}

const sha = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

async function bytesOf(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

/** Every S3 call `client` sends from now on: the command's name and its input. */
function recordCalls(client: S3Client): Array<{ command: string; input: Record<string, unknown> }> {
  const calls: Array<{ command: string; input: Record<string, unknown> }> = [];
  client.middlewareStack.add(
    (next, context) => (args) => {
      calls.push({ command: context.commandName ?? '', input: { ...args.input } });
      return next(args);
    },
    { step: 'initialize', name: 'recordCalls' },
  );
  return calls;
}

async function pump(): Promise<{ handled: number; failed: number }> {
  const result = await pumpQueue(queue, (body) => handleIngestMessage(ws.ports, ingest, body));
  await ws.runtime.stateMachine.idle();
  return result;
}

describe('S3 drops', () => {
  it('one object version delivered twice creates one execution; a new version creates another', async () => {
    const key = 'drops/drops/first upload.csv';
    await drop(key, csv(['name', 'qty'], ['A', 1], ['B', 2]));
    await queue.send(createdEvent(key, 'v1'));
    await queue.send(createdEvent(key, 'v1')); // S3 delivers at least once
    expect(await pump()).toEqual({ handled: 2, failed: 0 });

    const id = dropExecutionId({ bucket: BUCKET, key, versionId: 'v1' });
    const execution = (await ws.ports.executions.get(id))!;
    expect(execution).toMatchObject({
      status: 'succeeded',
      trigger: 's3',
      initiatedBy: `s3://${BUCKET}/${key}`,
    });
    expect(execution.inputFile?.name).toBe('first upload.csv');
    const connector = (await ws.ports.connectors.getConnector('drops'))!;
    expect(await ws.ports.executions.listByConnector(connector.id)).toHaveLength(1);
    expect((await ws.records('d_items')).map((r) => r.fields.name)).toEqual(['A', 'B']);

    await queue.send(createdEvent(key, 'v2'));
    await pump();
    expect(await ws.ports.executions.listByConnector(connector.id)).toHaveLength(2);
  });

  it('a drop for an unknown connector fails with a clear message and ends in the dead-letter queue; the file is kept', async () => {
    const key = 'drops/no_such_connector/data.csv';
    await drop(key, csv(['name'], ['A']));
    await queue.send(createdEvent(key, 'v1'));
    await expect(handleIngestMessage(ws.ports, ingest, createdEvent(key, 'v1'))).rejects.toThrow(
      /connector "no_such_connector", which does not exist/,
    );
    expect(await pump()).toEqual({ handled: 0, failed: 1 });
    await new Promise((resolve) => setTimeout(resolve, 1500)); // the visibility timeout
    expect(await pump()).toEqual({ handled: 0, failed: 0 }); // redriven on this receive
    const dead = await deadLetters.receive(10, 1);
    expect(dead.map((d) => d.body)).toEqual([createdEvent(key, 'v1')]);
    expect(await ingest.exists(key)).toBe(true);
  });

  it('sc serve watches drops/ on the local S3 stand-in: each new object version starts one execution', async () => {
    const watcher = new DropsWatcher(s3, BUCKET, (notification) =>
      handleIngestMessage(ws.ports, ingest, notification),
    );
    await watcher.scan(); // what the earlier tests dropped
    const connector = (await ws.ports.connectors.getConnector('drops'))!;
    const before = (await ws.ports.executions.listByConnector(connector.id)).length;
    await drop('drops/drops/watched.csv', csv(['name', 'qty'], ['W', 1]));
    expect(await watcher.scan()).toBe(1);
    expect(await watcher.scan()).toBe(0); // seen already
    await ws.runtime.stateMachine.idle();
    const executions = await ws.ports.executions.listByConnector(connector.id);
    expect(executions).toHaveLength(before + 1);
    expect(executions.find((e) => e.inputFile?.name === 'watched.csv')?.status).toBe('succeeded');
    await watcher.stop();
  });

  it('the test event S3 sends when notifications are set up is accepted and starts nothing; other bodies are refused', async () => {
    await expect(handleIngestMessage(ws.ports, ingest, { Event: 's3:TestEvent' })).resolves.toBeUndefined();
    await expect(handleIngestMessage(ws.ports, ingest, { hello: 1 })).rejects.toMatchObject({
      code: 'INVALID_EVENT',
    });
    await expect(
      handleIngestMessage(ws.ports, ingest, createdEvent('drops/file-without-folder.csv', 'v1')),
    ).rejects.toMatchObject({ code: 'DROP_KEY_INVALID' });
  });

  it('a dropped file that is not a table fails its execution with the input error; the file is kept', async () => {
    const key = 'drops/drops/scan.pdf';
    const pdf = Buffer.from('%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n');
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: pdf }));
    await queue.send(createdEvent(key, 'v1'));
    expect(await pump()).toEqual({ handled: 1, failed: 0 });
    const execution = (await ws.ports.executions.get(
      dropExecutionId({ bucket: BUCKET, key, versionId: 'v1' }),
    ))!;
    expect(execution.status).toBe('failed');
    expect(execution.error?.code).toBe('UNSUPPORTED_FORMAT');
    expect(execution.error?.message).toMatch(/^scan\.pdf cannot be read: .*PDF.*Supported formats:/);
    expect((await bytesOf(await ws.ports.blobs.read(execution.inputFile!.key))).equals(pdf)).toBe(true);
    expect(await ingest.exists(key)).toBe(true);
  });

  it('the same version delivered twice at once registers one execution', async () => {
    const key = 'drops/parked/twice at once.csv';
    await drop(key, csv(['name', 'qty'], ['T', 1]));
    const object = { bucket: BUCKET, key, versionId: 'v1' };
    const results = await Promise.all([
      registerDrop(ws.ports, ingest, object),
      registerDrop(ws.ports, ingest, object),
    ]);
    expect(results.map((r) => r.executionId)).toEqual([dropExecutionId(object), dropExecutionId(object)]);
    expect(results.map((r) => r.created).sort()).toEqual([false, true]);
    const connector = (await ws.ports.connectors.getConnector('parked'))!;
    const executions = await ws.ports.executions.listByConnector(connector.id);
    expect(executions.filter((e) => e.inputFile?.name === 'twice at once.csv')).toHaveLength(1);
  });

  it('a drop whose file was deleted before its event was handled is refused with DROP_FILE_NOT_FOUND; nothing is registered', async () => {
    const object = { bucket: BUCKET, key: 'drops/parked/deleted already.csv', versionId: 'v9' };
    await expect(registerDrop(ws.ports, ingest, object)).rejects.toMatchObject({
      code: 'DROP_FILE_NOT_FOUND',
      message:
        's3://sc-ingest/drops/parked/deleted already.csv (version v9) is gone: it was deleted before its ' +
        'execution was registered. Drop the file again to run it.',
    });
    expect(await ws.ports.executions.get(dropExecutionId(object))).toBeNull();
  });
});

describe('S3 drops into an S3 artifacts bucket (as in AWS)', () => {
  const ARTIFACTS = 'sc-artifacts';
  const MiB = 1024 * 1024;
  let ingestClient: S3Client;
  let artifactsClient: S3Client;
  let ingestCalls: ReturnType<typeof recordCalls>;
  let artifactsCalls: ReturnType<typeof recordCalls>;
  let s3Ingest: S3BlobStore;
  let s3Artifacts: S3BlobStore;
  let ports: Ports;

  beforeAll(async () => {
    ingestClient = s3ClientFor(aws.endpoint);
    artifactsClient = s3ClientFor(aws.endpoint);
    await artifactsClient.send(new CreateBucketCommand({ Bucket: ARTIFACTS }));
    ingestCalls = recordCalls(ingestClient);
    artifactsCalls = recordCalls(artifactsClient);
    s3Ingest = new S3BlobStore({ client: ingestClient, bucket: BUCKET, tmpDir: ws.ports.tmpDir });
    // CopyObject up to 5 MiB, UploadPartCopy in 5 MiB parts above (in AWS: 256 MiB, and any size).
    s3Artifacts = new S3BlobStore({
      client: artifactsClient,
      bucket: ARTIFACTS,
      tmpDir: ws.ports.tmpDir,
      copyPartBytes: 5 * MiB,
    });
    ports = { ...ws.ports, blobs: s3Artifacts };
  });
  afterAll(async () => {
    await s3Ingest?.dispose();
    await s3Artifacts?.dispose();
    ingestClient?.destroy();
    artifactsClient?.destroy();
  });

  async function registerParked(key: string, body: Buffer) {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
    ingestCalls.length = 0;
    artifactsCalls.length = 0;
    await handleIngestMessage(ports, s3Ingest, createdEvent(key, 'v1'));
    const execution = (await ws.ports.executions.get(
      dropExecutionId({ bucket: BUCKET, key, versionId: 'v1' }),
    ))!;
    expect(execution).toMatchObject({ status: 'queued', trigger: 's3' });
    return execution;
  }

  it('copies the dropped version into the execution input inside S3: no byte is downloaded', async () => {
    const key = 'drops/parked/Überblick März.csv';
    const body = Buffer.from(csv(['name', 'qty'], ['Ä', 1], ['数据', 2]));
    const execution = await registerParked(key, body);
    expect(execution.inputFile).toEqual({
      name: 'Überblick März.csv',
      size: body.length,
      key: artifacts.input(execution.id, 'Überblick März.csv'),
    });
    // The ingest bucket is asked for the size of the version the event names, and nothing else.
    expect(ingestCalls).toEqual([
      { command: 'HeadObjectCommand', input: { Bucket: BUCKET, Key: key, VersionId: 'v1' } },
    ]);
    expect(artifactsCalls.map((c) => c.command)).toEqual(['CopyObjectCommand']);
    expect(artifactsCalls[0]!.input).toMatchObject({
      Bucket: ARTIFACTS,
      Key: execution.inputFile!.key,
      CopySource: `${BUCKET}/drops/parked/%C3%9Cberblick%20M%C3%A4rz.csv`,
    });
    expect((await bytesOf(await s3Artifacts.read(execution.inputFile!.key))).equals(body)).toBe(true);
    expect(await s3Ingest.exists(key)).toBe(true);
  });

  it('copies a file over the copy part size in UploadPartCopy parts', async () => {
    const key = 'drops/parked/large.csv';
    const row = 'a fairly long item name,12345\n';
    const body = Buffer.from(`name,qty\n${row.repeat(Math.ceil((10.5 * MiB) / row.length))}`);
    const execution = await registerParked(key, body);
    expect(execution.inputFile?.size).toBe(body.length);
    expect(ingestCalls.map((c) => c.command)).toEqual(['HeadObjectCommand']);
    expect(artifactsCalls.map((c) => c.command)).toEqual([
      'CreateMultipartUploadCommand',
      'UploadPartCopyCommand',
      'UploadPartCopyCommand',
      'UploadPartCopyCommand',
      'CompleteMultipartUploadCommand',
    ]);
    expect(sha(await bytesOf(await s3Artifacts.read(execution.inputFile!.key)))).toBe(sha(body));
  });

  it('a repeated event copies nothing again', async () => {
    const key = 'drops/parked/Überblick März.csv';
    ingestCalls.length = 0;
    artifactsCalls.length = 0;
    await handleIngestMessage(ports, s3Ingest, createdEvent(key, 'v1'));
    expect(ingestCalls).toEqual([]);
    expect(artifactsCalls).toEqual([]);
  });
});
