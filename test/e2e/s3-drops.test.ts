import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3BlobStore } from '../../lambdas/adapters/aws/s3-blob-store.ts';
import { SqsWorkQueue } from '../../lambdas/adapters/aws/sqs-work-queue.ts';
import { setConnectorActive } from '../../lambdas/pipeline/control.ts';
import {
  dropExecutionId,
  handleIngestMessage,
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
 * register Lambda calls, and the execution run by the local state machine.
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
});
