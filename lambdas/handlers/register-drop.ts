import { z } from 'zod';
import { errorMessage } from '../core/errors.ts';
import { handleIngestMessage } from '../pipeline/s3-drops.ts';
import { awsEnvironment, awsIngestStore, awsPorts } from './aws-ports.ts';

const SqsEvent = z.object({
  Records: z.array(z.object({ messageId: z.string(), body: z.string() })),
});

let container: { ports: ReturnType<typeof awsPorts>; ingest: ReturnType<typeof awsIngestStore> } | undefined;

/**
 * The ingest queue's consumer: every S3 event notification registers the executions of the files dropped
 * under `drops/<apiName>/` (lambdas/pipeline/s3-drops.ts). A message that fails is reported as a batch
 * item failure, so SQS retries only it and then moves it to the dead-letter queue.
 */
export async function handler(
  event: unknown,
): Promise<{ batchItemFailures: Array<{ itemIdentifier: string }> }> {
  if (!container) {
    const env = awsEnvironment();
    container = { ports: awsPorts(env), ingest: awsIngestStore(env) };
  }
  const failures: Array<{ itemIdentifier: string }> = [];
  for (const record of SqsEvent.parse(event).Records) {
    try {
      await handleIngestMessage(container.ports, container.ingest, JSON.parse(record.body) as unknown);
    } catch (error) {
      console.error(`Ingest message ${record.messageId} failed: ${errorMessage(error)}`);
      failures.push({ itemIdentifier: record.messageId });
    }
  }
  return { batchItemFailures: failures };
}
