import { fileURLToPath } from 'node:url';
import { RemovalPolicy, type Duration } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { NagSuppressions } from 'cdk-nag';
import type { Construct } from 'constructs';

export interface HandlerFunctionProps {
  memoryMiB: number;
  timeout: Duration;
  environment: Record<string, string>;
}

/**
 * A Lambda for `lambdas/handlers/<handler>.ts`: Node 22 on arm64, bundled by esbuild as ESM (no Docker
 * needed), X-Ray tracing, and a log group kept a month.
 */
export function handlerFunction(
  scope: Construct,
  id: string,
  handler: string,
  props: HandlerFunctionProps,
): nodejs.NodejsFunction {
  return new nodejs.NodejsFunction(scope, `${id}Function`, {
    entry: fileURLToPath(new URL(`../lambdas/handlers/${handler}.ts`, import.meta.url)),
    runtime: lambda.Runtime.NODEJS_22_X,
    architecture: lambda.Architecture.ARM_64,
    memorySize: props.memoryMiB,
    timeout: props.timeout,
    environment: props.environment,
    tracing: lambda.Tracing.ACTIVE,
    logGroup: new logs.LogGroup(scope, `${id}Logs`, {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    }),
    bundling: {
      format: nodejs.OutputFormat.ESM,
      target: 'node22',
      sourceMap: true,
      // chDB is native and ~550 MB: the SQL engine in AWS is ClickHouse Cloud (see docs/architecture.md).
      externalModules: ['chdb'],
      banner: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
    },
  });
}

/**
 * The cdk-nag findings every platform Lambda raises, each with its reason, for all Lambdas under `scope`:
 * the AWS-managed logging policy, wildcards that CDK grants scope to a bucket's keys or a table's
 * indexes (or that X-Ray requires), and the runtime the design card fixes.
 */
export function suppressHandlerFindings(scope: Construct): void {
  NagSuppressions.addResourceSuppressions(
    scope,
    [
      {
        id: 'AwsSolutions-IAM4',
        reason:
          'AWSLambdaBasicExecutionRole is the AWS-maintained minimum for writing Lambda logs; nothing else is managed.',
        appliesTo: ['Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole'],
      },
      {
        id: 'AwsSolutions-IAM5',
        reason:
          'Wildcards are object keys within the artifacts bucket and indexes of the two tables (CDK grants), X-Ray ' +
          'and log delivery actions that have no resource scoping, and versions of the pipeline Lambdas.',
      },
      {
        id: 'AwsSolutions-L1',
        reason:
          'The design card fixes the Lambda runtime at Node.js 22 (the code also runs on Node 20 locally).',
      },
    ],
    true,
  );
}
