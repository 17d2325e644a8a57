import { App, Aspects } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { TABLE_DESIGNS } from '../../lambdas/adapters/aws/dynamodb-tables.ts';
import { SmartConnectorStack } from '../../lib/smart-connector-stack.ts';

describe('the CDK stack (offline synth, no account)', () => {
  let template: Template;
  let annotations: Annotations;
  beforeAll(() => {
    const app = new App();
    const stack = new SmartConnectorStack(app, 'Test');
    Aspects.of(app).add(new AwsSolutionsChecks({ verbose: true }));
    template = Template.fromStack(stack);
    annotations = Annotations.fromStack(stack);
  });

  it('passes the cdk-nag AwsSolutions pack: no unsuppressed errors or warnings', () => {
    const awsSolutions = Match.stringLikeRegexp('AwsSolutions-.*');
    expect(annotations.findError('*', awsSolutions)).toEqual([]);
    expect(annotations.findWarning('*', awsSolutions)).toEqual([]);
  });

  it('has the control and records tables keyed as the local stand-in, on demand, with PITR and encryption', () => {
    template.resourceCountIs('AWS::DynamoDB::GlobalTable', 2);
    const tables = template.findResources('AWS::DynamoDB::GlobalTable');
    for (const table of Object.values(tables)) {
      const props = table.Properties;
      expect(props.BillingMode).toBe('PAY_PER_REQUEST');
      expect(props.KeySchema).toEqual([
        { AttributeName: TABLE_DESIGNS.records.partitionKey.name, KeyType: 'HASH' },
        { AttributeName: TABLE_DESIGNS.records.sortKey.name, KeyType: 'RANGE' },
      ]);
      expect(props.GlobalSecondaryIndexes).toEqual([
        expect.objectContaining({
          IndexName: 'gsi1',
          KeySchema: [
            { AttributeName: 'gsi1pk', KeyType: 'HASH' },
            { AttributeName: 'gsi1sk', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        }),
      ]);
      expect(props.SSESpecification).toEqual({ SSEEnabled: true, SSEType: 'KMS' });
      expect(props.Replicas[0].PointInTimeRecoverySpecification).toEqual({
        PointInTimeRecoveryEnabled: true,
      });
      expect(table.DeletionPolicy).toBe('Retain');
    }
  });

  it('has encrypted, private, SSL-only buckets; the ingest bucket is versioned', () => {
    template.resourceCountIs('AWS::S3::Bucket', 3);
    template.allResourcesProperties('AWS::S3::Bucket', {
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
    });
    template.hasResourceProperties('AWS::S3::Bucket', {
      VersioningConfiguration: { Status: 'Enabled' },
      LoggingConfiguration: { LogFilePrefix: 'ingest/' },
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('delivers server access logs through a bucket policy, with ACLs disabled on every bucket', () => {
    template.allResourcesProperties('AWS::S3::Bucket', { AccessControl: Match.absent() });
    template.hasResourceProperties('AWS::S3::Bucket', {
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
      LoggingConfiguration: Match.absent(),
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 'logging.s3.amazonaws.com' },
            Action: 's3:PutObject',
          }),
        ]),
      },
    });
  });

  it('outputs the bucket and table names', () => {
    const outputs = Object.keys(template.findOutputs('*'));
    expect(outputs).toEqual(
      expect.arrayContaining([
        'IngestBucketName',
        'ArtifactsBucketName',
        'ControlTableName',
        'RecordsTableName',
      ]),
    );
  });
});
