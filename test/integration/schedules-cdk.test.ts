import type { CfnElement } from 'aws-cdk-lib';
import { App, Aspects } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { SmartConnectorStack } from '../../lib/smart-connector-stack.ts';

/*
 * The connector schedules in the CDK stack (offline synth, no bundling): the schedule group named by the
 * stack, the tick Lambda, the role Scheduler assumes to invoke it, the dead-letter queue for undelivered
 * ticks, and what the API Lambda may do to schedules.
 */

let template: Template;
let stack: SmartConnectorStack;
let annotations: Annotations;
const ref = (element: CfnElement) => stack.getLogicalId(element);

beforeAll(() => {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  stack = new SmartConnectorStack(app, 'Test');
  Aspects.of(app).add(new AwsSolutionsChecks({ verbose: true }));
  template = Template.fromStack(stack);
  annotations = Annotations.fromStack(stack);
});

describe('connector schedules in the stack', () => {
  it('raise no cdk-nag AwsSolutions findings', () => {
    const awsSolutions = Match.stringLikeRegexp('AwsSolutions-.*');
    const ours = (findings: Array<{ id: string }>) => findings.filter((f) => f.id.includes('/Schedules/'));
    expect(ours(annotations.findError('*', awsSolutions))).toEqual([]);
    expect(ours(annotations.findWarning('*', awsSolutions))).toEqual([]);
    const api = (findings: Array<{ id: string; entry: { data?: unknown } }>) =>
      findings.filter((f) => f.id.includes('/Api/') && String(f.entry.data).includes('scheduler'));
    expect(api(annotations.findError('*', awsSolutions))).toEqual([]);
  });

  it('has a schedule group named by the stack, deleted with it, and outputs its name', () => {
    template.resourceCountIs('AWS::Scheduler::ScheduleGroup', 1);
    template.hasResource('AWS::Scheduler::ScheduleGroup', {
      Properties: { Name: 'Test' },
      DeletionPolicy: 'Delete',
    });
    expect(template.findOutputs('ScheduleGroupName')).toEqual({
      ScheduleGroupName: { Value: 'Test' },
    });
    // No schedule is in the template: they are made per connector at run time.
    template.resourceCountIs('AWS::Scheduler::Schedule', 0);
  });

  it('has a Node 22 tick Lambda that may register and dispatch executions', () => {
    const tick = ref(stack.schedules.tickFunction.node.defaultChild as CfnElement);
    const fn = template.findResources('AWS::Lambda::Function')[tick]!;
    expect(fn.Properties.Runtime).toBe('nodejs22.x');
    expect(fn.Properties.Environment.Variables).toMatchObject({
      CONTROL_TABLE: expect.anything(),
      STATE_MACHINE_ARN: expect.anything(),
    });
    const policy = JSON.stringify(
      policiesOf(stack.schedules.tickFunction.role!.node.defaultChild as CfnElement),
    );
    expect(policy).toContain('states:StartExecution');
    expect(policy).toContain(ref(stack.storage.controlTable.node.defaultChild as CfnElement));
    expect(policy).not.toContain('scheduler:');
  });

  it('lets only Scheduler, for this account, assume the invoke role, which invokes only the tick Lambda', () => {
    const role =
      template.findResources('AWS::IAM::Role')[
        ref(stack.schedules.invokeRole.node.defaultChild as CfnElement)
      ]!;
    expect(role.Properties.AssumeRolePolicyDocument.Statement).toEqual([
      {
        Action: 'sts:AssumeRole',
        Effect: 'Allow',
        Principal: { Service: 'scheduler.amazonaws.com' },
        Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
      },
    ]);
    const statements = policiesOf(stack.schedules.invokeRole.node.defaultChild as CfnElement).flatMap(
      (p) => p.Properties.PolicyDocument.Statement as Array<{ Action: unknown; Resource: unknown }>,
    );
    const tick = ref(stack.schedules.tickFunction.node.defaultChild as CfnElement);
    expect(statements).toContainEqual(
      expect.objectContaining({ Action: 'lambda:InvokeFunction', Resource: { 'Fn::GetAtt': [tick, 'Arn'] } }),
    );
    const dlq = ref(stack.schedules.deadLetterQueue.node.defaultChild as CfnElement);
    expect(statements).toContainEqual(
      expect.objectContaining({
        Action: expect.arrayContaining(['sqs:SendMessage']),
        Resource: { 'Fn::GetAtt': [dlq, 'Arn'] },
      }),
    );
  });

  it('parks undelivered ticks in an encrypted dead-letter queue with an alarm', () => {
    const dlq = ref(stack.schedules.deadLetterQueue.node.defaultChild as CfnElement);
    expect(template.findResources('AWS::SQS::Queue')[dlq]!.Properties).toMatchObject({
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 14 * 24 * 3600,
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [dlq, 'QueueName'] } }],
      Threshold: 1,
    });
  });

  it('counts skipped ticks from the tick log lines, by reason', () => {
    template.hasResourceProperties('AWS::Logs::MetricFilter', {
      FilterPattern: '{ ($.event = "schedule.tick") && ($.outcome = "skipped") }',
      MetricTransformations: [
        {
          MetricNamespace: 'SmartConnector',
          MetricName: 'SkippedScheduleTicks',
          MetricValue: '1',
          Dimensions: [{ Key: 'Reason', Value: '$.reason' }],
        },
      ],
    });
  });

  it('lets the API Lambda manage schedules of the group only, and pass the invoke role only to Scheduler', () => {
    const api = ref(stack.api.apiFunction.node.defaultChild as CfnElement);
    const apiFunction = template.findResources('AWS::Lambda::Function')[api]!;
    // Deployed after the group it names.
    expect(apiFunction.DependsOn).toContain(ref(stack.schedules.group.node.defaultChild as CfnElement));
    const variables = apiFunction.Properties.Environment.Variables;
    expect(variables).toMatchObject({
      SCHEDULE_GROUP: 'Test',
      SCHEDULE_TARGET_ARN: {
        'Fn::GetAtt': [ref(stack.schedules.tickFunction.node.defaultChild as CfnElement), 'Arn'],
      },
      SCHEDULE_ROLE_ARN: {
        'Fn::GetAtt': [ref(stack.schedules.invokeRole.node.defaultChild as CfnElement), 'Arn'],
      },
      SCHEDULE_DEAD_LETTER_ARN: {
        'Fn::GetAtt': [ref(stack.schedules.deadLetterQueue.node.defaultChild as CfnElement), 'Arn'],
      },
    });
    const statements = policiesOf(stack.api.apiFunction.role!.node.defaultChild as CfnElement).flatMap(
      (p) => p.Properties.PolicyDocument.Statement as Array<Record<string, unknown>>,
    );
    expect(statements).toContainEqual({
      Effect: 'Allow',
      Action: [
        'scheduler:CreateSchedule',
        'scheduler:UpdateSchedule',
        'scheduler:DeleteSchedule',
        'scheduler:GetSchedule',
      ],
      Resource: {
        'Fn::Join': [
          '',
          [
            'arn:',
            { Ref: 'AWS::Partition' },
            ':scheduler:',
            { Ref: 'AWS::Region' },
            ':',
            { Ref: 'AWS::AccountId' },
            ':schedule/Test/*',
          ],
        ],
      },
    });
    expect(statements).toContainEqual({
      Effect: 'Allow',
      Action: 'iam:PassRole',
      Resource: { 'Fn::GetAtt': [ref(stack.schedules.invokeRole.node.defaultChild as CfnElement), 'Arn'] },
      Condition: { StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } },
    });
    // The pipeline's task Lambdas do not touch schedules.
    for (const fn of Object.values(stack.pipeline.functions)) {
      expect(JSON.stringify(policiesOf(fn.role!.node.defaultChild as CfnElement))).not.toContain(
        'scheduler:',
      );
    }
  });

  it('refuses a stack name that cannot name the schedule group', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    expect(() => new SmartConnectorStack(app, `S${'x'.repeat(64)}`)).toThrow(
      /names the connector schedule group, which takes 1 to 64 letters/,
    );
  });
});

/** The IAM policies attached to a role, by the role's logical id. */
function policiesOf(role: CfnElement) {
  const id = ref(role);
  return Object.values(template.findResources('AWS::IAM::Policy')).filter((p) =>
    JSON.stringify(p.Properties.Roles).includes(`"${id}"`),
  );
}
