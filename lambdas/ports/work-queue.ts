/**
 * Work handed from one stage to a later worker: queued executions waiting for a concurrency slot
 * (dispatch) and webhook deliveries waiting for their next retry. Delivery is at least once, so a worker
 * must be idempotent; work it does not `ack` comes back after its visibility timeout, and moves to a
 * dead-letter queue after the queue's maximum number of receives. Bodies are JSON values.
 */
export interface WorkQueue {
  send(message: unknown, options?: SendOptions): Promise<void>;
  /**
   * Up to `max` items, waiting at most `waitSeconds` for the first one; `[]` when none came. Received
   * items stay hidden from other workers until acked, or until their visibility timeout passes.
   */
  receive(max: number, waitSeconds: number): Promise<WorkItem[]>;
  /** Marks the work done, so it is never delivered again. */
  ack(receipt: string): Promise<void>;
  /** Keeps an item hidden `seconds` from now, for work that outlasts the visibility timeout. */
  extend?(receipt: string, seconds: number): Promise<void>;
}

export interface SendOptions {
  /** Deliver no earlier than this many seconds from now. Default 0. */
  delaySeconds?: number;
  /** Work sent twice with the same id within a few minutes is delivered once, where the queue can. */
  deduplicationId?: string;
}

export interface WorkItem {
  body: unknown;
  /** The handle for `ack` and `extend`; valid for this delivery only. */
  receipt: string;
  /** 1 on first delivery; more when earlier deliveries were not acked in time. */
  receiveCount: number;
}
