import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as lambdaDestinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { NagSuppressions } from 'cdk-nag';
import { Construct } from 'constructs';
import { handlerFunction, suppressHandlerFindings } from './handler-function.ts';
import type { Pipeline } from './pipeline.ts';

export interface SchedulesProps {
  readonly pipeline: Pipeline;
}

/** Schedule group names: 1 to 64 of these characters. */
const GROUP_NAME = /^[0-9a-zA-Z\-_.]{1,64}$/;

/**
 * Connector cadences (SPEC §8 "Scheduler", DESIGN "AWS topology"): a schedule group named by the stack
 * that holds one EventBridge Scheduler schedule per scheduler or webhook connector; the tick Lambda each
 * schedule invokes with `{ connectorId, tickTime }`; the role Scheduler assumes to invoke it; and a
 * dead-letter queue, with an alarm, for ticks Scheduler could not deliver after its retries.
 *
 * The schedules themselves are not in the template: the Lambdas that save and (de)activate connectors
 * manage them at run time (`grantManage`), through `syncSchedule` (lambdas/pipeline/schedules-sync.ts).
 * Skipped ticks (connector not active) are counted from the tick Lambda's log lines in the metric
 * `SmartConnector/SkippedScheduleTicks`, by reason.
 */
export class Schedules extends Construct {
  readonly group: scheduler.ScheduleGroup;
  readonly tickFunction: lambda.Function;
  /** The role EventBridge Scheduler assumes to invoke the tick Lambda. */
  readonly invokeRole: iam.Role;
  readonly deadLetterQueue: sqs.Queue;
  /** What a Lambda needs in its environment to manage schedules (lambdas/handlers/aws-ports.ts). */
  readonly environment: Record<string, string>;
  /** The group's name, a plain string (no token), so policies and suppressions can name it. */
  private readonly groupName: string;

  constructor(scope: Construct, id: string, props: SchedulesProps) {
    super(scope, id);
    const { pipeline } = props;
    const stack = Stack.of(this);
    const groupName = (this.groupName = stack.stackName);
    if (!GROUP_NAME.test(groupName)) {
      throw new Error(
        `The stack name "${groupName}" names the connector schedule group, which takes 1 to 64 letters, digits, "-", "_" or ".": choose a shorter stack name.`,
      );
    }
    // Deleted with the stack: its schedules would otherwise tick a tick Lambda that is gone.
    this.group = new scheduler.ScheduleGroup(this, 'Group', {
      scheduleGroupName: groupName,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    // A webhook window of up to 5,000 calls of up to 1 MiB is gathered into one input file in /tmp.
    const tick = handlerFunction(this, 'ScheduleTick', 'schedule-tick', {
      memoryMiB: 1024,
      timeout: Duration.minutes(15),
      environment: pipeline.environment,
    });
    (tick.node.defaultChild as lambda.CfnFunction).ephemeralStorage = { size: 10240 };
    // A tick registers and dispatches an execution, or closes a webhook window (control table, artifacts).
    pipeline.grantDispatch(tick);
    this.tickFunction = tick;

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    // Scheduler invokes asynchronously: its dead-letter queue catches undelivered ticks only, so a tick
    // that throws (after Lambda's two retries) goes to the same queue and its alarm.
    tick.configureAsyncInvoke({
      onFailure: new lambdaDestinations.SqsDestination(this.deadLetterQueue),
      retryAttempts: 2,
    });
    new cloudwatch.Alarm(this, 'DeadLetterAlarm', {
      alarmDescription:
        'A connector tick could not be delivered to the tick Lambda after its retries (see the message for the connector and time).',
      metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5) }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    // Only Scheduler, for this account's schedules, may assume it (the confused-deputy guard).
    this.invokeRole = new iam.Role(this, 'InvokeRole', {
      description: 'EventBridge Scheduler invokes the connector tick Lambda with this role.',
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
    });
    this.invokeRole.addToPolicy(
      new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [tick.functionArn] }),
    );
    this.deadLetterQueue.grantSendMessages(this.invokeRole);

    const logGroup = tick.logGroup;
    new logs.MetricFilter(this, 'SkippedTicks', {
      logGroup,
      filterPattern: logs.FilterPattern.all(
        logs.FilterPattern.stringValue('$.event', '=', 'schedule.tick'),
        logs.FilterPattern.stringValue('$.outcome', '=', 'skipped'),
      ),
      metricNamespace: 'SmartConnector',
      metricName: 'SkippedScheduleTicks',
      metricValue: '1',
      dimensions: { Reason: '$.reason' },
    });

    this.environment = {
      SCHEDULE_GROUP: groupName,
      SCHEDULE_TARGET_ARN: tick.functionArn,
      SCHEDULE_ROLE_ARN: this.invokeRole.roleArn,
      SCHEDULE_DEAD_LETTER_ARN: this.deadLetterQueue.queueArn,
    };

    suppressHandlerFindings(this);
    NagSuppressions.addResourceSuppressions(this.deadLetterQueue, [
      {
        id: 'AwsSolutions-SQS3',
        reason: "It is EventBridge Scheduler's dead-letter queue for undelivered ticks, not an SQS queue's.",
      },
    ]);
  }

  /**
   * Lets a Lambda that saves or (de)activates connectors keep their schedules in step: create, update,
   * delete and read schedules of the group, pass the invoke role to Scheduler, and the settings in its
   * environment.
   */
  grantManage(fn: lambda.Function): void {
    const stack = Stack.of(this);
    const schedules = stack.formatArn({
      service: 'scheduler',
      resource: 'schedule',
      resourceName: `${this.groupName}/*`,
    });
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: [
          'scheduler:CreateSchedule',
          'scheduler:UpdateSchedule',
          'scheduler:DeleteSchedule',
          'scheduler:GetSchedule',
        ],
        resources: [schedules],
      }),
    );
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['iam:PassRole'],
        resources: [this.invokeRole.roleArn],
        conditions: { StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } },
      }),
    );
    for (const [name, value] of Object.entries(this.environment)) fn.addEnvironment(name, value);
    // The group is named, not referenced: deploy the Lambda after it, so its first save finds the group.
    fn.node.addDependency(this.group);
    NagSuppressions.addResourceSuppressions(
      fn.role!,
      [
        {
          id: 'AwsSolutions-IAM5',
          reason:
            "Schedules are named by connector ids, made at run time; the wildcard stays within the stack's schedule group.",
          appliesTo: [
            `Resource::arn:<AWS::Partition>:scheduler:<AWS::Region>:<AWS::AccountId>:schedule/${this.groupName}/*`,
          ],
        },
      ],
      true,
    );
  }
}
