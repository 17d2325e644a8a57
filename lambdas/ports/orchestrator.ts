/**
 * Starts the pipeline state machine for an execution: Step Functions in AWS, the same state machine
 * definition interpreted in-process locally. Starting an execution that was already started is a no-op,
 * so a retried dispatch never runs one twice.
 */
export interface Orchestrator {
  start(executionId: string): Promise<void>;
}
