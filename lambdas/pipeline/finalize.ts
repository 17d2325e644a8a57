import { connectorStatusAfterRun } from '../core/execution-status.ts';
import type { Execution, RowResult } from '../core/model.ts';
import { artifacts, type ExecutionPlan } from './artifacts.ts';
import type { RunOutcome } from '../core/execution-status.ts';
import { readJsonlBlob } from './jsonl.ts';
import type { Ports } from './ports.ts';

/**
 * Ends an execution: its status and end time, the connector's status (live runs only), and — after a
 * successful or partly successful live run — the diff-check baseline: the hash and record id of every
 * row the run loaded (created, updated or unchanged). A live run stopped during loading clears it.
 */
export async function finalizeExecution(
  ports: Ports,
  executionId: string,
  outcome: RunOutcome,
  plan: ExecutionPlan | null,
): Promise<Execution> {
  const execution = await ports.executions.update(executionId, {
    status: outcome.status,
    error: outcome.error,
    stage: 'done',
    endedAt: ports.clock.now().toISOString(),
  });
  const connector = await ports.connectors.getConnector(execution.connectorId);
  if (!connector) return execution;

  const loadedSomething = outcome.status === 'succeeded' || outcome.status === 'partial_success';
  if (!execution.dryRun && loadedSomething && plan) {
    for (const [stepIndex, step] of plan.steps.entries()) {
      const lines: string[] = [];
      for (let chunk = 0; chunk < plan.scopes[step.scopeIndex]!.chunks; chunk++) {
        const key = artifacts.resultsChunk(executionId, stepIndex, chunk);
        if (!(await ports.blobs.exists(key))) continue;
        for await (const r of readJsonlBlob<RowResult>(ports.blobs, key)) {
          if (
            r.recordId &&
            (r.outcome === 'created' || r.outcome === 'updated' || r.outcome === 'unchanged')
          ) {
            lines.push(`${r.hash}\t${r.recordId}`);
          }
        }
      }
      await ports.blobs.put(artifacts.baseline(executionId, stepIndex), lines.join('\n'));
    }
  }
  const status = connectorStatusAfterRun(connector.status, outcome.status, execution.dryRun);
  // A live run that reached the load stage but ended cancelled or failed may have changed records it
  // never reported as loaded: the old baseline could then skip rows whose records no longer hold those
  // values, so it is dropped and the next diff-checked run loads every row.
  const reachedLoad = plan !== null && !execution.dryRun;
  const baseline = reachedLoad ? (loadedSomething ? executionId : null) : connector.diffBaselineExecutionId;
  if (status !== connector.status || baseline !== connector.diffBaselineExecutionId) {
    await ports.connectors.updateConnector(connector.id, { status, diffBaselineExecutionId: baseline });
  }
  return execution;
}
