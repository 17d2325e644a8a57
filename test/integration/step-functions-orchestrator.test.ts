import { randomUUID } from 'node:crypto';
import { StartExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { StepFunctionsOrchestrator } from '../../lambdas/adapters/aws/step-functions-orchestrator.ts';
import { ScError } from '../../lambdas/core/errors.ts';
import {
  sfnClientFor,
  startStepFunctionsStandIn,
  type StepFunctionsStandIn,
} from '../../lambdas/local/step-functions-stand-in.ts';

const PIPELINE = 'arn:aws:states:us-east-1:123456789012:stateMachine:sc-pipeline';

let stepFunctions: StepFunctionsStandIn;
let client: SFNClient;
const onStart: Array<{ input: unknown; name: string }> = [];

beforeAll(async () => {
  stepFunctions = await startStepFunctionsStandIn({
    onStart: (input, name) => onStart.push({ input, name }),
  });
  // One attempt per start, so a failure reaches the orchestrator instead of being retried by the SDK.
  client = sfnClientFor(stepFunctions.endpoint, { maxAttempts: 1 });
});
afterAll(async () => {
  client?.destroy();
  await stepFunctions?.stop();
});
beforeEach(() => {
  stepFunctions.started.length = 0;
  onStart.length = 0;
});

function orchestrator(stateMachineArn = PIPELINE): StepFunctionsOrchestrator {
  return new StepFunctionsOrchestrator({ client, stateMachineArn });
}

async function failure(promise: Promise<unknown>): Promise<ScError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ScError);
  return error as ScError;
}

describe('StepFunctionsOrchestrator', () => {
  it('starts the state machine with the execution id as name and input', async () => {
    const executionId = randomUUID();
    await orchestrator().start(executionId);
    expect(stepFunctions.started).toEqual([
      { stateMachineArn: PIPELINE, name: executionId, input: { executionId } },
    ]);
    expect(onStart).toEqual([{ input: { executionId }, name: executionId }]);
  });

  it('starts an execution once however often it is started', async () => {
    const executionId = randomUUID();
    await orchestrator().start(executionId);
    await orchestrator().start(executionId);
    await Promise.all([orchestrator().start(executionId), orchestrator().start(executionId)]);
    expect(stepFunctions.started.map((e) => e.name)).toEqual([executionId]);
    expect(onStart).toHaveLength(1);
  });

  it('treats ExecutionAlreadyExists (the name taken by a closed execution or another input) as started', async () => {
    const executionId = randomUUID();
    await client.send(
      new StartExecutionCommand({ stateMachineArn: PIPELINE, name: executionId, input: '{"earlier":true}' }),
    );
    // The stand-in answers a clashing start as Step Functions does.
    const clash = await client
      .send(new StartExecutionCommand({ stateMachineArn: PIPELINE, name: executionId, input: '{}' }))
      .then(
        () => undefined,
        (e: unknown) => e as Error,
      );
    expect(clash?.name).toBe('ExecutionAlreadyExists');

    await orchestrator().start(executionId);
    expect(stepFunctions.started).toEqual([
      { stateMachineArn: PIPELINE, name: executionId, input: { earlier: true } },
    ]);
  });

  it('keeps names apart per state machine', async () => {
    const executionId = randomUUID();
    const other = 'arn:aws:states:us-east-1:123456789012:stateMachine:other';
    await orchestrator().start(executionId);
    await orchestrator(other).start(executionId);
    expect(stepFunctions.started.map((e) => e.stateMachineArn)).toEqual([PIPELINE, other]);
  });

  it('turns a name Step Functions rejects into a non-retryable EXECUTION_NOT_STARTED', async () => {
    const error = await failure(orchestrator().start('exec:1'));
    expect(error.code).toBe('EXECUTION_NOT_STARTED');
    expect(error.retryable).toBe(false);
    expect(error.context).toEqual({ executionId: 'exec:1' });
    expect((error.cause as Error).name).toBe('InvalidName');
    expect(error.message).toContain('exec:1');
    expect(stepFunctions.started).toEqual([]);
  });

  it('turns a throttle into a retryable ORCHESTRATOR_UNAVAILABLE', async () => {
    stepFunctions.failNext(400, 'ThrottlingException');
    const error = await failure(orchestrator().start(randomUUID()));
    expect(error.code).toBe('ORCHESTRATOR_UNAVAILABLE');
    expect(error.retryable).toBe(true);
    expect((error.cause as Error).name).toBe('ThrottlingException');
  });

  it('turns an outage (5xx) into a retryable ORCHESTRATOR_UNAVAILABLE, and the retry starts it', async () => {
    const executionId = randomUUID();
    stepFunctions.failNext(500, 'InternalFailure');
    const error = await failure(orchestrator().start(executionId));
    expect(error.code).toBe('ORCHESTRATOR_UNAVAILABLE');
    await orchestrator().start(executionId);
    expect(stepFunctions.started.map((e) => e.name)).toEqual([executionId]);
  });

  it('turns a missing state machine into EXECUTION_NOT_STARTED with the Step Functions message', async () => {
    stepFunctions.failNext(400, 'StateMachineDoesNotExist');
    const error = await failure(orchestrator().start(randomUUID()));
    expect(error.code).toBe('EXECUTION_NOT_STARTED');
    expect(error.message).toContain('Stand-in failure: StateMachineDoesNotExist.');
  });
});

describe('Step Functions stand-in', () => {
  it('answers an unknown operation with UnknownOperationException', async () => {
    const response = await fetch(stepFunctions.endpoint, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-amz-json-1.0',
        'x-amz-target': 'AWSStepFunctions.StopExecution',
      },
      body: '{}',
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ __type: 'UnknownOperationException' });
  });

  it('returns the same execution for a repeated start', async () => {
    const send = () =>
      client.send(
        new StartExecutionCommand({ stateMachineArn: PIPELINE, name: 'repeat-me', input: '{"a":1}' }),
      );
    const first = await send();
    const second = await send();
    expect(first.executionArn).toBe('arn:aws:states:us-east-1:123456789012:execution:sc-pipeline:repeat-me');
    expect(second).toMatchObject({ executionArn: first.executionArn, startDate: first.startDate });
    expect(first.startDate).toBeInstanceOf(Date);
  });
});
