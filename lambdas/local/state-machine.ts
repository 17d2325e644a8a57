import { readFileSync } from 'node:fs';
import { StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import { errorMessage } from '../core/errors.ts';
import type { Ports } from '../pipeline/ports.ts';
import { LOCAL_TASK_ARN_PREFIX, PIPELINE_TASKS, type PipelineTask } from '../pipeline/task-names.ts';
import { TASK_TABLE, type TaskRuntime } from '../pipeline/task-table.ts';
import type { Orchestrator } from '../ports/orchestrator.ts';

// aws-local-stepfunctions 3 uses Promise.withResolvers, which Node 20 lacks (Node 22 has it).
const promiseStatics = Promise as unknown as { withResolvers?: () => unknown };
promiseStatics.withResolvers ??= function withResolvers<T>() {
  let resolve!: (value: T | PromiseLike<T>) => void;
  let reject!: (reason?: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
};

/** The pipeline state machine as the CDK stack synthesises it (`npm run asl` refreshes it). */
export function loadPipelineAsl(): AslDefinition {
  return JSON.parse(readFileSync(new URL('./pipeline.asl.json', import.meta.url), 'utf8')) as AslDefinition;
}

interface AslState {
  Type: string;
  Resource?: string;
  ItemProcessor?: { States: Record<string, AslState> };
  Iterator?: { States: Record<string, AslState> };
  Branches?: Array<{ States: Record<string, AslState> }>;
  Retry?: unknown[];
}
export interface AslDefinition {
  StartAt: string;
  States: Record<string, AslState>;
}

export interface LocalStateMachineOptions {
  /** Milliseconds between retries of a failed task, instead of the definition's backoff. Default: as defined. */
  retryIntervalMs?: number;
  /** Seconds a LoadChunks invocation keeps starting chunks. Default 600, as in AWS. */
  loadChunksBudgetSeconds?: number;
  /** Called after every loaded chunk, and awaited, before the next chunk's cancel check. */
  onChunk?: TaskRuntime['onChunk'];
  /** Called when RunSql moves on to the variable stage. */
  onVariables?: TaskRuntime['onVariables'];
  /** Called when a state machine execution fails (as Step Functions' status-change event does in AWS). */
  onFailed?: (executionId: string, error: unknown) => Promise<void>;
  /** Called before a task runs (its state input), e.g. for stage progress or to inject failures in tests. */
  beforeTask?: (task: PipelineTask, input: unknown) => void | Promise<void>;
}

/**
 * The local Step Functions: the synthesised pipeline definition interpreted by aws-local-stepfunctions,
 * with each Lambda task resource mapped to its task in TASK_TABLE over the local ports, the way the
 * Lambda handlers call them. It is the local `Orchestrator`: `start` runs an execution in the background
 * (once per id, as Step Functions refuses a second execution of the same name).
 */
export class LocalStateMachine implements Orchestrator {
  private readonly machine: StateMachine;
  private readonly handlers: Record<string, (input: unknown) => Promise<unknown>> = {};
  private readonly retryOverrides: Record<string, number> = {};
  private readonly runs = new Map<string, Promise<void>>();

  constructor(
    definition: AslDefinition,
    ports: () => Ports,
    private readonly options: LocalStateMachineOptions = {},
  ) {
    this.machine = new StateMachine(definition as unknown as StateMachineDefinition, {
      validationOptions: { checkArn: false },
    });
    const runtime: TaskRuntime = {
      loadChunksBudgetSeconds: options.loadChunksBudgetSeconds ?? 600,
      ...(options.onChunk ? { onChunk: options.onChunk } : {}),
      ...(options.onVariables ? { onVariables: options.onVariables } : {}),
    };
    forEachState(definition.States, (name, state) => {
      if (state.Type !== 'Task') return;
      const task = state.Resource?.startsWith(LOCAL_TASK_ARN_PREFIX)
        ? (state.Resource.slice(LOCAL_TASK_ARN_PREFIX.length) as PipelineTask)
        : undefined;
      if (!task || !PIPELINE_TASKS.includes(task)) {
        throw new Error(`State ${name} calls ${state.Resource}, which has no local handler.`);
      }
      this.handlers[name] = async (input) => {
        // As a Lambda sees it: a JSON copy in, a JSON copy out.
        const event = JSON.parse(JSON.stringify(input)) as unknown;
        await options.beforeTask?.(task, event);
        const result = await TASK_TABLE[task].run(ports(), event, runtime);
        return JSON.parse(JSON.stringify(result ?? {})) as unknown;
      };
      if (options.retryIntervalMs !== undefined && state.Retry)
        this.retryOverrides[name] = options.retryIntervalMs;
    });
  }

  start(executionId: string): Promise<void> {
    if (!this.runs.has(executionId)) {
      const { result } = this.machine.run({ executionId } as never, {
        overrides: {
          taskResourceLocalHandlers: this.handlers as never,
          retryIntervalOverrides: this.retryOverrides,
        },
      });
      this.runs.set(
        executionId,
        result.then(
          () => undefined,
          async (error: unknown) => {
            // Finalize failed after its retries: Step Functions fails the execution (and alarms).
            process.emitWarning(`The pipeline of execution ${executionId} failed: ${errorMessage(error)}`);
            try {
              await this.options.onFailed?.(executionId, error);
            } catch (reapError) {
              process.emitWarning(`Execution ${executionId} was not cleaned up: ${errorMessage(reapError)}`);
            }
          },
        ),
      );
    }
    return Promise.resolve();
  }

  /** Resolves when the state machine execution of this id has ended (at once when there is none). */
  async whenEnded(executionId: string): Promise<void> {
    await this.runs.get(executionId);
  }

  /** Resolves when no state machine execution is running, including ones started meanwhile. */
  async idle(): Promise<void> {
    for (;;) {
      const pending = [...this.runs.values()];
      await Promise.all(pending);
      if (this.runs.size === pending.length) return;
    }
  }
}

function forEachState(
  states: Record<string, AslState>,
  visit: (name: string, state: AslState) => void,
): void {
  for (const [name, state] of Object.entries(states)) {
    visit(name, state);
    if (state.ItemProcessor) forEachState(state.ItemProcessor.States, visit);
    if (state.Iterator) forEachState(state.Iterator.States, visit);
    for (const branch of state.Branches ?? []) forEachState(branch.States, visit);
  }
}
