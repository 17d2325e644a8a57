import { pipelineTaskHandler } from './pipeline-task.ts';

/** The state machine's `prepare` task (lambdas/pipeline/state-tasks.ts). */
export const handler = pipelineTaskHandler('prepare');
