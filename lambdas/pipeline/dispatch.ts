import { executionsToStart, slotsToReconcile } from '../core/dispatch.ts';
import type { ExecutionStatus } from '../core/model.ts';
import type { Ports } from './ports.ts';

/**
 * Starts what may start now of a connector's queued executions, in arrival order (SPEC §7): every dry
 * run, and live runs while the connector is runnable, each only after it claimed one of the connector's
 * `maxConcurrentExecutions` slots. Run after a registration, when a run ends (Finalize), when the
 * connector is reactivated and when its limit is raised. Slots whose execution ended or vanished are
 * freed first, so a run that crashed without releasing its slot cannot block the connector. It reads
 * the connector's active executions only (`listActiveByConnector`), never its whole history.
 *
 * Safe to repeat and to run concurrently: claims are conditional writes, a claim is idempotent per
 * execution, and starting an execution twice starts it once. Returns the ids it started.
 */
export async function dispatchConnector(ports: Ports, connectorId: string): Promise<string[]> {
  const connector = await ports.connectors.getConnector(connectorId);
  if (!connector) return [];
  // Holders first: a slot claimed before this read belongs to an execution registered before it, which
  // the list read next holds unless it ended. Read the other way round, a run registered and started in
  // between would hold a slot this dispatch does not know, and lose it.
  let holders = await ports.slots.holders(connector.id);
  const executions = await ports.executions.listActiveByConnector(connector.id);
  const statuses = new Map<string, ExecutionStatus>(executions.map((e) => [e.id, e.status]));
  for (const stale of slotsToReconcile(holders, statuses)) {
    await ports.slots.release(connector.id, stale.executionId);
  }
  holders = await ports.slots.holders(connector.id);

  const queued = executions.filter((e) => e.status === 'queued' && !e.cancelRequested);
  const queuedIds = new Set(queued.map((e) => e.id));
  const version = await ports.connectors.getVersion(connector.id, connector.version);
  const limit = version?.definition.settings.maxConcurrentExecutions ?? 1;
  const toStart = executionsToStart({
    status: connector.status,
    limit,
    // Live runs holding a slot that already left the queue; a queued holder is started again below.
    running: holders.filter((h) => !queuedIds.has(h.executionId)).length,
    queued: queued.map((e) => ({ id: e.id, createdAt: e.createdAt, dryRun: e.dryRun })),
  });

  const started: string[] = [];
  const dryRuns = new Set(queued.filter((e) => e.dryRun).map((e) => e.id));
  for (const id of toStart) {
    if (!dryRuns.has(id) && (await ports.slots.claim(connector.id, limit, id)) === null) continue;
    await ports.orchestrator.start(id);
    started.push(id);
  }
  return started;
}
