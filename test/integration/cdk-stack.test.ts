import type { CfnElement } from 'aws-cdk-lib';
import { App, Aspects } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { TABLE_DESIGNS } from '../../lambdas/adapters/aws/dynamodb-tables.ts';
import { renderPipelineAsl } from '../../lib/render-asl.ts';
import { SmartConnectorStack } from '../../lib/smart-connector-stack.ts';

describe('the CDK stack (offline synth, no account)', () => {
  let template: Template;
  let annotations: Annotations;
  let stack: SmartConnectorStack;
  beforeAll(() => {
    // Lambda bundling (esbuild) is skipped here; `cdk synth` bundles (test/integration/cdk-synth.test.ts).
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    stack = new SmartConnectorStack(app, 'Test');
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
        'StateMachineArn',
        'IngestDeadLetterQueueUrl',
        'RecordEventBusName',
      ]),
    );
  });

  it('runs one Standard state machine: Prepare → RunSql → LoadSteps (one step at a time) → BuildReport → Finalize → Notify', () => {
    template.resourceCountIs('AWS::StepFunctions::StateMachine', 1);
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineType: 'STANDARD',
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: Match.objectLike({ Level: 'ALL' }),
    });
    const asl = renderedAsl(stack);
    expect(asl.StartAt).toBe('Prepare');
    const states = asl.States;
    expect(Object.keys(states)).toEqual(
      expect.arrayContaining([
        'Prepare',
        'Started?',
        'RunSql',
        'SqlOk?',
        'LoadSteps',
        'BuildReport',
        'Finalize',
        'Notify',
      ]),
    );
    expect(states.Prepare!.Next).toBe('Started?');
    expect(states.RunSql!.Next).toBe('SqlOk?');
    expect(states.LoadSteps!).toMatchObject({
      Type: 'Map',
      MaxConcurrency: 1,
      ItemsPath: '$.sql.steps',
      Next: 'BuildReport',
    });
    expect(states.LoadSteps!.ItemProcessor.StartAt).toBe('LoadChunks');
    expect(states.LoadSteps!.ItemProcessor.States['StepDone?']!.Default).toBe('LoadChunks');
    expect(states.BuildReport!.Next).toBe('Finalize');
    expect(states.Finalize!.Next).toBe('Notify');
    // Every stage before Finalize catches into it; every task retries with backoff and jitter.
    for (const name of ['Prepare', 'RunSql', 'LoadSteps', 'BuildReport']) {
      expect(states[name]!.Catch).toEqual([
        { ErrorEquals: ['States.ALL'], ResultPath: '$.failure', Next: 'Finalize' },
      ]);
    }
    const tasks = [...Object.values(states), ...Object.values(states.LoadSteps!.ItemProcessor.States)].filter(
      (s) => s.Type === 'Task',
    );
    expect(tasks).toHaveLength(6);
    for (const task of tasks) {
      expect(task.Retry).toEqual([
        expect.objectContaining({ ErrorEquals: ['States.ALL'], JitterStrategy: 'FULL' }),
      ]);
    }
  });

  it('has one Node 22 Lambda per task, with least-privilege access', () => {
    const functions = Object.values(template.findResources('AWS::Lambda::Function')).filter(
      (f) => f.Properties.Runtime?.startsWith('nodejs') && f.Properties.Environment?.Variables?.CONTROL_TABLE,
    );
    expect(functions).toHaveLength(11); // six tasks, register, API, deliver-webhook, the reaper and the schedule tick
    for (const fn of functions) expect(fn.Properties.Runtime).toBe('nodejs22.x');
    const policyOf = (fn: string) =>
      JSON.stringify(
        Object.values(template.findResources('AWS::IAM::Policy')).filter((p) =>
          JSON.stringify(p.Properties.Roles).includes(`${fn}FunctionServiceRole`),
        ),
      );
    const records = stack.getLogicalId(stack.storage.recordsTable.node.defaultChild as CfnElement);
    const artifacts = stack.getLogicalId(stack.storage.artifactsBucket.node.defaultChild as CfnElement);
    expect(policyOf('LoadChunks')).toContain(records);
    expect(policyOf('LoadChunks')).toContain('dynamodb:BatchWriteItem');
    expect(policyOf('Prepare')).not.toContain(records);
    expect(policyOf('Prepare')).not.toContain(artifacts);
    expect(policyOf('RunSql')).not.toContain('dynamodb:BatchWriteItem'.concat('", "Resource": ', records));
    expect(policyOf('Finalize')).toContain('states:StartExecution');
    expect(policyOf('Notify')).toContain('ses:SendEmail');
  });

  it('announces drops/ objects of the ingest bucket to a queue with a dead-letter queue, consumed by the register Lambda', () => {
    template.hasResourceProperties('Custom::S3BucketNotifications', {
      NotificationConfiguration: {
        QueueConfigurations: [
          Match.objectLike({
            Events: ['s3:ObjectCreated:*'],
            Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: 'drops/' }] } },
          }),
        ],
      },
    });
    template.hasResourceProperties('AWS::SQS::Queue', {
      RedrivePolicy: Match.objectLike({ maxReceiveCount: 5 }),
      SqsManagedSseEnabled: true,
    });
    // The ingest queue's and the webhook queue's consumers.
    template.resourceCountIs('AWS::Lambda::EventSourceMapping', 2);
    template.allResourcesProperties('AWS::Lambda::EventSourceMapping', {
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Threshold: 1,
    });
  });

  it('serves the HTTP API from one Lambda behind API Gateway, with access logs and throttling, and outputs its URL', () => {
    template.resourceCountIs('AWS::ApiGatewayV2::Api', 1);
    template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: '$default' });
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AccessLogSettings: Match.objectLike({ DestinationArn: Match.anyValue() }),
      DefaultRouteSettings: { ThrottlingRateLimit: 100, ThrottlingBurstLimit: 200 },
    });
    expect(Object.keys(template.findOutputs('*')).some((name) => name.startsWith('ApiUrl'))).toBe(true);
  });

  it('sends failed, timed-out and aborted state machine executions to the reaper', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: Match.objectLike({
        source: ['aws.states'],
        'detail-type': ['Step Functions Execution Status Change'],
        detail: Match.objectLike({ status: ['FAILED', 'TIMED_OUT', 'ABORTED'] }),
      }),
    });
  });

  it('alarms when a state machine execution fails', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ExecutionsFailed',
      Namespace: 'AWS/States',
      Threshold: 1,
    });
  });
});

interface AslState {
  Type: string;
  Next?: string;
  Default?: string;
  Catch?: unknown[];
  Retry?: unknown[];
  ItemProcessor: { StartAt: string; States: Record<string, AslState> };
  [key: string]: unknown;
}

function renderedAsl(stack: SmartConnectorStack): { StartAt: string; States: Record<string, AslState> } {
  return renderPipelineAsl(stack.pipeline) as { StartAt: string; States: Record<string, AslState> };
}

describe('the CDK stack pointed at a ClickHouse service', () => {
  it('gives RunSql alone the service URL, user and password secret, and lets it read that secret', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const passwordSecretArn =
      'arn:aws:secretsmanager:eu-west-1:123456789012:secret:smartconnector-platform/clickhouse-AbCdEf';
    const stack = new SmartConnectorStack(app, 'WithClickHouse', {
      clickHouse: { url: 'https://abc.eu-west-1.aws.clickhouse.cloud:8443', user: 'sc', passwordSecretArn },
    });
    const template = Template.fromStack(stack);
    const functions = Object.values(template.findResources('AWS::Lambda::Function'));
    const withUrl = functions.filter((fn) => fn.Properties.Environment?.Variables?.CLICKHOUSE_URL);
    expect(withUrl).toHaveLength(1);
    expect(withUrl[0]!.Properties.Environment.Variables).toMatchObject({
      CLICKHOUSE_URL: 'https://abc.eu-west-1.aws.clickhouse.cloud:8443',
      CLICKHOUSE_USER: 'sc',
      CLICKHOUSE_PASSWORD_SECRET_ARN: passwordSecretArn,
      // Each run's script as a user of its own, unless the stack says otherwise.
      CLICKHOUSE_RUN_USERS: '1',
    });
    expect(withUrl[0]!.Properties.EphemeralStorage).toEqual({ Size: 10240 });
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: Match.arrayWith(['secretsmanager:GetSecretValue']),
            Resource: passwordSecretArn,
          }),
        ]),
      },
    });
  });
});
