import { pipelineTaskHandler } from './pipeline-task.ts';

/** The state machine's `build-report` task (lambdas/pipeline/state-tasks.ts). */
export const handler = pipelineTaskHandler('build-report');
