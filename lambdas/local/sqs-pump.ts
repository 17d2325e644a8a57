import { errorMessage } from '../core/errors.ts';
import type { WorkQueue } from '../ports/work-queue.ts';

/**
 * What Lambda's SQS event source does, for the local runtime: receives what a queue holds and hands
 * each message body to the same function the Lambda handler calls. A message handled without error is
 * deleted; one that fails is left, so it comes back after the visibility timeout and, after the
 * queue's maximum receives, moves to its dead-letter queue. Returns once the queue gave nothing.
 */
export async function pumpQueue(
  queue: WorkQueue,
  handle: (body: unknown) => Promise<void>,
): Promise<{ handled: number; failed: number }> {
  let handled = 0;
  let failed = 0;
  for (;;) {
    const items = await queue.receive(10, 0);
    if (items.length === 0) return { handled, failed };
    for (const item of items) {
      try {
        await handle(item.body);
        await queue.ack(item.receipt);
        handled++;
      } catch (error) {
        process.emitWarning(`A queued message failed and will be retried: ${errorMessage(error)}`);
        failed++;
      }
    }
  }
}
