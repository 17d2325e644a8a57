/** The tasks of the pipeline state machine, by the name of their Lambda handler (`lambdas/handlers/<name>.ts`). */
export const PIPELINE_TASKS = [
  'prepare',
  'run-sql',
  'load-chunks',
  'build-report',
  'finalize',
  'notify',
] as const;
export type PipelineTask = (typeof PIPELINE_TASKS)[number];
