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

/** How the local runtime's copy of the state machine names each task's Lambda: this prefix + the task. */
export const LOCAL_TASK_ARN_PREFIX = 'arn:aws:lambda:us-east-1:000000000000:function:sc-';
