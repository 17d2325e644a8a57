import { Duration } from 'aws-cdk-lib';
import * as lambdaEvents from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3n from 'aws-cdk-lib/aws-s3-notifications';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { DROPS_PREFIX } from '../lambdas/core/drops.ts';
import { handlerFunction, suppressHandlerFindings } from './handler-function.ts';
import { QueueWithDeadLetters } from './queue-with-dead-letters.ts';
import type { Pipeline } from './pipeline.ts';
import type { Storage } from './storage.ts';

export interface IngestProps {
  readonly storage: Storage;
  readonly pipeline: Pipeline;
}

/**
 * S3 drops (DESIGN "AWS topology"): objects created under `drops/` in the ingest bucket are announced
 * to the ingest queue; the register Lambda registers one execution per object version and dispatches.
 * A message that keeps failing (an unknown connector, say) moves to the dead-letter queue after 5
 * receives, and an alarm fires as soon as that queue holds anything: the file itself stays in the bucket.
 */
export class Ingest extends Construct {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  readonly registerFunction: lambda.Function;

  constructor(scope: Construct, id: string, props: IngestProps) {
    super(scope, id);
    const { storage, pipeline } = props;
    const queues = new QueueWithDeadLetters(this, 'Queue', {
      visibilityTimeout: Duration.minutes(12), // six times the register Lambda's timeout
      alarmDescription:
        'An S3 drop could not be registered after 5 tries (see the register Lambda logs); the file is still in the ingest bucket.',
    });
    this.queue = queues.queue;
    this.deadLetterQueue = queues.deadLetterQueue;
    storage.ingestBucket.addEventNotification(
      s3.EventType.OBJECT_CREATED,
      new s3n.SqsDestination(this.queue),
      { prefix: DROPS_PREFIX },
    );

    const register = handlerFunction(this, 'Register', 'register-drop', {
      memoryMiB: 1024,
      timeout: Duration.minutes(2),
      environment: pipeline.environment,
    });
    register.addEventSource(
      new lambdaEvents.SqsEventSource(this.queue, { batchSize: 10, reportBatchItemFailures: true }),
    );
    storage.ingestBucket.grantRead(register, `${DROPS_PREFIX}*`);
    pipeline.grantDispatch(register);
    this.registerFunction = register;
    suppressHandlerFindings(this);
  }
}
