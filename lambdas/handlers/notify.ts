import { pipelineTaskHandler } from './pipeline-task.ts';

/** The state machine's `notify` task (lambdas/pipeline/state-tasks.ts). */
export const handler = pipelineTaskHandler('notify');
