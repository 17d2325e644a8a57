import { ArnFormat, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as eventsTargets from 'aws-cdk-lib/aws-events-targets';
import * as lambdaEvents from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { SECRETS_MANAGER_PREFIX } from '../lambdas/core/secret-members.ts';
import { PIPELINE_TASKS, type PipelineTask } from '../lambdas/pipeline/task-names.ts';
import { handlerFunction, suppressHandlerFindings } from './handler-function.ts';
import { QueueWithDeadLetters } from './queue-with-dead-letters.ts';
import type { Storage } from './storage.ts';

/** How long one LoadChunks invocation starts new chunks before it hands its cursor back (Lambda max 15 min). */
export const LOAD_CHUNKS_BUDGET_SECONDS = 600;

const TASK_SETTINGS: Record<PipelineTask, { memoryMiB: number; timeout: Duration }> = {
  prepare: { memoryMiB: 256, timeout: Duration.seconds(30) },
  'run-sql': { memoryMiB: 3008, timeout: Duration.minutes(15) },
  'load-chunks': { memoryMiB: 1024, timeout: Duration.minutes(15) },
  'build-report': { memoryMiB: 2048, timeout: Duration.minutes(15) },
  finalize: { memoryMiB: 512, timeout: Duration.minutes(5) },
  // The in-Lambda webhook wait (maxWebhookWaitSeconds) plus room for the emails.
  notify: { memoryMiB: 256, timeout: Duration.minutes(5) },
};

/** The ClickHouse service RunSql sends connector SQL to (docs/clickhouse-cloud.md). */
export interface ClickHouseProps {
  /** `https://<service>.<region>.clickhouse.cloud:8443` */
  readonly url: string;
  /** @default 'default' */
  readonly user?: string;
  /** The complete ARN of a Secrets Manager secret holding the password (plain, or JSON `{"password"}`). */
  readonly passwordSecretArn: string;
  /** Prefix of every per-execution database and named collection. @default the engine's `sc_` */
  readonly databasePrefix?: string;
  /**
   * Whether each run's script runs as a ClickHouse user of its own (docs/clickhouse-cloud.md,
   * "Isolation"); turn off only for a server that runs trusted scripts only. @default true
   */
  readonly runUsers?: boolean;
}

export interface PipelineProps {
  readonly storage: Storage;
  /**
   * Where connector SQL runs. Without it RunSql falls back to chDB, which does not fit a zip-bundled
   * Lambda: a deployment that runs SQL needs this.
   */
  readonly clickHouse?: ClickHouseProps;
  /** The sender of notification emails; its domain must be a verified SES identity. */
  readonly mailFrom: string;
}

/**
 * The pipeline (DESIGN "AWS topology"): one Standard state machine per run, a Lambda per task, payloads
 * of ids and cursors only.
 *
 *   Prepare → Started? → RunSql → SqlOk? → LoadSteps: Map(steps, MaxConcurrency 1) {
 *     LoadChunks → StepDone? ⟲ } → BuildReport → Finalize → Notify
 *
 * Every task retries on any error with backoff and jitter; every stage before Finalize catches into
 * Finalize, which always ends the run, releases its slot and dispatches what waits. `docs/architecture.md`
 * shows why this stays under Step Functions' limits for a 10-million-row input.
 */
export class Pipeline extends Construct {
  readonly stateMachine: sfn.StateMachine;
  readonly functions: Record<PipelineTask, lambda.Function>;
  /** Pending execution-ended webhooks wait here for their next attempt. */
  readonly webhookQueue: sqs.Queue;
  readonly deliverWebhookFunction: lambda.Function;
  /** Where load-step triggers publish record events. */
  readonly eventBus: events.EventBus;
  /** The environment every platform Lambda gets (lambdas/handlers/aws-ports.ts reads it). */
  readonly environment: Record<string, string>;
  /** The state machine's ARN as a string, for Lambdas that dispatch (no reference cycle). */
  readonly stateMachineArnForDispatch: string;
  private readonly storage: Storage;

  constructor(scope: Construct, id: string, props: PipelineProps) {
    super(scope, id);
    const { storage } = props;
    this.storage = storage;
    const stack = Stack.of(this);
    // Named, so the finalize Lambda can start queued runs without a circular reference to the machine.
    const stateMachineName = `${stack.stackName}-pipeline`;
    const stateMachineArn = stack.formatArn({
      service: 'states',
      resource: 'stateMachine',
      resourceName: stateMachineName,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });

    this.eventBus = new events.EventBus(this, 'RecordEvents');
    // Execution-ended webhooks still failing after Notify's wait retry from here, with delays, for an hour.
    const webhookQueues = new QueueWithDeadLetters(this, 'WebhookQueue', {
      visibilityTimeout: Duration.minutes(6), // six times the deliver-webhook Lambda's timeout
      alarmDescription:
        'An execution-ended webhook retry failed 5 times in the sender itself (see the deliver-webhook Lambda logs).',
    });
    this.webhookQueue = webhookQueues.queue;
    const environment = (this.environment = {
      INGEST_BUCKET: storage.ingestBucket.bucketName,
      WEBHOOK_QUEUE_URL: webhookQueues.queue.queueUrl,
      EVENT_BUS_NAME: this.eventBus.eventBusName,
      MAIL_FROM: props.mailFrom,
      CONTROL_TABLE: storage.controlTable.tableName,
      RECORDS_TABLE: storage.recordsTable.tableName,
      ARTIFACTS_BUCKET: storage.artifactsBucket.bucketName,
      STATE_MACHINE_ARN: stateMachineArn,
      LOAD_CHUNKS_BUDGET_SECONDS: String(LOAD_CHUNKS_BUDGET_SECONDS),
      NODE_OPTIONS: '--enable-source-maps',
    });
    const functions = {} as Record<PipelineTask, lambda.Function>;
    for (const name of PIPELINE_TASKS) {
      const settings = TASK_SETTINGS[name];
      const fn = handlerFunction(this, pascal(name), name, {
        memoryMiB: settings.memoryMiB,
        timeout: settings.timeout,
        environment,
      });
      storage.controlTable.grantReadWriteData(fn);
      functions[name] = fn;
    }
    for (const name of ['run-sql', 'load-chunks', 'build-report', 'finalize', 'notify'] as const) {
      storage.artifactsBucket.grantReadWrite(functions[name]);
    }
    storage.recordsTable.grantReadWriteData(functions['load-chunks']);
    storage.recordsTable.grantReadData(functions['run-sql']); // reference data
    // RunSql keeps the input, its tables and the exported scopes in /tmp: give it Lambda's maximum.
    (functions['run-sql'].node.defaultChild as lambda.CfnFunction).ephemeralStorage = { size: 10240 };
    if (props.clickHouse) this.useClickHouse(functions['run-sql'], props.clickHouse);
    // Connector secrets (docs/secrets.md): only RunSql reads them, only under the platform's prefix.
    functions['run-sql'].addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['secretsmanager:GetSecretValue'],
        resources: [
          stack.formatArn({
            service: 'secretsmanager',
            resource: 'secret',
            resourceName: `${SECRETS_MANAGER_PREFIX}*`,
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          }),
        ],
      }),
    );
    this.eventBus.grantPutEventsTo(functions['load-chunks']);
    const sendEmail = new iam.PolicyStatement({
      actions: ['ses:SendEmail'],
      resources: [stack.formatArn({ service: 'ses', resource: 'identity', resourceName: '*' })],
    });
    functions.notify.addToRolePolicy(sendEmail);
    webhookQueues.queue.grantSendMessages(functions.notify);
    const deliver = handlerFunction(this, 'DeliverWebhook', 'deliver-webhook', {
      memoryMiB: 256,
      timeout: Duration.minutes(1),
      environment: { ...environment, MAX_WEBHOOK_WAIT_SECONDS: '0' },
    });
    deliver.addEventSource(
      new lambdaEvents.SqsEventSource(webhookQueues.queue, { reportBatchItemFailures: true }),
    );
    webhookQueues.queue.grantSendMessages(deliver);
    storage.controlTable.grantReadWriteData(deliver);
    storage.artifactsBucket.grantRead(deliver);
    this.deliverWebhookFunction = deliver;
    this.stateMachineArnForDispatch = stateMachineArn;
    this.grantDispatch(functions.finalize);
    this.functions = functions;

    const retry = (state: tasks.LambdaInvoke): tasks.LambdaInvoke => {
      state.addRetry({
        errors: ['States.ALL'],
        interval: Duration.seconds(2),
        maxAttempts: 3,
        backoffRate: 2,
        jitterStrategy: sfn.JitterType.FULL,
      });
      return state;
    };
    // No payload: the task gets the whole state input.
    // No result path: the result replaces the state (LoadChunks' cursor).
    const invoke = (
      id: string,
      task: PipelineTask,
      payload: sfn.TaskInput | undefined,
      resultPath: string | undefined,
    ) =>
      retry(
        new tasks.LambdaInvoke(this, id, {
          lambdaFunction: functions[task],
          ...(payload ? { payload } : {}),
          payloadResponseOnly: true,
          retryOnServiceExceptions: false,
          // A little over the Lambda's own timeout, so that its error is the one reported. Without it a
          // Task has no timeout in AWS but 60 s in aws-local-stepfunctions, which the local runtime runs.
          taskTimeout: sfn.Timeout.duration(TASK_SETTINGS[task].timeout.plus(Duration.seconds(30))),
          ...(resultPath ? { resultPath } : {}),
        }),
      );
    const executionRef = sfn.TaskInput.fromObject({ executionId: sfn.JsonPath.stringAt('$.executionId') });

    const notify = invoke('Notify', 'notify', executionRef, sfn.JsonPath.DISCARD);
    const done = new sfn.Succeed(this, 'Done');
    notify.addCatch(done, { resultPath: '$.notifyFailure' });
    const finalize = invoke('Finalize', 'finalize', undefined, sfn.JsonPath.DISCARD);
    finalize.next(notify);
    notify.next(done);

    const prepare = invoke('Prepare', 'prepare', executionRef, '$.prepare');
    const runSql = invoke('RunSql', 'run-sql', executionRef, '$.sql');
    const loadChunks = invoke('LoadChunks', 'load-chunks', undefined, undefined);
    const loadSteps = new sfn.Map(this, 'LoadSteps', {
      itemsPath: '$.sql.steps',
      maxConcurrency: 1,
      itemSelector: {
        executionId: sfn.JsonPath.stringAt('$.executionId'),
        stepIndex: sfn.JsonPath.stringAt('$$.Map.Item.Value'),
        nextChunk: 0,
        done: false,
      },
      resultPath: sfn.JsonPath.DISCARD,
    });
    loadSteps.itemProcessor(
      loadChunks.next(
        new sfn.Choice(this, 'StepDone?')
          .when(sfn.Condition.booleanEquals('$.done', true), new sfn.Succeed(this, 'StepLoaded'))
          .otherwise(loadChunks),
      ),
    );
    const buildReport = invoke('BuildReport', 'build-report', executionRef, sfn.JsonPath.DISCARD);
    for (const state of [prepare, runSql, buildReport]) state.addCatch(finalize, { resultPath: '$.failure' });
    loadSteps.addCatch(finalize, { resultPath: '$.failure' });

    const definition = prepare.next(
      new sfn.Choice(this, 'Started?')
        .when(
          sfn.Condition.booleanEquals('$.prepare.go', true),
          runSql.next(
            new sfn.Choice(this, 'SqlOk?')
              .when(sfn.Condition.booleanEquals('$.sql.ok', true), loadSteps.next(buildReport).next(finalize))
              .otherwise(finalize),
          ),
        )
        .otherwise(finalize),
    );

    const logGroup = new logs.LogGroup(this, 'StateMachineLogs', {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineName,
      stateMachineType: sfn.StateMachineType.STANDARD,
      definitionBody: sfn.DefinitionBody.fromChainable(definition),
      tracingEnabled: true,
      logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: false },
    });

    // A state machine execution that fails, times out or is aborted never reached (or finished) Finalize:
    // the reaper ends the execution and frees its slot.
    const reaper = handlerFunction(this, 'ReapExecution', 'reap-execution', {
      memoryMiB: 256,
      timeout: Duration.minutes(1),
      environment,
    });
    this.grantDispatch(reaper);
    new events.Rule(this, 'FailedExecutionsRule', {
      description: 'Pipeline executions that failed, timed out or were aborted go to the reaper.',
      eventPattern: {
        source: ['aws.states'],
        detailType: ['Step Functions Execution Status Change'],
        detail: {
          status: ['FAILED', 'TIMED_OUT', 'ABORTED'],
          stateMachineArn: [this.stateMachine.stateMachineArn],
        },
      },
      targets: [new eventsTargets.LambdaFunction(reaper, { retryAttempts: 8 })],
    });

    new cloudwatch.Alarm(this, 'FailedExecutionsAlarm', {
      alarmDescription:
        'A pipeline state machine execution failed: Finalize itself failed after its retries, so a run may not have ended cleanly.',
      metric: this.stateMachine.metricFailed({ period: Duration.minutes(5), statistic: 'Sum' }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    suppressHandlerFindings(this);
  }

  /**
   * What a Lambda that registers and dispatches executions needs: the control table (executions, slots),
   * the artifacts bucket (inputs) and starting the state machine.
   */
  grantDispatch(fn: lambda.Function): void {
    this.storage.controlTable.grantReadWriteData(fn);
    this.storage.artifactsBucket.grantReadWrite(fn);
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['states:StartExecution'],
        resources: [this.stateMachineArnForDispatch],
      }),
    );
  }

  /** Points RunSql at a ClickHouse service: its URL and user in the environment, the password secret readable. */
  private useClickHouse(fn: lambda.Function, clickHouse: ClickHouseProps): void {
    fn.addEnvironment('CLICKHOUSE_URL', clickHouse.url);
    fn.addEnvironment('CLICKHOUSE_USER', clickHouse.user ?? 'default');
    fn.addEnvironment('CLICKHOUSE_PASSWORD_SECRET_ARN', clickHouse.passwordSecretArn);
    if (clickHouse.databasePrefix) fn.addEnvironment('CLICKHOUSE_DATABASE_PREFIX', clickHouse.databasePrefix);
    fn.addEnvironment('CLICKHOUSE_RUN_USERS', clickHouse.runUsers === false ? '0' : '1');
    secretsmanager.Secret.fromSecretCompleteArn(
      this,
      'ClickHousePassword',
      clickHouse.passwordSecretArn,
    ).grantRead(fn);
  }
}

function pascal(name: string): string {
  return name.replace(/(^|-)(\w)/g, (_, __, c: string) => c.toUpperCase());
}
