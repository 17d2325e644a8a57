import { StartExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';
import { ScError, errorMessage } from '../../core/errors.ts';
import type { Orchestrator } from '../../ports/orchestrator.ts';

export interface StepFunctionsOrchestratorOptions {
  client: SFNClient;
  /** The pipeline state machine, a Standard one: only Standard workflows dedupe execution names. */
  stateMachineArn: string;
}

/** Start errors a later attempt can outlive, besides 429 and 5xx statuses. */
const TRANSIENT = new Set(['ThrottlingException', 'ExecutionLimitExceeded', 'KmsThrottlingException']);

/**
 * Starts the pipeline state machine with `StartExecution`, the execution named after its id and given
 * `{"executionId": …}` as input.
 *
 * The name makes a start idempotent. For a Standard state machine, a start repeating the name and
 * input of an open execution gets that execution back; a name already used by a closed execution (or
 * with another input) gets `ExecutionAlreadyExists`
 * (https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html). Both mean
 * this execution was started, so both succeed.
 *
 * A throttle or an outage is a retryable `ORCHESTRATOR_UNAVAILABLE`; anything else Step Functions
 * refuses (a name it rejects, a missing state machine, no permission) is `EXECUTION_NOT_STARTED`.
 */
export class StepFunctionsOrchestrator implements Orchestrator {
  private readonly client: SFNClient;
  private readonly stateMachineArn: string;

  constructor(options: StepFunctionsOrchestratorOptions) {
    this.client = options.client;
    this.stateMachineArn = options.stateMachineArn;
  }

  async start(executionId: string): Promise<void> {
    try {
      await this.client.send(
        new StartExecutionCommand({
          stateMachineArn: this.stateMachineArn,
          name: executionId,
          input: JSON.stringify({ executionId }),
        }),
      );
    } catch (error) {
      const e = error as { name?: string; $metadata?: { httpStatusCode?: number }; $retryable?: unknown };
      if (e?.name === 'ExecutionAlreadyExists') return;
      const status = e?.$metadata?.httpStatusCode ?? 0;
      if (status === 429 || status >= 500 || e?.$retryable !== undefined || TRANSIENT.has(e?.name ?? '')) {
        throw new ScError(
          'ORCHESTRATOR_UNAVAILABLE',
          `Step Functions could not start execution ${executionId}; try again.`,
          { retryable: true, context: { executionId }, cause: error },
        );
      }
      throw new ScError(
        'EXECUTION_NOT_STARTED',
        `Step Functions refused to start execution ${executionId}: ${errorMessage(error)}`,
        { context: { executionId }, cause: error },
      );
    }
  }
}
