import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import { NagSuppressions } from 'cdk-nag';
import type { Construct } from 'constructs';
import { Api } from './api.ts';
import { Ingest } from './ingest.ts';
import { Pipeline, type ClickHouseProps } from './pipeline.ts';
import { Schedules } from './schedules.ts';
import { Storage, type StorageProps } from './storage.ts';

export interface SmartConnectorStackProps extends StackProps {
  readonly storage?: StorageProps;
  /**
   * The sender of notification emails (a verified SES identity).
   * @default 'SmartConnector <no-reply@example.com>'
   */
  readonly mailFrom?: string;
  /** The ClickHouse service that runs connector SQL (docs/clickhouse-cloud.md). */
  readonly clickHouse?: ClickHouseProps;
}

/**
 * The SmartConnector platform on AWS. So far: its storage (tables and buckets) and the pipeline (the
 * state machine and its task Lambdas) the ingest of S3 drops, the HTTP API and the connector schedules.
 */
export class SmartConnectorStack extends Stack {
  readonly storage: Storage;
  readonly pipeline: Pipeline;
  readonly ingest: Ingest;
  readonly api: Api;
  readonly schedules: Schedules;

  constructor(scope: Construct, id: string, props: SmartConnectorStackProps = {}) {
    super(scope, id, props);
    this.storage = new Storage(this, 'Storage', props.storage);
    this.pipeline = new Pipeline(this, 'Pipeline', {
      storage: this.storage,
      mailFrom: props.mailFrom ?? 'SmartConnector <no-reply@example.com>',
      ...(props.clickHouse ? { clickHouse: props.clickHouse } : {}),
    });
    this.ingest = new Ingest(this, 'Ingest', { storage: this.storage, pipeline: this.pipeline });
    this.api = new Api(this, 'Api', { pipeline: this.pipeline });
    // Presigned uploads: the API creates, completes and copies them in the ingest bucket (docs/uploads.md).
    this.storage.grantUploads(this.api.apiFunction);
    // Connector cadences: the API Lambda saves and (de)activates connectors, so it keeps their schedules.
    this.schedules = new Schedules(this, 'Schedules', { pipeline: this.pipeline });
    this.schedules.grantManage(this.api.apiFunction);
    // S3 notifications to SQS are configured by CDK's own singleton Lambda (a custom resource).
    NagSuppressions.addResourceSuppressionsByPath(
      this,
      `/${this.stackName}/BucketNotificationsHandler050a0587b7544547bf325f094a3db834/Role/Resource`,
      [
        {
          id: 'AwsSolutions-IAM4',
          reason:
            "CDK's BucketNotificationsHandler custom resource uses AWSLambdaBasicExecutionRole for its logs.",
        },
      ],
    );
    new CfnOutput(this, 'IngestBucketName', { value: this.storage.ingestBucket.bucketName });
    new CfnOutput(this, 'ArtifactsBucketName', { value: this.storage.artifactsBucket.bucketName });
    new CfnOutput(this, 'ControlTableName', { value: this.storage.controlTable.tableName });
    new CfnOutput(this, 'RecordsTableName', { value: this.storage.recordsTable.tableName });
    new CfnOutput(this, 'StateMachineArn', { value: this.pipeline.stateMachine.stateMachineArn });
    new CfnOutput(this, 'IngestDeadLetterQueueUrl', { value: this.ingest.deadLetterQueue.queueUrl });
    new CfnOutput(this, 'RecordEventBusName', { value: this.pipeline.eventBus.eventBusName });
    new CfnOutput(this, 'ScheduleGroupName', { value: this.schedules.group.scheduleGroupName });
  }
}
