import type { AddressInfo } from 'node:net';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { buildApp } from 'fauxqs';
import { addMultipartCalls } from './fauxqs-multipart.ts';

/**
 * The embedded S3 and SQS of the local runtime: fauxqs, one in-process server speaking both wire
 * protocols, so the AWS adapters (`S3BlobStore`, `SqsWorkQueue`) run unchanged against it. Version 1.x
 * keeps everything in memory; it delivers no bucket notifications and does not check presigned
 * signatures. It lacks ListParts and UploadPartCopy, which `fauxqs-multipart.ts` adds, and takes at most
 * 11 MiB per request.
 */

export interface StandInQueue {
  name: string;
  /** The name of this queue's dead-letter queue; created too when not listed itself. */
  dlq?: string;
  /** Receives after which a message moves to `dlq`. Default 3; ignored without `dlq`. */
  maxReceiveCount?: number;
  /** Default 30, as in SQS. */
  visibilityTimeoutSeconds?: number;
}

export interface S3SqsStandInOptions {
  /** Buckets to create. fauxqs checks names as S3 does (3 to 63 characters). */
  buckets?: string[];
  /** Queues to create, with their redrive policies. A name ending in `.fifo` makes a FIFO queue. */
  queues?: StandInQueue[];
}

export interface S3SqsStandIn {
  /** `http://127.0.0.1:<port>`, for `s3ClientFor`/`sqsClientFor` or `AWS_ENDPOINT_URL_S3`/`…_SQS`. */
  endpoint: string;
  /** The URL of every created queue (dead-letter queues included), by name. */
  queueUrls: Record<string, string>;
  /** Closes the server; everything in it is gone. Safe to call twice. */
  stop(): Promise<void>;
}

const DEFAULT_MAX_RECEIVE_COUNT = 3;

export async function startS3SqsStandIn(options: S3SqsStandInOptions = {}): Promise<S3SqsStandIn> {
  // fauxqs's own server (startFauxqs) cannot take hooks, so its app is built and started here.
  const app = buildApp({ logger: false });
  addMultipartCalls(app);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const endpoint = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  let stopped: Promise<void> | undefined;
  const stop = () => (stopped ??= app.close().then(() => undefined));
  const s3 = s3ClientFor(endpoint);
  const sqs = sqsClientFor(endpoint);
  try {
    for (const bucket of options.buckets ?? []) await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const queueUrls = await createQueues(options.queues ?? [], async (name, attributes) => {
      const fifo: Record<string, string> = name.endsWith('.fifo') ? { FifoQueue: 'true' } : {};
      const created = await sqs.send(
        new CreateQueueCommand({ QueueName: name, Attributes: { ...fifo, ...attributes } }),
      );
      const queueUrl = created.QueueUrl!;
      const { Attributes } = await sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }),
      );
      return { queueUrl, queueArn: Attributes!.QueueArn! };
    });
    return { endpoint, queueUrls, stop };
  } catch (error) {
    await stop();
    throw error;
  } finally {
    s3.destroy();
    sqs.destroy();
  }
}

type CreateQueue = (
  name: string,
  attributes: Record<string, string>,
) => Promise<{ queueUrl: string; queueArn: string }>;

/** Dead-letter queues first, since a redrive policy names its target by ARN. */
async function createQueues(queues: StandInQueue[], create: CreateQueue): Promise<Record<string, string>> {
  const urls: Record<string, string> = {};
  const arns = new Map<string, string>();
  const listed = new Map(queues.map((queue) => [queue.name, queue]));
  const ensure = async (name: string): Promise<string> => {
    const known = arns.get(name);
    if (known) return known;
    const queue = listed.get(name) ?? { name };
    const attributes: Record<string, string> = {};
    if (queue.visibilityTimeoutSeconds !== undefined) {
      attributes.VisibilityTimeout = String(queue.visibilityTimeoutSeconds);
    }
    if (queue.dlq !== undefined) {
      attributes.RedrivePolicy = JSON.stringify({
        deadLetterTargetArn: await ensure(queue.dlq),
        maxReceiveCount: queue.maxReceiveCount ?? DEFAULT_MAX_RECEIVE_COUNT,
      });
    }
    const { queueUrl, queueArn } = await create(name, attributes);
    urls[name] = queueUrl;
    arns.set(name, queueArn);
    return queueArn;
  };
  for (const queue of queues) await ensure(queue.name);
  return urls;
}

/** An S3 client for the stand-in: path-style addressing (no bucket subdomains), dummy credentials. */
export function s3ClientFor(endpoint: string): S3Client {
  return new S3Client({
    region: 'us-east-1',
    endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
}

export function sqsClientFor(endpoint: string): SQSClient {
  return new SQSClient({
    region: 'us-east-1',
    endpoint,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
}
