import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { Storage, type StorageProps } from './storage.ts';

export interface SmartConnectorStackProps extends StackProps {
  readonly storage?: StorageProps;
}

/**
 * The SmartConnector platform on AWS. So far: its storage (tables and buckets). The API, ingest,
 * pipeline state machine and schedules come with the serverless issue.
 */
export class SmartConnectorStack extends Stack {
  readonly storage: Storage;

  constructor(scope: Construct, id: string, props: SmartConnectorStackProps = {}) {
    super(scope, id, props);
    this.storage = new Storage(this, 'Storage', props.storage);
    new CfnOutput(this, 'IngestBucketName', { value: this.storage.ingestBucket.bucketName });
    new CfnOutput(this, 'ArtifactsBucketName', { value: this.storage.artifactsBucket.bucketName });
    new CfnOutput(this, 'ControlTableName', { value: this.storage.controlTable.tableName });
    new CfnOutput(this, 'RecordsTableName', { value: this.storage.recordsTable.tableName });
  }
}
