import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { S3Client } from '@aws-sdk/client-s3';
import { SchedulerClient } from '@aws-sdk/client-scheduler';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SQSClient } from '@aws-sdk/client-sqs';
import { z } from 'zod';
import { DynamoDbConcurrencySlots } from '../adapters/aws/dynamodb-concurrency-slots.ts';
import { DynamoDbControlStore } from '../adapters/aws/dynamodb-control-store.ts';
import { DynamoDbRecordStore } from '../adapters/aws/dynamodb-record-store.ts';
import { EventBridgeEventPublisher } from '../adapters/aws/eventbridge-event-publisher.ts';
import { EventBridgeSchedulerSchedules } from '../adapters/aws/eventbridge-scheduler-schedules.ts';
import { S3BlobStore } from '../adapters/aws/s3-blob-store.ts';
import { SecretsManagerSecretStore } from '../adapters/aws/secrets-manager-secret-store.ts';
import { SesMailer } from '../adapters/aws/ses-mailer.ts';
import { SqsWorkQueue } from '../adapters/aws/sqs-work-queue.ts';
import { StepFunctionsOrchestrator } from '../adapters/aws/step-functions-orchestrator.ts';
import { ChdbSqlEngine } from '../adapters/sql/chdb/chdb-sql-engine.ts';
import { clickHouseSqlEngineFromEnv } from '../adapters/sql/clickhouse/clickhouse-sql-engine.ts';
import { SECRETS_MANAGER_PREFIX } from '../core/secret-members.ts';
import type { ApiDeps } from '../pipeline/api.ts';
import type { Ports } from '../pipeline/ports.ts';
import { systemClock } from '../ports/clock.ts';

/** What the stack (lib/pipeline.ts) sets on every Lambda. Endpoints come from `AWS_ENDPOINT_URL_*`. */
const Environment = z.object({
  CONTROL_TABLE: z.string().min(1),
  RECORDS_TABLE: z.string().min(1),
  ARTIFACTS_BUCKET: z.string().min(1),
  INGEST_BUCKET: z.string().min(1),
  WEBHOOK_QUEUE_URL: z.string().min(1),
  STATE_MACHINE_ARN: z.string().min(1),
  EVENT_BUS_NAME: z.string().min(1),
  MAIL_FROM: z.string().min(1),
  LOAD_CHUNKS_BUDGET_SECONDS: z.coerce.number().positive().default(600),
  MAX_WEBHOOK_WAIT_SECONDS: z.coerce.number().min(0).default(60),
  /** Only on the Lambdas that save connectors (lib/schedules.ts): where their schedules live and tick. */
  SCHEDULE_GROUP: z.string().min(1).optional(),
  SCHEDULE_TARGET_ARN: z.string().min(1).optional(),
  SCHEDULE_ROLE_ARN: z.string().min(1).optional(),
  SCHEDULE_DEAD_LETTER_ARN: z.string().min(1).optional(),
});
export type AwsEnvironment = z.infer<typeof Environment>;

export function awsEnvironment(env: NodeJS.ProcessEnv = process.env): AwsEnvironment {
  const parsed = Environment.safeParse(env);
  if (!parsed.success) {
    const missing = parsed.error.issues.map((i) => i.path.join('.')).join(', ');
    throw new Error(`The Lambda environment is incomplete or invalid: ${missing}. Deploy it with the stack.`);
  }
  return parsed.data;
}

/** The ports of one Lambda container, built once from its environment; clients take endpoints from env. */
export function awsPorts(env: AwsEnvironment): Ports {
  return awsApiDeps(env).ports;
}

/** The ports and the API key store (the control table) the API Lambda needs. */
export function awsApiDeps(env: AwsEnvironment, rawEnv: NodeJS.ProcessEnv = process.env): ApiDeps {
  const dynamo = new DynamoDBClient({});
  const control = new DynamoDbControlStore({
    client: dynamo,
    tableName: env.CONTROL_TABLE,
    clock: systemClock,
  });
  const ports: Ports = {
    connectors: control,
    executions: control,
    records: new DynamoDbRecordStore({ client: dynamo, tableName: env.RECORDS_TABLE }),
    blobs: new S3BlobStore({ client: new S3Client({}), bucket: env.ARTIFACTS_BUCKET }),
    // RunSql gets CLICKHOUSE_* from the stack when it is pointed at a ClickHouse service
    // (docs/clickhouse-cloud.md); without it, chDB, which needs a container-image Lambda. The other
    // Lambdas never run SQL.
    sql: rawEnv.CLICKHOUSE_URL ? clickHouseSqlEngineFromEnv(rawEnv) : new ChdbSqlEngine({ tmpDir: '/tmp' }),
    events: new EventBridgeEventPublisher({
      client: new EventBridgeClient({}),
      eventBusName: env.EVENT_BUS_NAME,
    }),
    clock: systemClock,
    mailer: new SesMailer({ client: new SESv2Client({}), from: env.MAIL_FROM }),
    // `smartconnector/<name>`; the stack lets only RunSql read them (lib/pipeline.ts).
    secrets: new SecretsManagerSecretStore({
      client: new SecretsManagerClient({}),
      prefix: SECRETS_MANAGER_PREFIX,
    }),
    slots: new DynamoDbConcurrencySlots({ client: dynamo, tableName: env.CONTROL_TABLE }),
    orchestrator: new StepFunctionsOrchestrator({
      client: new SFNClient({}),
      stateMachineArn: env.STATE_MACHINE_ARN,
    }),
    // In AWS, webhook targets must be public addresses.
    notifications: { allowLoopback: false, maxWebhookWaitSeconds: env.MAX_WEBHOOK_WAIT_SECONDS },
    webhookQueue: new SqsWorkQueue({ client: new SQSClient({}), queueUrl: env.WEBHOOK_QUEUE_URL }),
    ...awsSchedules(env),
    tmpDir: '/tmp',
  };
  // Presigned uploads go to the ingest bucket; starting one copies it into the artifacts bucket inside S3.
  return { ports, apiKeys: control, ingest: awsIngestStore(env) };
}

/** Connector schedules on EventBridge Scheduler, where the stack gave this Lambda their settings. */
function awsSchedules(env: AwsEnvironment): Pick<Ports, 'schedules'> {
  const { SCHEDULE_GROUP: groupName, SCHEDULE_TARGET_ARN: targetArn, SCHEDULE_ROLE_ARN: roleArn } = env;
  if (!groupName || !targetArn || !roleArn) return {};
  const deadLetterArn = env.SCHEDULE_DEAD_LETTER_ARN;
  return {
    schedules: new EventBridgeSchedulerSchedules({
      client: new SchedulerClient({}),
      groupName,
      targetArn,
      roleArn,
      ...(deadLetterArn ? { deadLetterArn } : {}),
    }),
  };
}

/** The ingest bucket (drops, presigned uploads), read by the register Lambda. */
export function awsIngestStore(env: AwsEnvironment): S3BlobStore {
  return new S3BlobStore({ client: new S3Client({}), bucket: env.INGEST_BUCKET });
}
