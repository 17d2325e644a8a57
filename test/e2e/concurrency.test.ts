import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Execution } from '../../lambdas/core/model.ts';
import { cancelExecution, setConnectorActive } from '../../lambdas/pipeline/control.ts';
import { dispatchConnector } from '../../lambdas/pipeline/dispatch.ts';
import { registerExecution } from '../../lambdas/pipeline/register.ts';
import { csv, itemsConnector, openPipelineWorkspace, type PipelineWorkspace } from '../helpers/pipeline.ts';

/*
 * Per-connector concurrency, queueing and cancel through the local runtime (SPEC §7, DESIGN
 * "Concurrency, idempotency, cancellation"): registrations are dispatched as in AWS and every run goes
 * through the synthesised state machine.
 */

let ws: PipelineWorkspace;
/** Executions whose Finalize task always fails (fault injection): their state machine execution fails. */
const failFinalize = new Set<string>();

beforeAll(async () => {
  ws = await openPipelineWorkspace(
    ['c_serial', 'c_paused', 'c_inactive', 'c_cancel', 'c_retry', 'c_dry', 'c_reap'].map((apiName) => ({
      apiName,
      name: apiName,
      fields: [
        { name: 'name', type: 'text' },
        { name: 'qty', type: 'integer' },
      ],
    })),
    {
      beforeTask: (task, input) => {
        if (task === 'finalize' && failFinalize.has((input as { executionId: string }).executionId)) {
          throw new Error('injected: Finalize fails');
        }
      },
    },
  );
});
afterAll(async () => {
  await ws?.close();
});

/** Applies the connector folder, activates it (unless told not to) and registers `count` uploads, queued. */
async function upload(folder: string, count: number, options: { dryRun?: boolean } = {}): Promise<string[]> {
  const applied = await ws.apply(folder);
  const ids: string[] = [];
  for (let i = 1; i <= count; i++) {
    const path = join(ws.dir, folder, 'data', `upload-${ids.length + 1}-${Date.now()}.csv`);
    await writeFile(path, csv(['name', 'qty'], [`R${i}`, i], ['Shared', i]));
    const execution = await registerExecution(ws.ports, {
      connectorRef: applied.connector.id,
      input: { path },
      dryRun: options.dryRun ?? false,
      trigger: 'upload',
      initiatedBy: 'test',
    });
    ids.push(execution.id);
  }
  return ids;
}

async function executions(ids: readonly string[]): Promise<Execution[]> {
  return Promise.all(ids.map(async (id) => (await ws.ports.executions.get(id))!));
}

async function dispatchAndSettle(connectorId: string): Promise<void> {
  await dispatchConnector(ws.ports, connectorId);
  await ws.runtime.stateMachine.idle();
}

describe('per-connector concurrency', () => {
  it('with a limit of 1, three uploads run one at a time, in arrival order', async () => {
    await ws.writeConnector('serial', {
      definition: itemsConnector('Serial', ['c_serial'], { maxConcurrentExecutions: 1 }),
    });
    const { connector } = await ws.apply('serial');
    await setConnectorActive(ws.ports, connector.id, true);
    const ids = await upload('serial', 3);

    // Follow how many live runs of the connector are running at once.
    let running = 0;
    let maxRunning = 0;
    const watchers = ids.map((id) =>
      ws.runtime.watch(id, async () => {
        const all = await executions(ids);
        running = all.filter((e) => e.status === 'running').length;
        maxRunning = Math.max(maxRunning, running);
      }),
    );
    await dispatchAndSettle(connector.id);
    watchers.forEach((stop) => stop());

    const ended = await executions(ids);
    expect(ended.map((e) => e.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    expect(maxRunning).toBe(1);
    // Each started only after the one before it ended.
    for (let i = 1; i < ended.length; i++) {
      expect(ended[i]!.startedAt! >= ended[i - 1]!.endedAt!).toBe(true);
    }
    // The shared row was updated by the runs in order: the last upload's quantity is stored.
    const shared = (await ws.records('c_serial')).find((r) => r.fields.name === 'Shared');
    expect(shared?.fields.qty).toBe(3);
    expect(await ws.ports.slots.holders(connector.id)).toEqual([]);
  });

  it('a limit of 0 holds live runs queued until it is raised; dry runs are not held back', async () => {
    await ws.writeConnector('paused', {
      definition: itemsConnector('Paused', ['c_paused'], { maxConcurrentExecutions: 0 }),
    });
    const { connector } = await ws.apply('paused');
    await setConnectorActive(ws.ports, connector.id, true);
    const live = await upload('paused', 2);
    const [dry] = await upload('paused', 1, { dryRun: true });
    await dispatchAndSettle(connector.id);
    expect((await executions(live)).map((e) => e.status)).toEqual(['queued', 'queued']);
    expect((await executions([dry!]))[0]!.status).toBe('succeeded');

    // Raising the limit (a new connector version) and dispatching starts what waited.
    await ws.writeConnector('paused', {
      definition: itemsConnector('Paused', ['c_paused'], { maxConcurrentExecutions: 2 }),
    });
    await ws.apply('paused');
    await dispatchAndSettle(connector.id);
    expect((await executions(live)).map((e) => e.status)).toEqual(['succeeded', 'succeeded']);
  });

  it('a deactivated connector queues live runs and starts them when reactivated', async () => {
    await ws.writeConnector('inactive', { definition: itemsConnector('Inactive', ['c_inactive'], {}) });
    const { connector } = await ws.apply('inactive');
    await setConnectorActive(ws.ports, connector.id, true);
    await setConnectorActive(ws.ports, connector.id, false);
    const ids = await upload('inactive', 2);
    await dispatchAndSettle(connector.id);
    expect((await executions(ids)).map((e) => e.status)).toEqual(['queued', 'queued']);
    expect((await ws.ports.connectors.getConnector(connector.id))!.status).toBe('inactive');

    await setConnectorActive(ws.ports, connector.id, true);
    await ws.runtime.stateMachine.idle();
    const ended = await executions(ids);
    expect(ended.map((e) => e.status)).toEqual(['succeeded', 'succeeded']);
    expect(ended[1]!.startedAt! >= ended[0]!.endedAt!).toBe(true);
    expect((await ws.ports.connectors.getConnector(connector.id))!.status).toBe('operational');
  });
});

describe('cancel', () => {
  it('cancels a queued execution at once and a running one at its next chunk boundary', async () => {
    await ws.writeConnector('cancel', {
      definition: itemsConnector('Cancel', ['c_cancel'], { maxConcurrentExecutions: 1, chunkSize: 1 }),
    });
    const { connector } = await ws.apply('cancel');
    await setConnectorActive(ws.ports, connector.id, true);
    const [first, second] = await upload('cancel', 2);

    const queued = await cancelExecution(ws.ports, second!);
    expect(queued.status).toBe('cancelled');
    expect(queued.endedAt).not.toBeNull();

    // The first run is cancelled after its first chunk (of two).
    let requested = false;
    const stop = ws.runtime.watch(first!, async (event) => {
      if (event.stage === 'load' && !requested) {
        requested = true;
        await cancelExecution(ws.ports, first!);
      }
    });
    await dispatchAndSettle(connector.id);
    stop();
    const [running, stillCancelled] = await executions([first!, second!]);
    expect(running!.status).toBe('cancelled');
    expect(running!.counts.steps[0]).toMatchObject({ created: 1, unprocessed: 1 });
    expect(running!.reportKey).not.toBeNull();
    expect(stillCancelled!.startedAt).toBeNull(); // never ran
    await expect(cancelExecution(ws.ports, first!)).rejects.toMatchObject({ code: 'EXECUTION_ENDED' });
    expect(await ws.ports.slots.holders(connector.id)).toEqual([]);
  });
});

describe('slots never leak', () => {
  it('a run whose state machine execution fails is ended by the reaper, and its slot goes to the next run', async () => {
    await ws.writeConnector('reap', {
      definition: itemsConnector('Reap', ['c_reap'], { maxConcurrentExecutions: 1 }),
    });
    const { connector } = await ws.apply('reap');
    await setConnectorActive(ws.ports, connector.id, true);
    const [crashing, next] = await upload('reap', 2);
    failFinalize.add(crashing!);
    await dispatchAndSettle(connector.id);

    const [crashed, ran] = await executions([crashing!, next!]);
    expect(crashed).toMatchObject({ status: 'failed', error: { code: 'PIPELINE_FAILED' } });
    expect(ran!.status).toBe('succeeded');
    expect(await ws.ports.slots.holders(connector.id)).toEqual([]);
  });
});

describe('retries', () => {
  it('a chunk that fails after writing its records is retried by the state machine without duplicating them', async () => {
    await ws.writeConnector('retry', { definition: itemsConnector('Retry', ['c_retry'], { chunkSize: 1 }) });
    const { connector } = await ws.apply('retry');
    await setConnectorActive(ws.ports, connector.id, true);
    const [id] = await upload('retry', 1);

    // Fault injection on the real blob store: the first results file of the run fails to be stored,
    // after the chunk's records were written. The LoadChunks task fails and Step Functions retries it.
    const blobs = ws.ports.blobs;
    const put = blobs.put.bind(blobs);
    let failed = 0;
    blobs.put = async (key, body) => {
      if (key.includes(`${id}/results/`) && failed === 0) {
        failed++;
        throw new Error('injected: the results could not be stored');
      }
      return put(key, body);
    };
    try {
      await dispatchAndSettle(connector.id);
    } finally {
      blobs.put = put;
    }
    expect(failed).toBe(1);
    const [execution] = await executions([id!]);
    expect(execution!.status).toBe('succeeded');
    const records = await ws.records('c_retry');
    expect(records.map((r) => r.fields.name)).toEqual(['R1', 'Shared']);
  });
});
