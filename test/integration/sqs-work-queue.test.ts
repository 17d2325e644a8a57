import { ReceiveMessageCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqsWorkQueue } from '../../lambdas/adapters/aws/sqs-work-queue.ts';
import { ScError } from '../../lambdas/core/errors.ts';
import type { WorkItem } from '../../lambdas/ports/work-queue.ts';
import { sqsClientFor, startS3SqsStandIn, type S3SqsStandIn } from '../../lambdas/local/s3-sqs-stand-in.ts';

let standIn: S3SqsStandIn;
let client: SQSClient;

beforeAll(async () => {
  standIn = await startS3SqsStandIn({
    queues: [
      { name: 'basic' },
      { name: 'delayed' },
      { name: 'deferred' },
      { name: 'redelivery', visibilityTimeoutSeconds: 1 },
      { name: 'redrive', dlq: 'redrive-dlq', maxReceiveCount: 2, visibilityTimeoutSeconds: 1 },
      { name: 'poison', dlq: 'poison-dlq', maxReceiveCount: 1, visibilityTimeoutSeconds: 1 },
      { name: 'batch' },
      { name: 'dispatch.fifo' },
    ],
  });
  client = sqsClientFor(standIn.endpoint);
});
afterAll(async () => {
  client?.destroy();
  await standIn?.stop();
});

function queue(name: string, options: { maxDelaySeconds?: number } = {}): SqsWorkQueue {
  const queueUrl = standIn.queueUrls[name];
  if (queueUrl === undefined) throw new Error(`no queue ${name}`);
  return new SqsWorkQueue({ client, queueUrl, ...options });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls without long waits until something arrives, for timing-based cases. */
async function receiveWithin(work: SqsWorkQueue, ms: number): Promise<WorkItem[]> {
  const deadline = Date.now() + ms;
  for (;;) {
    const items = await work.receive(10, 0);
    if (items.length > 0 || Date.now() > deadline) return items;
    await sleep(100);
  }
}

describe('SqsWorkQueue', () => {
  it('sends JSON work, receives it once, and forgets it when acked', async () => {
    const work = queue('basic');
    const message = { kind: 'dispatch', connectorId: 'c1', executionId: 'e1', attempt: 1, tags: ['a', null] };
    await work.send(message);
    const [item, ...rest] = await work.receive(10, 1);
    expect(rest).toEqual([]);
    expect(item?.body).toEqual(message);
    expect(item?.receiveCount).toBe(1);
    // Received work is hidden from other workers.
    expect(await work.receive(10, 0)).toEqual([]);
    await work.ack(item!.receipt);
    expect(await work.receive(10, 0)).toEqual([]);
  });

  it('holds delayed work back until its delay has passed', async () => {
    const work = queue('delayed');
    const sentAt = Date.now();
    await work.send({ webhook: 'w1' }, { delaySeconds: 2 });
    expect(await work.receive(10, 0)).toEqual([]);
    const items = await receiveWithin(work, 5000);
    expect(items.map((item) => item.body)).toEqual([{ webhook: 'w1' }]);
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(1900);
  });

  it('re-enqueues work delayed past the longest single-send delay until it is due', async () => {
    // One send carries at most 1 s here (900 s in SQS); a 3 s delay takes several hops.
    const work = queue('deferred', { maxDelaySeconds: 1 });
    const sentAt = Date.now();
    await work.send({ retry: 'webhook-delivery' }, { delaySeconds: 3 });
    const items = await receiveWithin(work, 6000);
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(2900);
    expect(items.map((item) => item.body)).toEqual([{ retry: 'webhook-delivery' }]);
    await work.ack(items[0]!.receipt);
    expect(await work.receive(10, 0)).toEqual([]);
  });

  it('delivers unacked work again after the visibility timeout, counting receives', async () => {
    const work = queue('redelivery');
    await work.send({ n: 1 });
    const [first] = await work.receive(1, 1);
    expect(first?.receiveCount).toBe(1);
    const [second] = await receiveWithin(work, 3000);
    expect(second?.body).toEqual({ n: 1 });
    expect(second?.receiveCount).toBe(2);
    await work.ack(second!.receipt);
  });

  it('extends or ends the visibility of work in progress', async () => {
    const work = queue('redelivery');
    await work.send({ n: 2 });
    const [item] = await work.receive(1, 1);
    await work.extend(item!.receipt, 3);
    await sleep(1500);
    expect(await work.receive(1, 0)).toEqual([]);
    const [again] = await receiveWithin(work, 3000);
    expect(again?.receiveCount).toBe(2);
    // Zero seconds hands the work back at once.
    await work.extend(again!.receipt, 0);
    const [third] = await work.receive(1, 0);
    expect(third?.receiveCount).toBe(3);
    await work.ack(third!.receipt);
  });

  it('moves work to the dead-letter queue after maxReceiveCount receives', async () => {
    const work = queue('redrive');
    const dlq = queue('redrive-dlq');
    await work.send({ webhook: 'failing' });
    for (const count of [1, 2]) {
      const [item] = await receiveWithin(work, 3000);
      expect(item?.receiveCount).toBe(count);
    }
    await sleep(1100);
    expect(await work.receive(10, 0)).toEqual([]);
    const [dead] = await receiveWithin(dlq, 3000);
    expect(dead?.body).toEqual({ webhook: 'failing' });
  });

  it('leaves a body that is not JSON to the redrive policy', async () => {
    const work = queue('poison');
    await client.send(
      new SendMessageCommand({ QueueUrl: standIn.queueUrls.poison, MessageBody: 'not json {' }),
    );
    await work.send({ ok: true });
    const items = await work.receive(10, 1);
    expect(items.map((item) => item.body)).toEqual([{ ok: true }]);
    await work.ack(items[0]!.receipt);
    await sleep(1100);
    expect(await work.receive(10, 0)).toEqual([]);
    const dead = await client.send(
      new ReceiveMessageCommand({ QueueUrl: standIn.queueUrls['poison-dlq'], WaitTimeSeconds: 2 }),
    );
    expect(dead.Messages?.map((message) => message.Body)).toEqual(['not json {']);
  });

  it('receives more than SQS hands out per call', async () => {
    const work = queue('batch');
    const sent = Array.from({ length: 25 }, (_, i) => ({ executionId: `e${i}` }));
    await Promise.all(sent.map((message) => work.send(message)));
    const items = await work.receive(25, 1);
    expect(items).toHaveLength(25);
    expect(items.map((item) => item.body)).toEqual(expect.arrayContaining(sent));
    await Promise.all(items.map((item) => work.ack(item.receipt)));
    expect(await work.receive(25, 0)).toEqual([]);
  });

  it('dedupes by deduplicationId on a FIFO queue, which takes no per-message delay', async () => {
    const work = queue('dispatch.fifo');
    await work.send({ executionId: 'e1' }, { deduplicationId: 'e1' });
    await work.send({ executionId: 'e1' }, { deduplicationId: 'e1' });
    await work.send({ executionId: 'e2' }, { deduplicationId: 'e2' });
    const bodies: unknown[] = [];
    for (let i = 0; i < 3; i++) {
      for (const item of await work.receive(10, 0)) {
        bodies.push(item.body);
        await work.ack(item.receipt);
      }
    }
    expect(bodies).toEqual([{ executionId: 'e1' }, { executionId: 'e2' }]);
    const error = await work
      .send({ x: 1 }, { delaySeconds: 5, deduplicationId: 'x' })
      .catch((e: unknown) => e);
    expect((error as ScError).code).toBe('INVALID_ARGUMENT');
  });

  it('refuses work that is not JSON and negative delays', async () => {
    const work = queue('basic');
    expect(((await work.send(undefined).catch((e: unknown) => e)) as ScError).code).toBe('INVALID_ARGUMENT');
    const negative = await work.send({}, { delaySeconds: -1 }).catch((e: unknown) => e);
    expect(negative).toBeInstanceOf(ScError);
  });
});
