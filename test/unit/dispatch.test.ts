import { describe, expect, it } from 'vitest';
import {
  executionsToStart,
  freeSlot,
  slotsToReconcile,
  type QueuedExecution,
  type SlotHolder,
} from '../../lambdas/core/dispatch.ts';
import type { ConnectorStatus, ExecutionStatus } from '../../lambdas/core/model.ts';

/** Queued executions from a compact spec: `L` live, `D` dry, in arrival order (`l1`, `d2`, …). */
function queue(spec: string): QueuedExecution[] {
  return [...spec].map((kind, i) => ({
    id: `${kind.toLowerCase()}${i + 1}`,
    createdAt: `2024-05-01T10:00:0${i}.000Z`,
    dryRun: kind === 'D',
  }));
}

function holder(slot: number, executionId: string): SlotHolder {
  return { slot, executionId, claimedAt: '2024-05-01T10:00:00.000Z' };
}

describe('executionsToStart', () => {
  it.each<[string, ConnectorStatus, number, number, string, string[]]>([
    // case, status, limit, running, queued, started
    ['limit 0 pauses every live run', 'operational', 0, 0, 'LL', []],
    ['limit 1 starts the oldest live run', 'operational', 1, 0, 'LLL', ['l1']],
    ['limit 1 with one running starts none', 'operational', 1, 1, 'LL', []],
    ['limit N fills the free room', 'operational', 3, 1, 'LLLL', ['l1', 'l2']],
    ['limit N with more room than runs starts them all', 'operational', 5, 0, 'LL', ['l1', 'l2']],
    ['a lowered limit below the running count starts none', 'operational', 1, 3, 'LL', []],
    ['a lowered limit equal to the running count starts none', 'operational', 2, 2, 'L', []],
    ['need_attention runs like operational', 'need_attention', 2, 0, 'LLL', ['l1', 'l2']],
    ['an inactive connector holds live runs', 'inactive', 3, 0, 'LL', []],
    ['a connector in setup holds live runs', 'setup', 3, 0, 'LL', []],
    ['dry runs start when the connector is inactive', 'inactive', 3, 0, 'LDLD', ['d2', 'd4']],
    ['dry runs start under limit 0', 'operational', 0, 0, 'DLD', ['d1', 'd3']],
    ['dry runs start when the running count exceeds the limit', 'operational', 1, 4, 'LD', ['d2']],
    ['dry runs do not count against the limit', 'operational', 1, 0, 'DDLDL', ['d1', 'd2', 'l3', 'd4']],
    ['nothing queued starts nothing', 'operational', 3, 0, '', []],
  ])('%s', (_, status, limit, running, queued, started) => {
    expect(executionsToStart({ status, limit, running, queued: queue(queued) })).toEqual(started);
  });

  it('starts in arrival order, whatever order the executions are listed in', () => {
    const queued = queue('LDLL').reverse();
    expect(executionsToStart({ status: 'operational', limit: 2, running: 0, queued })).toEqual([
      'l1',
      'd2',
      'l3',
    ]);
  });

  it('breaks ties in arrival time by id, so every dispatcher picks the same runs', () => {
    const at = '2024-05-01T10:00:00.000Z';
    const queued = [
      { id: 'b', createdAt: at, dryRun: false },
      { id: 'a', createdAt: at, dryRun: false },
    ];
    expect(executionsToStart({ status: 'operational', limit: 1, running: 0, queued })).toEqual(['a']);
  });
});

describe('freeSlot', () => {
  it.each<[string, SlotHolder[], number, number | null]>([
    // case, holders, limit, slot
    ['limit 0 gives no slot', [], 0, null],
    ['the first claim takes slot 0', [], 3, 0],
    ['takes the lowest free slot', [holder(0, 'a'), holder(2, 'c')], 3, 1],
    ['all slots held gives none', [holder(0, 'a')], 1, null],
    ['limit N, all held', [holder(0, 'a'), holder(1, 'b'), holder(2, 'c')], 3, null],
    // Lowered from 3 to 1: slot 0 is free, but the runs in slots 1 and 2 still count.
    ['a lowered limit waits for the old slots to drain', [holder(1, 'b'), holder(2, 'c')], 1, null],
    ['a lowered limit waits while one old slot is held', [holder(2, 'c')], 1, null],
    ['a lowered limit with room takes a slot below it', [holder(2, 'c')], 2, 0],
    ['a raised limit takes a new slot', [holder(0, 'a')], 2, 1],
  ])('%s', (_, holders, limit, slot) => {
    expect(freeSlot(holders, limit)).toBe(slot);
  });
});

describe('slotsToReconcile', () => {
  const holders = [holder(0, 'queued'), holder(1, 'running'), holder(2, 'missing')];
  const live = new Map<string, ExecutionStatus>([
    ['queued', 'queued'],
    ['running', 'running'],
  ]);

  it('frees the slot of an execution that does not exist', () => {
    expect(slotsToReconcile(holders, live)).toEqual([holder(2, 'missing')]);
  });

  it.each<ExecutionStatus>(['succeeded', 'partial_success', 'failed', 'cancelled'])(
    'frees the slot of a %s execution',
    (status) => {
      const statuses = new Map(live).set('running', status);
      expect(slotsToReconcile(holders, statuses)).toEqual([holder(1, 'running'), holder(2, 'missing')]);
    },
  );

  it('keeps the slots of queued and running executions', () => {
    expect(slotsToReconcile(holders.slice(0, 2), live)).toEqual([]);
  });
});
