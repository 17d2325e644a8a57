import { pipelineTaskHandler } from './pipeline-task.ts';

/** The state machine's `finalize` task (lambdas/pipeline/state-tasks.ts). */
export const handler = pipelineTaskHandler('finalize');
