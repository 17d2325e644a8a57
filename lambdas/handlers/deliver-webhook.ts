import { z } from 'zod';
import { continueWebhookDelivery } from '../pipeline/notify.ts';
import { awsEnvironment, awsPorts } from './aws-ports.ts';
import { sqsHandler } from './sqs-handler.ts';

const RetryMessage = z.object({
  executionId: z.string().min(1),
  attempts: z.number().int().min(1),
  firstAttemptAt: z.string(),
});

/** The webhook queue's consumer: the next attempt of a pending execution-ended webhook. */
export const handler = sqsHandler(
  'deliver-webhook',
  () => awsPorts(awsEnvironment()),
  (ports, body) => continueWebhookDelivery(ports, RetryMessage.parse(body)),
);
