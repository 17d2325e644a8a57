import { pipelineTaskHandler } from './pipeline-task.ts';

/** The state machine's `run-sql` task (lambdas/pipeline/state-tasks.ts). */
export const handler = pipelineTaskHandler('run-sql');
