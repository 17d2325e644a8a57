import { canStart } from './execution-status.ts';
import { TERMINAL_STATUSES, type ConnectorStatus, type ExecutionStatus } from './model.ts';

/** One held concurrency slot of a connector: which live execution holds it, since when. */
export interface SlotHolder {
  /** 0-based; below the connector's limit when claimed (the limit may have been lowered since). */
  slot: number;
  executionId: string;
  claimedAt: string;
}

/** A queued execution, as far as dispatching needs it. */
export interface QueuedExecution {
  id: string;
  /** ISO 8601; arrival order. */
  createdAt: string;
  dryRun: boolean;
}

/**
 * The queued executions to start now, in arrival order (SPEC §7). Dry runs always start and do not count
 * against the limit. Live runs start only while the connector is operational or needs attention, and only
 * as many as `limit - running` (live runs running now); a limit of 0 pauses every live run, and a limit
 * lowered below `running` starts none until enough of them end.
 */
export function executionsToStart(input: {
  status: ConnectorStatus;
  limit: number;
  running: number;
  queued: readonly QueuedExecution[];
}): string[] {
  let liveRoom = canStart(input.status, false) ? Math.max(0, input.limit - input.running) : 0;
  const toStart: string[] = [];
  for (const execution of [...input.queued].sort(byArrival)) {
    if (execution.dryRun) {
      toStart.push(execution.id);
    } else if (liveRoom > 0) {
      toStart.push(execution.id);
      liveRoom--;
    }
  }
  return toStart;
}

/**
 * The slot a new claim takes: the lowest free one below `limit`, and only while fewer than `limit` slots
 * are held in all. Counting every holder, slots ≥ limit included, is what makes a lowered limit hold back
 * new runs until the runs admitted under the higher limit have ended. Null when no slot may be claimed.
 */
export function freeSlot(holders: readonly SlotHolder[], limit: number): number | null {
  if (holders.length >= limit) return null;
  const held = new Set(holders.map((h) => h.slot));
  // Fewer than `limit` holders leave at least one of the `limit` slots below it free.
  for (let slot = 0; slot < limit; slot++) if (!held.has(slot)) return slot;
  return null;
}

/**
 * The slots to free because their execution has ended or does not exist, so a run that crashed before
 * releasing its slot cannot hold it for ever. A queued execution keeps its slot: it was claimed by a
 * dispatcher that has yet to start it, and a retried dispatch gets the same slot back.
 */
export function slotsToReconcile(
  holders: readonly SlotHolder[],
  executionStatuses: ReadonlyMap<string, ExecutionStatus>,
): SlotHolder[] {
  return holders.filter((holder) => {
    const status = executionStatuses.get(holder.executionId);
    return status === undefined || TERMINAL_STATUSES.has(status);
  });
}

function byArrival(a: QueuedExecution, b: QueuedExecution): number {
  if (a.createdAt !== b.createdAt) return a.createdAt < b.createdAt ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}
