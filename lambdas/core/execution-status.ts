import type {
  ConnectorStatus,
  Execution,
  ExecutionCounts,
  ExecutionError,
  ExecutionStatus,
  RunStop,
  StepCounts,
} from './model.ts';

/**
 * How an execution ended (SPEC §7): cancelled wins, then an execution-level error fails it; otherwise
 * any invalid or failed row makes it a partial success. Rows skipped by a configured `do_not_upload`
 * action are the connector doing what it was told, so they do not count against success.
 */
export function finalExecutionStatus(input: {
  cancelled: boolean;
  failed: boolean;
  counts: ExecutionCounts;
}): ExecutionStatus {
  if (input.cancelled) return 'cancelled';
  if (input.failed) return 'failed';
  const invalid = Object.values(input.counts.scopes).some((s) => s.invalid > 0);
  const failedRows = input.counts.steps.some((s) => s.failed > 0);
  return invalid || failedRows ? 'partial_success' : 'succeeded';
}

/**
 * The connector's status after a run ends. Only live runs change it, and only while the connector is
 * runnable (a connector deactivated mid-run stays inactive); a cancelled run says nothing about health.
 */
export function connectorStatusAfterRun(
  current: ConnectorStatus,
  outcome: ExecutionStatus,
  dryRun: boolean,
): ConnectorStatus {
  if (dryRun || outcome === 'cancelled') return current;
  if (current !== 'operational' && current !== 'need_attention') return current;
  return outcome === 'succeeded' ? 'operational' : 'need_attention';
}

/** Live runs start only while the connector is operational or needs attention; dry runs always may. */
export function canStart(status: ConnectorStatus, dryRun: boolean): boolean {
  return dryRun || status === 'operational' || status === 'need_attention';
}

/** SPEC §10: 0 succeeded, 3 partial success, 1 failed or cancelled. */
export function exitCodeFor(status: ExecutionStatus): number {
  switch (status) {
    case 'succeeded':
      return 0;
    case 'partial_success':
      return 3;
    default:
      return 1;
  }
}

/** How a run ended, as the report, the execution and the webhook tell it. */
export interface RunOutcome {
  status: ExecutionStatus;
  error: ExecutionError | null;
  /** Why rows a run never reached are unprocessed: `CANCELLED`, `STOP_RULE`, `EXECUTION_FAILED`. */
  unprocessedCode?: string;
}

/**
 * How a run ended, from what its execution records: a stop during loading (cancel, stop rule, failed
 * chunk) first, then an execution-level error (SQL or variables), otherwise the row counts decide.
 */
export function runOutcome(execution: Pick<Execution, 'error' | 'stop' | 'counts'>): RunOutcome {
  const { stop } = execution;
  if (stop) {
    return {
      status: stop.code === 'CANCELLED' ? 'cancelled' : 'failed',
      error: stop.error,
      unprocessedCode: stop.code,
    };
  }
  if (execution.error) return { status: 'failed', error: execution.error };
  return {
    status: finalExecutionStatus({ cancelled: false, failed: false, counts: execution.counts }),
    error: null,
  };
}

/**
 * SPEC §7's stop rule: a step that has failed more than `maxFailedRowsPercent` of the rows it processed
 * stops the run. Null while the step is within the limit, or when no limit is set.
 */
export function stopRuleBreach(step: StepCounts, limit: number | undefined): RunStop | null {
  const processed = step.created + step.updated + step.unchanged + step.skipped + step.failed;
  if (limit === undefined || processed === 0 || (step.failed / processed) * 100 <= limit) return null;
  return {
    code: 'STOP_RULE',
    error: {
      code: 'STOP_RULE',
      message: `Step "${step.name}" failed ${step.failed} of ${processed} rows, more than maxFailedRowsPercent (${limit}%); the run stopped.`,
    },
  };
}
