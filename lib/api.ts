import { CfnOutput, Duration, RemovalPolicy } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { NagSuppressions } from 'cdk-nag';
import { Construct } from 'constructs';
import { handlerFunction, suppressHandlerFindings } from './handler-function.ts';
import type { Pipeline } from './pipeline.ts';

export interface ApiProps {
  readonly pipeline: Pipeline;
}

/**
 * The HTTP API (SPEC §9): an API Gateway HTTP API whose every route goes to one API Lambda, which runs
 * the same request function as `sc serve` (lambdas/pipeline/api.ts) — API keys included, checked
 * against their hashes in the control table — with access logs and throttling on its stage.
 */
export class Api extends Construct {
  readonly httpApi: apigw.HttpApi;
  readonly apiFunction: lambda.Function;

  constructor(scope: Construct, id: string, props: ApiProps) {
    super(scope, id);
    const { pipeline } = props;
    const fn = handlerFunction(this, 'Api', 'api', {
      memoryMiB: 1024,
      timeout: Duration.seconds(29), // API Gateway's integration limit
      environment: pipeline.environment,
    });
    pipeline.grantDispatch(fn);
    this.apiFunction = fn;

    const accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.httpApi = new apigw.HttpApi(this, 'HttpApi', {
      description: 'SmartConnector API',
      defaultIntegration: new HttpLambdaIntegration('ApiIntegration', fn),
      createDefaultStage: false,
    });
    new apigw.HttpStage(this, 'DefaultStage', {
      httpApi: this.httpApi,
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: 100, burstLimit: 200 },
      accessLogSettings: {
        destination: new apigw.LogGroupLogDestination(accessLogs),
        format: AccessLogFormat.jsonWithStandardFields(),
      },
    });
    new CfnOutput(this, 'Url', { value: this.httpApi.apiEndpoint, description: 'The HTTP API base URL' });

    suppressHandlerFindings(this);
    NagSuppressions.addResourceSuppressions(
      this.httpApi,
      [
        {
          id: 'AwsSolutions-APIG4',
          reason:
            'Every request is authenticated by the API Lambda itself (X-Api-Key checked against SHA-256 hashes in the ' +
            'control table), the same code that `sc serve` runs locally; an authorizer would duplicate it.',
        },
      ],
      true,
    );
  }
}
