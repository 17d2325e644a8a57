import { pipelineTaskHandler } from './pipeline-task.ts';

/** The state machine's `load-chunks` task (lambdas/pipeline/state-tasks.ts). */
export const handler = pipelineTaskHandler('load-chunks');
