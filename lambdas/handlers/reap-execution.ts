import { z } from 'zod';
import type { Ports } from '../pipeline/ports.ts';
import { reapExecution } from '../pipeline/state-tasks.ts';
import { awsEnvironment, awsPorts } from './aws-ports.ts';

/** The parts of a "Step Functions Execution Status Change" event the reaper reads. */
const StatusChange = z.object({
  detail: z.object({
    /** The state machine execution's name: the execution id (see StepFunctionsOrchestrator). */
    name: z.string().min(1),
    status: z.string(),
    error: z.string().nullish(),
    cause: z.string().nullish(),
  }),
});

let ports: Ports | undefined;

/** An EventBridge rule sends the pipeline's FAILED, TIMED_OUT and ABORTED executions here. */
export async function handler(event: unknown): Promise<void> {
  ports ??= awsPorts(awsEnvironment());
  const { detail } = StatusChange.parse(event);
  const cause = [detail.status, detail.error, detail.cause].filter(Boolean).join(': ');
  await reapExecution(ports, detail.name, cause);
}
