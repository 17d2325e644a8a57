import { UsageError } from '../core/errors.ts';
import { TERMINAL_STATUSES, type ConnectorStatus, type Execution } from '../core/model.ts';
import type { ConnectorRecord } from '../ports/connector-store.ts';
import { loadExecution } from './context.ts';
import { dispatchConnector } from './dispatch.ts';
import { finalizeExecution } from './finalize.ts';
import type { Ports } from './ports.ts';
import { syncSchedule } from './schedules-sync.ts';
import { notifyTask } from './state-tasks.ts';

/*
 * What the API and the CLI do to connectors and executions besides starting them (SPEC §7). Each ends
 * with a dispatch when it may let queued runs start.
 */

/**
 * Activates (`operational`) or deactivates (`inactive`) a connector. Activation dispatches, so live runs
 * that waited while it was inactive start in arrival order. Running executions are never stopped.
 * Activation checks (definition-checks) are the caller's, before this.
 */
export async function setConnectorActive(
  ports: Ports,
  connectorRef: string,
  active: boolean,
): Promise<ConnectorRecord> {
  const connector = await ports.connectors.getConnector(connectorRef);
  if (!connector) throw new UsageError('CONNECTOR_NOT_FOUND', `No connector "${connectorRef}".`);
  const runnable: ConnectorStatus[] = ['operational', 'need_attention'];
  const status: ConnectorStatus = active
    ? runnable.includes(connector.status)
      ? connector.status
      : 'operational'
    : 'inactive';
  const updated =
    status === connector.status
      ? connector
      : await ports.connectors.updateConnector(connector.id, { status });
  // The schedule outlives deactivation (its ticks are skipped and logged); syncing here also repairs
  // a schedule an earlier save failed to write, at the moment the user expects ticks to start.
  await syncSchedule(ports, updated.id);
  if (active) await dispatchConnector(ports, updated.id);
  return updated;
}

/**
 * Cancels an execution (SPEC §7): a queued one at once (ended `cancelled`, its slot freed, the
 * execution-ended webhook sent); a running one at its next chunk boundary. Cancelling an ended
 * execution is refused with EXECUTION_ENDED.
 */
export async function cancelExecution(ports: Ports, executionId: string): Promise<Execution> {
  const execution = await loadExecution(ports, executionId);
  if (TERMINAL_STATUSES.has(execution.status)) {
    throw new UsageError(
      'EXECUTION_ENDED',
      `Execution ${executionId} already ended (${execution.status}); there is nothing to cancel.`,
    );
  }
  const flagged = await ports.executions.update(executionId, { cancelRequested: true });
  if (flagged.status !== 'queued') return flagged;
  // A queued run may have been dispatched a moment ago; Prepare then sees the flag and does not start it.
  await finalizeExecution(ports, executionId, { status: 'cancelled', error: null }, null);
  await ports.slots.release(execution.connectorId, executionId);
  await notifyTask(ports, { executionId });
  await dispatchConnector(ports, execution.connectorId);
  return loadExecution(ports, executionId);
}
