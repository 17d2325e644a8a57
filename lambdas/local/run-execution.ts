import { canStart, finalExecutionStatus } from '../core/execution-status.ts';
import { ScError, errorMessage } from '../core/errors.ts';
import { TERMINAL_STATUSES, type Execution, type StepCounts } from '../core/model.ts';
import type { ExecutionPlan } from '../pipeline/artifacts.ts';
import { buildReportStage, type RunOutcome } from '../pipeline/build-report.ts';
import { loadContext, loadExecution } from '../pipeline/context.ts';
import { finalizeExecution } from '../pipeline/finalize.ts';
import { loadChunk, newDryRunState } from '../pipeline/load-chunk.ts';
import { notifyExecutionEnded } from '../pipeline/notify.ts';
import type { Ports } from '../pipeline/ports.ts';
import { resolveVariablesStage } from '../pipeline/resolve-variables.ts';
import { runSqlStage } from '../pipeline/run-sql.ts';

/**
 * Called as the run moves on. A listener may return a promise: the run waits for it, so a listener that
 * requests a cancel is seen at the very next chunk boundary.
 */
export type ProgressListener = (event: ProgressEvent) => void | Promise<void>;

export interface ProgressEvent {
  stage: 'sql' | 'variables' | 'load' | 'report';
  step?: { index: number; name: string; count: number };
  done: number;
  total: number;
}

/**
 * Runs one registered execution through every stage in this process, in the order the state machine
 * runs them: SQL → variables → each load step chunk by chunk → report → finalize → notify (webhook and
 * emails). Returns the ended execution, or the still-queued one when the connector cannot start live runs.
 */
export async function runExecution(
  ports: Ports,
  executionId: string,
  onProgress: ProgressListener = () => {},
): Promise<Execution> {
  const execution = await runToEnd(ports, executionId, onProgress);
  return TERMINAL_STATUSES.has(execution.status) ? notifyExecutionEnded(ports, executionId) : execution;
}

async function runToEnd(ports: Ports, executionId: string, onProgress: ProgressListener): Promise<Execution> {
  let execution = await loadExecution(ports, executionId);
  const connector = await ports.connectors.getConnector(execution.connectorId);
  // Only a queued execution starts: one that ran, or was cancelled while it waited, is left as it is.
  if (execution.status !== 'queued') return execution;
  if (!connector || !canStart(connector.status, execution.dryRun)) return execution;
  execution = await ports.executions.update(executionId, {
    status: 'running',
    stage: 'sql',
    startedAt: ports.clock.now().toISOString(),
  });

  let plan: ExecutionPlan;
  try {
    await onProgress({ stage: 'sql', done: 0, total: 1 });
    const sql = await runSqlStage(ports, executionId);
    await onProgress({ stage: 'variables', done: 0, total: 1 });
    plan = await resolveVariablesStage(ports, executionId, sql);
  } catch (error) {
    // SPEC §4: a SQL (or variable-stage) failure fails the execution with no report; the input is kept.
    return finalizeExecution(ports, executionId, { status: 'failed', error: toExecutionError(error) }, null);
  }

  let outcome: RunOutcome;
  try {
    outcome = await loadSteps(ports, execution, plan, onProgress);
  } catch (error) {
    outcome = { status: 'failed', error: toExecutionError(error), unprocessedCode: 'EXECUTION_FAILED' };
  }
  await onProgress({ stage: 'report', done: 0, total: 1 });
  try {
    await buildReportStage(ports, executionId, plan, outcome);
  } catch (error) {
    // The rows were loaded; only the report is missing. The run still ends, as failed, with the reason.
    const cause = toExecutionError(error);
    outcome = {
      status: 'failed',
      error: { code: 'REPORT_FAILED', message: `The report could not be written: ${cause.message}` },
    };
  }
  return finalizeExecution(ports, executionId, outcome, plan);
}

async function loadSteps(
  ports: Ports,
  execution: Execution,
  plan: ExecutionPlan,
  onProgress: ProgressListener,
): Promise<RunOutcome> {
  const { definition, execution: current } = await loadContext(ports, execution.id);
  const scopeCounts = current.counts.scopes;
  // A dry run keeps every write in memory for the whole run, so later rows and steps see what earlier
  // ones would have written, and nothing reaches the store.
  const dryRun = execution.dryRun ? newDryRunState(ports) : undefined;
  const steps: StepCounts[] = plan.steps.map((s) => ({
    name: s.name,
    object: s.object,
    created: 0,
    updated: 0,
    unchanged: 0,
    skipped: 0,
    failed: 0,
    unprocessed: 0,
  }));
  const chunksTotal = plan.steps.reduce((n, s) => n + plan.scopes[s.scopeIndex]!.chunks, 0);
  const rowsTotal = plan.steps.reduce((n, s) => n + plan.scopes[s.scopeIndex]!.valid, 0);
  let chunksDone = 0;
  let rowsDone = 0;
  let stop: { code: string; error: RunOutcome['error']; status: RunOutcome['status'] } | null = null;
  await ports.executions.update(execution.id, {
    stage: 'load',
    progress: { rowsDone, rowsTotal, chunksDone, chunksTotal },
  });

  outer: for (const [stepIndex, step] of plan.steps.entries()) {
    const scope = plan.scopes[step.scopeIndex]!;
    const counts = steps[stepIndex]!;
    for (let chunk = 0; chunk < scope.chunks; chunk++) {
      if ((await loadExecution(ports, execution.id)).cancelRequested) {
        stop = { code: 'CANCELLED', error: null, status: 'cancelled' };
        break outer;
      }
      try {
        const result = await loadChunk(ports, execution.id, stepIndex, chunk, { dryRun });
        for (const key of ['created', 'updated', 'unchanged', 'skipped', 'failed'] as const)
          counts[key] += result[key];
        rowsDone += result.rows;
      } catch (error) {
        stop = { code: 'EXECUTION_FAILED', error: toExecutionError(error), status: 'failed' };
        break outer;
      }
      chunksDone++;
      await onProgress({
        stage: 'load',
        step: { index: stepIndex, name: step.name, count: plan.steps.length },
        done: chunksDone,
        total: chunksTotal,
      });
      await ports.executions.update(execution.id, {
        progress: { rowsDone, rowsTotal, chunksDone, chunksTotal },
        counts: { scopes: scopeCounts, steps: withUnprocessed(steps, plan) },
      });
      const limit = definition.settings.maxFailedRowsPercent;
      const processed = counts.created + counts.updated + counts.unchanged + counts.skipped + counts.failed;
      if (limit !== undefined && processed > 0 && (counts.failed / processed) * 100 > limit) {
        stop = {
          code: 'STOP_RULE',
          status: 'failed',
          error: {
            code: 'STOP_RULE',
            message: `Step "${step.name}" failed ${counts.failed} of ${processed} rows, more than maxFailedRowsPercent (${limit}%); the run stopped.`,
          },
        };
        break outer;
      }
    }
  }

  const finalCounts = { scopes: scopeCounts, steps: withUnprocessed(steps, plan) };
  await ports.executions.update(execution.id, { counts: finalCounts });
  if (stop) return { status: stop.status, error: stop.error, unprocessedCode: stop.code };
  return {
    status: finalExecutionStatus({ cancelled: false, failed: false, counts: finalCounts }),
    error: null,
  };
}

function withUnprocessed(steps: StepCounts[], plan: ExecutionPlan): StepCounts[] {
  return steps.map((s, i) => {
    const valid = plan.scopes[plan.steps[i]!.scopeIndex]!.valid;
    const processed = s.created + s.updated + s.unchanged + s.skipped + s.failed;
    return { ...s, unprocessed: Math.max(0, valid - processed) };
  });
}

export function toExecutionError(error: unknown): { code: string; message: string } {
  if (error instanceof ScError) return { code: error.code, message: error.message };
  return { code: 'INTERNAL_ERROR', message: errorMessage(error) };
}
