import { runOutcome, stopRuleBreach } from '../core/execution-status.ts';
import { ScError, errorMessage } from '../core/errors.ts';
import {
  TERMINAL_STATUSES,
  type Execution,
  type ExecutionError,
  type RowResult,
  type RunStop,
} from '../core/model.ts';
import type { ObjectDefinition } from '../core/object-schema.ts';
import { artifacts, type ExecutionPlan } from './artifacts.ts';
import { buildReportStage } from './build-report.ts';
import { loadContext, loadExecution } from './context.ts';
import { dispatchConnector } from './dispatch.ts';
import { finalizeExecution } from './finalize.ts';
import { readJsonlBlob } from './jsonl.ts';
import { loadChunk, newDryRunState, type ChunkCounts, type DryRunState } from './load-chunk.ts';
import { notifyExecutionEnded } from './notify.ts';
import type { Ports } from './ports.ts';
import type { OverlaySnapshot } from './record-overlay.ts';
import { resolveVariablesStage } from './resolve-variables.ts';
import { runSqlStage } from './run-sql.ts';

/*
 * The tasks of the pipeline state machine (lib/pipeline.ts), one per Lambda: each takes and returns small
 * JSON (ids, indexes, counts; never rows) and is safe to retry. Locally the same functions run under the
 * same state machine definition (lambdas/local/state-machine.ts).
 *
 *   Prepare → RunSql → LoadSteps: Map(steps, one at a time) { LoadChunks ⟲ until done } → BuildReport
 *           → Finalize → Notify        (every state: Retry on transient errors, Catch → Finalize)
 */

export interface ExecutionRef {
  executionId: string;
}

/** Prepare: a dispatched execution becomes `running`. `go` is false when it must not run (cancelled). */
export async function prepareTask(ports: Ports, input: ExecutionRef): Promise<{ go: boolean }> {
  const execution = await loadExecution(ports, input.executionId);
  if (execution.status === 'running') return { go: true }; // a retried Prepare
  if (execution.status !== 'queued' || execution.cancelRequested) return { go: false };
  try {
    // Conditional: a cancel that ended it meanwhile must not be turned back into a run.
    await ports.executions.update(
      execution.id,
      { status: 'running', stage: 'sql', startedAt: ports.clock.now().toISOString() },
      { status: 'queued', cancelRequested: false },
    );
  } catch (error) {
    if (!(error instanceof ScError) || error.code !== 'CONFLICT') throw error;
    // A Prepare retried at the same moment started it; anything else stopped it.
    return { go: (await loadExecution(ports, execution.id)).status === 'running' };
  }
  return { go: true };
}

/**
 * RunSql: the SQL stage and the variable stage. A failure of the connector's own making (SQL error, bad
 * input, a scope that does not exist) is recorded on the execution and answered `ok: false`, so the run
 * goes straight to Finalize with no report (SPEC §4); anything else is thrown for the state machine to
 * retry. `steps` are the indexes of the load steps, for the LoadSteps map.
 */
export async function runSqlTask(
  ports: Ports,
  input: ExecutionRef,
  onVariables?: (executionId: string) => void | Promise<void>,
): Promise<{ ok: boolean; steps: number[] }> {
  const id = input.executionId;
  let plan: ExecutionPlan;
  try {
    const sql = await runSqlStage(ports, id);
    await onVariables?.(id);
    plan = await resolveVariablesStage(ports, id, sql);
  } catch (error) {
    // A retryable error (the engine or Secrets Manager unreachable) is the platform's, not the
    // connector's: the state machine retries the task, then fails the run through Finalize.
    if (!(error instanceof ScError) || error.retryable) throw error;
    await ports.executions.update(id, { error: { code: error.code, message: error.message } });
    return { ok: false, steps: [] };
  }
  const execution = await loadExecution(ports, id);
  await ports.executions.update(id, {
    stage: 'load',
    progress: {
      rowsDone: 0,
      rowsTotal: plan.steps.reduce((n, s) => n + plan.scopes[s.scopeIndex]!.valid, 0),
      chunksDone: 0,
      chunksTotal: plan.steps.reduce((n, s) => n + plan.scopes[s.scopeIndex]!.chunks, 0),
    },
    counts: {
      scopes: execution.counts.scopes,
      steps: plan.steps.map((s) => ({
        name: s.name,
        object: s.object,
        created: 0,
        updated: 0,
        unchanged: 0,
        skipped: 0,
        failed: 0,
        unprocessed: plan.scopes[s.scopeIndex]!.valid,
      })),
    },
  });
  return { ok: true, steps: plan.steps.map((_, i) => i) };
}

/** Where LoadChunks is in a step; the state machine passes it back in until `done`. */
export interface LoadCursor {
  executionId: string;
  stepIndex: number;
  nextChunk: number;
  done: boolean;
}

export interface LoadChunksOptions {
  /** Epoch ms after which no new chunk starts: the invocation returns its cursor and is called again. */
  deadline: number;
  /** Called after every chunk (the local runtime's progress display); awaited. */
  onChunk?: (event: {
    executionId: string;
    stepIndex: number;
    chunksDone: number;
    chunksTotal: number;
  }) => void | Promise<void>;
}

/**
 * LoadChunks: loads the chunks of one step in order from the cursor until the step is done, the run is
 * stopped (cancel, stop rule, a failed chunk) or the deadline nears. A chunk whose results are already
 * stored is not loaded again (a retried invocation); its counts are read back from those results.
 */
export async function loadChunksTask(
  ports: Ports,
  cursor: LoadCursor,
  options: LoadChunksOptions,
): Promise<LoadCursor> {
  const { executionId: id, stepIndex } = cursor;
  const { definition, execution } = await loadContext(ports, id);
  const plan = await readPlan(ports, id);
  const chunks = plan.scopes[plan.steps[stepIndex]!.scopeIndex]!.chunks;
  const dryRun = execution.dryRun
    ? await loadDryRunState(ports, id, plan, stepIndex, cursor.nextChunk)
    : undefined;
  const done = (nextChunk: number): LoadCursor => ({ ...cursor, nextChunk, done: true });

  let next = cursor.nextChunk;
  while (next < chunks) {
    const current = await loadExecution(ports, id);
    if (current.stop) return done(next);
    if (current.cancelRequested) {
      await stopRun(ports, id, { code: 'CANCELLED', error: null });
      return done(next);
    }
    if (next > cursor.nextChunk && ports.clock.now().getTime() >= options.deadline) break;

    let counts: ChunkCounts;
    try {
      counts = dryRun
        ? await loadChunk(ports, id, stepIndex, next, { dryRun })
        : ((await storedChunkCounts(ports, id, stepIndex, next)) ??
          (await loadChunk(ports, id, stepIndex, next)));
    } catch (error) {
      if (!(error instanceof ScError)) throw error;
      await stopRun(ports, id, { code: 'EXECUTION_FAILED', error: toExecutionError(error) });
      return done(next);
    }
    next++;
    const updated = await addChunkCounts(ports, current, plan, stepIndex, counts);
    await options.onChunk?.({
      executionId: id,
      stepIndex,
      chunksDone: updated.progress.chunksDone,
      chunksTotal: updated.progress.chunksTotal,
    });
    const breach = stopRuleBreach(updated.counts.steps[stepIndex]!, definition.settings.maxFailedRowsPercent);
    if (breach) {
      await stopRun(ports, id, breach);
      return done(next);
    }
  }
  // Saved for the next invocation of this step, or for later steps; the last step's end needs none.
  const lastStepDone = stepIndex === plan.steps.length - 1 && next >= chunks;
  if (dryRun && next > cursor.nextChunk && !lastStepDone) {
    await saveDryRunState(ports, id, stepIndex, next, dryRun);
  }
  return next >= chunks ? done(next) : { ...cursor, nextChunk: next, done: false };
}

/** BuildReport: the XLSX report of every row, for how the run ended. */
export async function buildReportTask(ports: Ports, input: ExecutionRef): Promise<void> {
  const execution = await loadExecution(ports, input.executionId);
  await buildReportStage(ports, execution.id, await readPlan(ports, execution.id), runOutcome(execution));
}

/** What a `Catch` adds to the state before Finalize: the error name and its cause. */
export interface CaughtFailure {
  Error: string;
  Cause?: string;
}

/**
 * Finalize: ends the execution, whatever came before. After an error the state machine caught (retries
 * spent), the run fails with that error and — when loading had begun — still gets its report. Then the
 * connector's status and diff baseline, the slot is released, and queued runs of the connector are
 * dispatched. Safe to run twice: an ended execution is left as it is (its slot is still released).
 */
export async function finalizeTask(
  ports: Ports,
  input: ExecutionRef & { failure?: CaughtFailure },
): Promise<void> {
  let execution = await loadExecution(ports, input.executionId);
  if (!TERMINAL_STATUSES.has(execution.status)) {
    const plan = (await ports.blobs.exists(artifacts.plan(execution.id)))
      ? await readPlan(ports, execution.id)
      : null;
    if (input.failure) {
      const error = caughtError(input.failure);
      execution = plan
        ? await stopRun(ports, execution.id, { code: 'EXECUTION_FAILED', error })
        : await ports.executions.update(execution.id, { error });
      if (plan && execution.status === 'running') await tryReport(ports, execution, plan);
    }
    const outcome = runOutcome(execution);
    if (execution.status === 'queued') outcome.status = 'cancelled'; // stopped before it started
    await finalizeExecution(ports, execution.id, outcome, plan);
  }
  await ports.slots.release(execution.connectorId, execution.id);
  await dispatchConnector(ports, execution.connectorId);
}

/**
 * When the state machine execution itself ended badly (Finalize failed after its retries, a timeout, an
 * abort): the execution is ended `failed` if nothing ended it, its slot is released and its connector's
 * queue dispatched, so a crashed run can never hold a slot. In AWS an EventBridge rule on the state
 * machine's status changes calls this; locally the local state machine does when a run rejects.
 */
export async function reapExecution(ports: Ports, executionId: string, cause: string): Promise<void> {
  const execution = await ports.executions.get(executionId);
  if (!execution) return;
  if (!TERMINAL_STATUSES.has(execution.status)) {
    const plan = (await ports.blobs.exists(artifacts.plan(executionId)))
      ? await readPlan(ports, executionId)
      : null;
    const error = { code: 'PIPELINE_FAILED', message: `The pipeline stopped before the run ended: ${cause}` };
    // As Finalize would: the connector's status, and no diff baseline from a run that may have loaded rows.
    await finalizeExecution(ports, executionId, { status: 'failed', error }, plan);
  }
  await ports.slots.release(execution.connectorId, executionId);
  await dispatchConnector(ports, execution.connectorId);
}

/** Notify: the execution-ended webhook and the notification emails. */
export async function notifyTask(ports: Ports, input: ExecutionRef): Promise<void> {
  const execution = await loadExecution(ports, input.executionId);
  // Once per execution: a duplicate start of an ended execution reaches Notify again.
  if (!TERMINAL_STATUSES.has(execution.status) || execution.notified) return;
  await notifyExecutionEnded(ports, execution.id);
  await ports.executions.update(execution.id, { notified: true });
}

function toExecutionError(error: unknown): ExecutionError {
  if (error instanceof ScError) return { code: error.code, message: error.message };
  return { code: 'INTERNAL_ERROR', message: errorMessage(error) };
}

/** Step Functions puts a Lambda error's JSON in `Cause`; the local interpreter puts the message. */
function caughtError(failure: CaughtFailure): ExecutionError {
  let message = failure.Cause ?? failure.Error;
  try {
    const cause = JSON.parse(message) as { errorMessage?: unknown };
    if (typeof cause.errorMessage === 'string') message = cause.errorMessage;
  } catch {
    // a plain message
  }
  return { code: 'EXECUTION_FAILED', message: `${failure.Error}: ${message}` };
}

async function tryReport(ports: Ports, execution: Execution, plan: ExecutionPlan): Promise<void> {
  try {
    await buildReportStage(ports, execution.id, plan, runOutcome(execution));
  } catch (error) {
    process.emitWarning(`The report of execution ${execution.id} was not written: ${errorMessage(error)}`);
  }
}

async function stopRun(ports: Ports, id: string, stop: RunStop): Promise<Execution> {
  return ports.executions.update(id, { stop });
}

async function readPlan(ports: Ports, id: string): Promise<ExecutionPlan> {
  return JSON.parse(await ports.blobs.readText(artifacts.plan(id))) as ExecutionPlan;
}

/**
 * Adds one chunk's counts to the execution, read just before the chunk. Chunks of a run never overlap,
 * so this task is the only writer of counts and progress; a cancel only sets its own flag.
 */
async function addChunkCounts(
  ports: Ports,
  latest: Execution,
  plan: ExecutionPlan,
  stepIndex: number,
  chunk: ChunkCounts,
): Promise<Execution> {
  const steps = latest.counts.steps.map((s) => ({ ...s }));
  const step = steps[stepIndex]!;
  for (const key of ['created', 'updated', 'unchanged', 'skipped', 'failed'] as const)
    step[key] += chunk[key];
  const valid = plan.scopes[plan.steps[stepIndex]!.scopeIndex]!.valid;
  step.unprocessed = Math.max(
    0,
    valid - (step.created + step.updated + step.unchanged + step.skipped + step.failed),
  );
  const progress = latest.progress;
  return ports.executions.update(latest.id, {
    counts: { scopes: latest.counts.scopes, steps },
    progress: { ...progress, rowsDone: progress.rowsDone + chunk.rows, chunksDone: progress.chunksDone + 1 },
  });
}

/** The counts of a chunk whose results a crashed invocation already stored, or null. */
async function storedChunkCounts(
  ports: Ports,
  id: string,
  stepIndex: number,
  chunk: number,
): Promise<ChunkCounts | null> {
  const key = artifacts.resultsChunk(id, stepIndex, chunk);
  if (!(await ports.blobs.exists(key))) return null;
  const counts: ChunkCounts = { rows: 0, created: 0, updated: 0, unchanged: 0, skipped: 0, failed: 0 };
  for await (const r of readJsonlBlob<RowResult>(ports.blobs, key)) {
    counts.rows++;
    if (r.outcome !== 'unprocessed') counts[r.outcome]++;
  }
  return counts;
}

interface DryRunSnapshot {
  overlay: OverlaySnapshot;
  objects: ObjectDefinition[];
}

/**
 * A dry run writes nothing, yet later rows and steps must see what earlier ones would have written. Its
 * overlay is kept in a blob named by the position it was saved at (step, next chunk), so a retried
 * invocation always resumes from the state that matches its own cursor.
 */
async function loadDryRunState(
  ports: Ports,
  id: string,
  plan: ExecutionPlan,
  stepIndex: number,
  nextChunk: number,
): Promise<DryRunState> {
  const state = newDryRunState(ports);
  const key = dryRunStateKey(id, plan, stepIndex, nextChunk);
  if (key === null || !(await ports.blobs.exists(key))) return state;
  const snapshot = JSON.parse(await ports.blobs.readText(key)) as DryRunSnapshot;
  state.overlay.replay(snapshot.overlay);
  for (const object of snapshot.objects) state.objects.set(object.apiName, object);
  return state;
}

async function saveDryRunState(
  ports: Ports,
  id: string,
  stepIndex: number,
  nextChunk: number,
  state: DryRunState,
): Promise<void> {
  const snapshot: DryRunSnapshot = {
    overlay: state.overlay.snapshot(),
    objects: [...state.objects.values()],
  };
  await ports.blobs.put(artifacts.dryRunState(id, stepIndex, nextChunk), JSON.stringify(snapshot));
}

/** Where the state to resume from was saved: this step mid-way, or the end of the last earlier step. */
function dryRunStateKey(
  id: string,
  plan: ExecutionPlan,
  stepIndex: number,
  nextChunk: number,
): string | null {
  if (nextChunk > 0) return artifacts.dryRunState(id, stepIndex, nextChunk);
  for (let s = stepIndex - 1; s >= 0; s--) {
    const chunks = plan.scopes[plan.steps[s]!.scopeIndex]!.chunks;
    if (chunks > 0) return artifacts.dryRunState(id, s, chunks);
  }
  return null;
}
