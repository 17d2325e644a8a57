import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as cxapi from 'aws-cdk-lib/cx-api';
import { Construct } from 'constructs';
import { TABLE_DESIGNS, type TableDesign } from '../lambdas/adapters/aws/dynamodb-tables.ts';

export interface StorageProps {
  /**
   * What happens to tables and buckets when the stack is deleted.
   * @default RemovalPolicy.RETAIN — records and reports outlive a stack deletion.
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Days an execution's artifacts (inputs, SQL output, chunks, results, reports) are kept.
   * @default 90
   */
  readonly artifactRetentionDays?: number;
}

/**
 * Where the platform keeps its state (DESIGN "AWS topology"): the control and records tables, on-demand
 * with point-in-time recovery, keyed exactly as the local stand-in (`TABLE_DESIGNS`); the versioned
 * ingest bucket (`drops/<apiName>/…`, presigned uploads) and the artifacts bucket, both writing server
 * access logs to a log bucket. Everything is encrypted, buckets block public access, disable ACLs and
 * refuse plain HTTP, and the whole construct passes cdk-nag's AwsSolutions pack without suppressions.
 */
export class Storage extends Construct {
  readonly controlTable: dynamodb.TableV2;
  readonly recordsTable: dynamodb.TableV2;
  readonly ingestBucket: s3.Bucket;
  readonly artifactsBucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: StorageProps = {}) {
    super(scope, id);
    // S3 log delivery through a bucket policy instead of the legacy LogDeliveryWrite ACL, so the log bucket
    // keeps ACLs disabled (https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html).
    // Set here, before any child exists, so it holds whatever the app's feature flags say.
    this.node.setContext(cxapi.S3_SERVER_ACCESS_LOGS_USE_BUCKET_POLICY, true);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    this.controlTable = this.table('ControlTable', TABLE_DESIGNS.control, removalPolicy);
    this.recordsTable = this.table('RecordsTable', TABLE_DESIGNS.records, removalPolicy);

    const accessLogs = new s3.Bucket(this, 'AccessLogs', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      removalPolicy,
      lifecycleRules: [{ expiration: Duration.days(365) }],
    });
    this.ingestBucket = new s3.Bucket(this, 'IngestBucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      // One execution per object version: the version id is part of the execution's identity.
      versioned: true,
      removalPolicy,
      serverAccessLogsBucket: accessLogs,
      serverAccessLogsPrefix: 'ingest/',
      lifecycleRules: [
        // Abandoned multipart uploads (presigned uploads never started, failed copies) hold storage.
        { abortIncompleteMultipartUploadAfter: Duration.days(1) },
        { noncurrentVersionExpiration: Duration.days(30) },
        // Presigned uploads: starting one copies the file into the artifacts bucket, so what stays under
        // uploads/ is garbage after a day, its old versions and delete markers included (docs/uploads.md).
        { prefix: 'uploads/', expiration: Duration.days(1), noncurrentVersionExpiration: Duration.days(1) },
        { prefix: 'uploads/', expiredObjectDeleteMarker: true },
      ],
    });
    this.artifactsBucket = new s3.Bucket(this, 'ArtifactsBucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      removalPolicy,
      serverAccessLogsBucket: accessLogs,
      serverAccessLogsPrefix: 'artifacts/',
      lifecycleRules: [
        { prefix: 'executions/', expiration: Duration.days(props.artifactRetentionDays ?? 90) },
        // Dev packages are built per request and handed out through a presigned URL.
        { prefix: 'dev-packages/', expiration: Duration.days(1) },
      ],
    });
  }

  /**
   * Presigned uploads (docs/uploads.md): the grantee presigns PUTs and multipart uploads under `uploads/`
   * of the ingest bucket (a presigned URL acts with its signer's rights), lists and completes them, and
   * reads them to copy them into the artifacts bucket.
   */
  grantUploads(grantee: iam.IGrantable): void {
    this.ingestBucket.grantReadWrite(grantee, 'uploads/*');
  }

  private table(id: string, design: TableDesign, removalPolicy: RemovalPolicy): dynamodb.TableV2 {
    const key = (a: { name: string }) => ({ name: a.name, type: dynamodb.AttributeType.STRING });
    return new dynamodb.TableV2(this, id, {
      partitionKey: key(design.partitionKey),
      sortKey: key(design.sortKey),
      billing: dynamodb.Billing.onDemand(),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryptionV2.awsManagedKey(),
      removalPolicy,
      globalSecondaryIndexes: design.globalSecondaryIndexes.map((index) => ({
        indexName: index.indexName,
        partitionKey: key(index.partitionKey),
        sortKey: key(index.sortKey),
        projectionType: dynamodb.ProjectionType.ALL,
      })),
    });
  }
}
