import type { Ports } from '../pipeline/ports.ts';
import { TASK_TABLE } from '../pipeline/task-table.ts';
import type { PipelineTask } from '../pipeline/task-names.ts';
import { awsEnvironment, awsPorts, type AwsEnvironment } from './aws-ports.ts';

let container: { env: AwsEnvironment; ports: Ports } | undefined;

/**
 * The Lambda handler of a state machine task: ports are built once per container; the state input is
 * parsed by the task's zod schema (TASK_TABLE) and the task's JSON result becomes the state's result.
 */
export function pipelineTaskHandler(task: PipelineTask): (event: unknown) => Promise<unknown> {
  return async (event) => {
    if (!container) {
      const env = awsEnvironment();
      container = { env, ports: awsPorts(env) };
    }
    return TASK_TABLE[task].run(container.ports, event, {
      loadChunksBudgetSeconds: container.env.LOAD_CHUNKS_BUDGET_SECONDS,
    });
  };
}
