import { z } from 'zod';
import { errorMessage } from '../core/errors.ts';

const SqsEvent = z.object({
  Records: z.array(z.object({ messageId: z.string(), body: z.string() })),
});

export interface SqsBatchResponse {
  batchItemFailures: Array<{ itemIdentifier: string }>;
}

/**
 * A Lambda handler for an SQS event source: each message's JSON body goes to `handle`; one that fails is
 * reported as a batch item failure, so SQS retries only it and then moves it to the dead-letter queue.
 * `context` is built once per container.
 */
export function sqsHandler<C>(
  name: string,
  makeContext: () => C,
  handle: (context: C, body: unknown) => Promise<void>,
): (event: unknown) => Promise<SqsBatchResponse> {
  let context: C | undefined;
  return async (event) => {
    context ??= makeContext();
    const failures: SqsBatchResponse['batchItemFailures'] = [];
    for (const record of SqsEvent.parse(event).Records) {
      try {
        await handle(context, JSON.parse(record.body) as unknown);
      } catch (error) {
        console.error(`${name}: message ${record.messageId} failed: ${errorMessage(error)}`);
        failures.push({ itemIdentifier: record.messageId });
      }
    }
    return { batchItemFailures: failures };
  };
}
