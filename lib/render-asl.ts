import { Stack, type CfnElement } from 'aws-cdk-lib';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { LOCAL_TASK_ARN_PREFIX } from '../lambdas/pipeline/task-names.ts';
import type { Pipeline } from './pipeline.ts';

/**
 * The state machine definition exactly as CDK synthesises it for the stack, with its CloudFormation
 * intrinsics resolved for the local runtime: `Fn::GetAtt [<task Lambda>, Arn]` becomes
 * `LOCAL_TASK_ARN_PREFIX + <task name>`, pseudo parameters get fixed local values. The local runtime runs
 * this (cached in lambdas/local/pipeline.asl.json; a test proves the cache matches a fresh synth).
 */
export function renderPipelineAsl(pipeline: Pipeline): object {
  const stack = Stack.of(pipeline);
  const taskByLogicalId = new Map(
    Object.entries(pipeline.functions).map(([task, fn]) => [
      stack.getLogicalId(fn.node.defaultChild as CfnElement),
      task,
    ]),
  );
  const cfn = pipeline.stateMachine.node.defaultChild as sfn.CfnStateMachine;
  const definition = stack.resolve(cfn.definitionString) as unknown;
  return JSON.parse(resolveIntrinsics(definition, taskByLogicalId)) as object;
}

function resolveIntrinsics(value: unknown, tasks: ReadonlyMap<string, string>): string {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object') {
    const node = value as Record<string, unknown>;
    if ('Fn::Join' in node) {
      const [separator, parts] = node['Fn::Join'] as [string, unknown[]];
      return parts.map((p) => resolveIntrinsics(p, tasks)).join(separator);
    }
    if ('Fn::GetAtt' in node) {
      const [logicalId, attribute] = node['Fn::GetAtt'] as [string, string];
      const task = tasks.get(logicalId);
      if (!task || attribute !== 'Arn')
        throw new Error(`Cannot resolve Fn::GetAtt ${logicalId}.${attribute}`);
      return LOCAL_TASK_ARN_PREFIX + task;
    }
    if ('Ref' in node) {
      const pseudo: Record<string, string> = {
        'AWS::Partition': 'aws',
        'AWS::Region': 'us-east-1',
        'AWS::AccountId': '000000000000',
        'AWS::URLSuffix': 'amazonaws.com',
      };
      const resolved = pseudo[node.Ref as string];
      if (resolved === undefined) throw new Error(`Cannot resolve Ref ${String(node.Ref)}`);
      return resolved;
    }
  }
  throw new Error(`Unexpected value in the state machine definition: ${JSON.stringify(value)}`);
}
