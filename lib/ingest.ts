import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as lambdaEvents from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3n from 'aws-cdk-lib/aws-s3-notifications';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { DROPS_PREFIX } from '../lambdas/core/drops.ts';
import { handlerFunction, suppressHandlerFindings } from './handler-function.ts';
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
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    this.queue = new sqs.Queue(this, 'Queue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // Six times the register Lambda's timeout, as Lambda's SQS event source advises.
      visibilityTimeout: Duration.minutes(12),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: 5 },
    });
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

    new cloudwatch.Alarm(this, 'DeadLetterAlarm', {
      alarmDescription:
        'An S3 drop could not be registered after 5 tries (see the register Lambda logs); the file is still in the ingest bucket.',
      metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5) }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
  }
}
