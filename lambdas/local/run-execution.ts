import type { Execution } from '../core/model.ts';
import { loadExecution } from '../pipeline/context.ts';
import { dispatchConnector } from '../pipeline/dispatch.ts';
import type { LocalRuntime } from './runtime.ts';

/**
 * Called as a run moves on. A listener may return a promise: the run waits for it, so a listener that
 * requests a cancel is seen at the very next chunk boundary.
 */
export type ProgressListener = (event: ProgressEvent) => void | Promise<void>;

export interface ProgressEvent {
  stage: 'sql' | 'variables' | 'load' | 'report';
  step?: { index: number; name: string; count: number };
  done: number;
  total: number;
}

/**
 * Runs a registered execution on the local runtime as AWS would: dispatches its connector's queue (a
 * live run waits for a concurrency slot and a runnable connector), and the local Step Functions runs the
 * synthesised pipeline for every execution that starts. Returns once nothing runs any more: the ended
 * execution, or the still-queued one when it could not start.
 */
export async function runExecution(
  runtime: LocalRuntime,
  executionId: string,
  onProgress?: ProgressListener,
): Promise<Execution> {
  const { ports } = runtime;
  const execution = await loadExecution(ports, executionId);
  const unwatch = onProgress ? runtime.watch(executionId, onProgress) : () => {};
  try {
    await dispatchConnector(ports, execution.connectorId);
    await runtime.stateMachine.idle();
  } finally {
    unwatch();
  }
  return loadExecution(ports, executionId);
}
