import { z } from 'zod';
import type { Ports } from './ports.ts';
import type { PipelineTask } from './task-names.ts';
import {
  buildReportTask,
  finalizeTask,
  loadChunksTask,
  notifyTask,
  prepareTask,
  runSqlTask,
  type LoadChunksOptions,
} from './state-tasks.ts';

/** What a runtime gives a task besides its input: when LoadChunks must hand back, and its progress hook. */
export interface TaskRuntime {
  /** Seconds LoadChunks keeps starting chunks before it returns its cursor. */
  loadChunksBudgetSeconds: number;
  onChunk?: LoadChunksOptions['onChunk'];
  /** Called when RunSql moves from the SQL stage to the variable stage (progress display). */
  onVariables?: (executionId: string) => void | Promise<void>;
}

const executionRef = z.object({ executionId: z.string().min(1) });
const cursor = executionRef.extend({
  stepIndex: z.number().int().min(0),
  nextChunk: z.number().int().min(0),
  done: z.boolean(),
});
const finalizeInput = executionRef.extend({
  failure: z.object({ Error: z.string(), Cause: z.string().optional() }).optional(),
});

/**
 * One entry per Lambda: the zod schema of its state input, and the call. The Lambda handlers and the
 * local state machine both go through this table, so a task is invoked the same way in both runtimes.
 */
export const TASK_TABLE: Record<
  PipelineTask,
  { run(ports: Ports, input: unknown, runtime: TaskRuntime): Promise<unknown> }
> = {
  prepare: { run: (ports, input) => prepareTask(ports, executionRef.parse(input)) },
  'run-sql': {
    run: (ports, input, runtime) => runSqlTask(ports, executionRef.parse(input), runtime.onVariables),
  },
  'load-chunks': {
    run: (ports, input, runtime) =>
      loadChunksTask(ports, cursor.parse(input), {
        deadline: ports.clock.now().getTime() + runtime.loadChunksBudgetSeconds * 1000,
        ...(runtime.onChunk ? { onChunk: runtime.onChunk } : {}),
      }),
  },
  'build-report': {
    run: async (ports, input) => (await buildReportTask(ports, executionRef.parse(input)), {}),
  },
  finalize: { run: async (ports, input) => (await finalizeTask(ports, finalizeInput.parse(input)), {}) },
  notify: { run: async (ports, input) => (await notifyTask(ports, executionRef.parse(input)), {}) },
};
