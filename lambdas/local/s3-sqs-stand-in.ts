import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { startFauxqs } from 'fauxqs';

/**
 * The embedded S3 and SQS of the local runtime: fauxqs, one in-process server speaking both wire
 * protocols, so the AWS adapters (`S3BlobStore`, `SqsWorkQueue`) run unchanged against it. Version 1.x
 * keeps everything in memory; it delivers no bucket notifications and does not check presigned
 * signatures.
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
  // fauxqs always listens on 0.0.0.0; clients are pointed at the loopback address.
  const server = await startFauxqs({ port: 0, logger: false });
  const endpoint = `http://127.0.0.1:${server.port}`;
  try {
    for (const bucket of options.buckets ?? []) server.createBucket(bucket);
    const queueUrls = createQueues(options.queues ?? [], (name, attributes) => {
      const fifo: Record<string, string> = name.endsWith('.fifo') ? { FifoQueue: 'true' } : {};
      return server.createQueue(name, { attributes: { ...fifo, ...attributes } });
    });
    let stopped: Promise<void> | undefined;
    return { endpoint, queueUrls, stop: () => (stopped ??= server.stop()) };
  } catch (error) {
    await server.stop();
    throw error;
  }
}

type CreateQueue = (
  name: string,
  attributes: Record<string, string>,
) => { queueUrl: string; queueArn: string };

/** Dead-letter queues first, since a redrive policy names its target by ARN. */
function createQueues(queues: StandInQueue[], create: CreateQueue): Record<string, string> {
  const urls: Record<string, string> = {};
  const arns = new Map<string, string>();
  const listed = new Map(queues.map((queue) => [queue.name, queue]));
  const ensure = (name: string): string => {
    const known = arns.get(name);
    if (known) return known;
    const queue = listed.get(name) ?? { name };
    const attributes: Record<string, string> = {};
    if (queue.visibilityTimeoutSeconds !== undefined) {
      attributes.VisibilityTimeout = String(queue.visibilityTimeoutSeconds);
    }
    if (queue.dlq !== undefined) {
      attributes.RedrivePolicy = JSON.stringify({
        deadLetterTargetArn: ensure(queue.dlq),
        maxReceiveCount: queue.maxReceiveCount ?? DEFAULT_MAX_RECEIVE_COUNT,
      });
    }
    const { queueUrl, queueArn } = create(name, attributes);
    urls[name] = queueUrl;
    arns.set(name, queueArn);
    return queueArn;
  };
  for (const queue of queues) ensure(queue.name);
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
