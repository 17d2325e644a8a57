import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { Pipeline } from './pipeline.ts';
import { Storage, type StorageProps } from './storage.ts';

export interface SmartConnectorStackProps extends StackProps {
  readonly storage?: StorageProps;
  /**
   * The sender of notification emails (a verified SES identity).
   * @default 'SmartConnector <no-reply@example.com>'
   */
  readonly mailFrom?: string;
}

/**
 * The SmartConnector platform on AWS. So far: its storage (tables and buckets) and the pipeline (the
 * state machine and its task Lambdas). The API, ingest and schedules come next.
 */
export class SmartConnectorStack extends Stack {
  readonly storage: Storage;
  readonly pipeline: Pipeline;

  constructor(scope: Construct, id: string, props: SmartConnectorStackProps = {}) {
    super(scope, id, props);
    this.storage = new Storage(this, 'Storage', props.storage);
    this.pipeline = new Pipeline(this, 'Pipeline', {
      storage: this.storage,
      mailFrom: props.mailFrom ?? 'SmartConnector <no-reply@example.com>',
    });
    new CfnOutput(this, 'IngestBucketName', { value: this.storage.ingestBucket.bucketName });
    new CfnOutput(this, 'ArtifactsBucketName', { value: this.storage.artifactsBucket.bucketName });
    new CfnOutput(this, 'ControlTableName', { value: this.storage.controlTable.tableName });
    new CfnOutput(this, 'RecordsTableName', { value: this.storage.recordsTable.tableName });
    new CfnOutput(this, 'StateMachineArn', { value: this.pipeline.stateMachine.stateMachineArn });
    new CfnOutput(this, 'RecordEventBusName', { value: this.pipeline.eventBus.eventBusName });
  }
}
