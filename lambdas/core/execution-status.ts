import type { ConnectorStatus, ExecutionCounts, ExecutionStatus } from './model.ts';

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
