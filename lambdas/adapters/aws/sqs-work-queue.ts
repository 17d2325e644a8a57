import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  type Message,
  type MessageAttributeValue,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { ScError } from '../../core/errors.ts';
import { systemClock, type Clock } from '../../ports/clock.ts';
import type { SendOptions, WorkItem, WorkQueue } from '../../ports/work-queue.ts';

export interface SqsWorkQueueOptions {
  client: SQSClient;
  /** A standard queue, or a FIFO one (its URL ends in `.fifo`). */
  queueUrl: string;
  /** Tells when deferred work is due. Default: the system clock. */
  clock?: Clock;
  /**
   * The longest delay one SQS send can carry, in seconds. Default 900, SQS's maximum; tests lower it to
   * exercise longer delays quickly.
   */
  maxDelaySeconds?: number;
  /** The message group of FIFO sends: one group keeps all work in order. Default `work`. */
  messageGroupId?: string;
}

/** SQS's own limits: https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-messages.html */
const SQS_MAX_DELAY_SECONDS = 900;
const SQS_MAX_BATCH = 10;
const SQS_MAX_WAIT_SECONDS = 20;
const SQS_MAX_VISIBILITY_SECONDS = 12 * 3600;
/** When deferred work is due (epoch ms), on work sent with a delay longer than one send can carry. */
const NOT_BEFORE = 'sc-not-before';

/**
 * A WorkQueue on one SQS queue; bodies are JSON text. The queue's redrive policy, not this adapter,
 * sends work that keeps failing to the dead-letter queue.
 *
 * Delays longer than SQS's 900 s go out with the longest delay SQS allows plus a `sc-not-before`
 * attribute; a `receive` that gets such work early sends it again with the remaining delay and acks the
 * early copy, so it reaches a worker only once due (each hop counts as a fresh message: its receive
 * count starts again at 1).
 */
export class SqsWorkQueue implements WorkQueue {
  private readonly client: SQSClient;
  private readonly queueUrl: string;
  private readonly clock: Clock;
  private readonly maxDelaySeconds: number;
  private readonly messageGroupId: string;
  private readonly fifo: boolean;

  constructor(options: SqsWorkQueueOptions) {
    this.client = options.client;
    this.queueUrl = options.queueUrl;
    this.clock = options.clock ?? systemClock;
    this.maxDelaySeconds = Math.min(options.maxDelaySeconds ?? SQS_MAX_DELAY_SECONDS, SQS_MAX_DELAY_SECONDS);
    this.messageGroupId = options.messageGroupId ?? 'work';
    this.fifo = options.queueUrl.endsWith('.fifo');
  }

  /**
   * On a standard queue `deduplicationId` is not passed on (SQS refuses it there): its delivery is at
   * least once anyway, so workers dedupe by the work's own id. FIFO queues take no per-message delay.
   */
  async send(message: unknown, options: SendOptions = {}): Promise<void> {
    const delaySeconds = Math.ceil(options.delaySeconds ?? 0);
    if (!Number.isFinite(delaySeconds) || delaySeconds < 0) {
      throw new ScError(
        'INVALID_ARGUMENT',
        `A delay is a number of seconds ≥ 0, not ${options.delaySeconds}.`,
      );
    }
    if (this.fifo && delaySeconds > 0) {
      throw new ScError('INVALID_ARGUMENT', 'A FIFO queue takes no per-message delay; use a standard queue.');
    }
    const body = JSON.stringify(message);
    if (body === undefined) throw new ScError('INVALID_ARGUMENT', 'Work must be a JSON value.');
    const notBefore = this.clock.now().getTime() + delaySeconds * 1000;
    await this.sendRaw(
      body,
      delaySeconds,
      delaySeconds > this.maxDelaySeconds ? notBefore : undefined,
      options,
    );
  }

  async receive(max: number, waitSeconds: number): Promise<WorkItem[]> {
    const items: WorkItem[] = [];
    let wait = Math.min(Math.max(Math.ceil(waitSeconds), 0), SQS_MAX_WAIT_SECONDS);
    // SQS returns at most 10 per call; keep asking, without waiting, until `max` or the queue looks empty.
    while (items.length < max) {
      const { Messages: messages = [] } = await this.call('receive', () =>
        this.client.send(
          new ReceiveMessageCommand({
            QueueUrl: this.queueUrl,
            MaxNumberOfMessages: Math.min(max - items.length, SQS_MAX_BATCH),
            WaitTimeSeconds: wait,
            MessageSystemAttributeNames: ['ApproximateReceiveCount'],
            MessageAttributeNames: [NOT_BEFORE],
          }),
        ),
      );
      if (messages.length === 0) break;
      wait = 0;
      for (const message of messages) {
        const item = await this.accept(message);
        if (item !== undefined) items.push(item);
      }
    }
    return items;
  }

  async ack(receipt: string): Promise<void> {
    await this.call('ack', () =>
      this.client.send(new DeleteMessageCommand({ QueueUrl: this.queueUrl, ReceiptHandle: receipt })),
    );
  }

  async extend(receipt: string, seconds: number): Promise<void> {
    const visibility = Math.min(Math.max(Math.ceil(seconds), 0), SQS_MAX_VISIBILITY_SECONDS);
    await this.call('extend', () =>
      this.client.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: this.queueUrl,
          ReceiptHandle: receipt,
          VisibilityTimeout: visibility,
        }),
      ),
    );
  }

  /**
   * The work item of a received message, or nothing when the message is not for a worker yet: deferred
   * work not yet due is sent on; a body that is not JSON is left unacked, so the redrive policy moves it to
   * the dead-letter queue for a person to look at.
   */
  private async accept(message: Message): Promise<WorkItem | undefined> {
    if (message.ReceiptHandle === undefined || message.Body === undefined) return undefined;
    const notBefore = Number(message.MessageAttributes?.[NOT_BEFORE]?.StringValue ?? Number.NaN);
    const remainingSeconds = Math.ceil((notBefore - this.clock.now().getTime()) / 1000);
    if (remainingSeconds > 0) {
      await this.sendRaw(
        message.Body,
        remainingSeconds,
        remainingSeconds > this.maxDelaySeconds ? notBefore : undefined,
      );
      await this.ack(message.ReceiptHandle);
      return undefined;
    }
    let body: unknown;
    try {
      body = JSON.parse(message.Body);
    } catch {
      return undefined;
    }
    const receiveCount = Number(message.Attributes?.ApproximateReceiveCount ?? 1);
    return { body, receipt: message.ReceiptHandle, receiveCount };
  }

  private async sendRaw(
    body: string,
    delaySeconds: number,
    notBefore?: number,
    options: SendOptions = {},
  ): Promise<void> {
    const attributes: Record<string, MessageAttributeValue> = {};
    if (notBefore !== undefined)
      attributes[NOT_BEFORE] = { DataType: 'Number', StringValue: String(notBefore) };
    await this.call('send', () =>
      this.client.send(
        new SendMessageCommand({
          QueueUrl: this.queueUrl,
          MessageBody: body,
          DelaySeconds: this.fifo ? undefined : Math.min(delaySeconds, this.maxDelaySeconds),
          MessageAttributes: notBefore === undefined ? undefined : attributes,
          MessageGroupId: this.fifo ? this.messageGroupId : undefined,
          MessageDeduplicationId: this.fifo ? options.deduplicationId : undefined,
        }),
      ),
    );
  }

  /** SQS errors the SDK's own retries did not cure: throttling and server errors are worth a later retry. */
  private async call<T>(action: string, request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (error) {
      const status = (error as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode ?? 0;
      if (status === 429 || status >= 500) {
        throw new ScError('QUEUE_UNAVAILABLE', `SQS failed to ${action} on ${this.queueUrl}; try again.`, {
          retryable: true,
          cause: error,
        });
      }
      throw error;
    }
  }
}
