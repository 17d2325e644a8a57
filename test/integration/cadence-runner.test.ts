import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CadenceRunner } from '../../lambdas/local/cadence-runner.ts';
import { setConnectorActive } from '../../lambdas/pipeline/control.ts';
import type { Ports } from '../../lambdas/pipeline/ports.ts';
import type { TickLogEntry } from '../../lambdas/pipeline/schedule-tick.ts';
import type { Clock } from '../../lambdas/ports/clock.ts';
import { openPipelineWorkspace, type ConnectorSpec, type PipelineWorkspace } from '../helpers/pipeline.ts';

/*
 * The cadence runner of `sc serve` against a local runtime: real timers and real ticks, with a clock set
 * about a second before a minute boundary so minute cadences tick at once. It ticks every scheduler and
 * webhook connector with a cadence, active or not, and follows connector changes.
 */

let ws: PipelineWorkspace;

beforeAll(async () => {
  ws = await openPipelineWorkspace([
    { apiName: 'r_ticks', name: 'Ticks', fields: [{ name: 'name', type: 'text' }] },
  ]);
});
afterAll(async () => {
  await ws?.close();
});

function connector(name: string, type: 'scheduler' | 'spreadsheet', cadence: string): ConnectorSpec {
  return {
    definition: {
      name,
      type,
      variables: [{ name: 'name', type: 'string', required: true }],
      loadSteps: [
        {
          name: 'Ticks',
          object: 'r_ticks',
          matching: [{ field: 'name', variable: 'name' }],
          mapping: [{ field: 'name', variable: 'name' }],
        },
      ],
      settings: { cadence },
    },
    sql: `CREATE TABLE output.ticks ENGINE = Memory AS
          SELECT concat('${name} ', schedule_trigger_time) AS name FROM input.schedule`,
  };
}

async function until(condition: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const start = Date.now();
  while (!(await condition())) {
    if (Date.now() - start > timeoutMs) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('CadenceRunner', () => {
  it('ticks scheduler connectors on their cadence, active or not, follows changes, and stops cleanly', async () => {
    await ws.writeConnector('minutely', connector('Minutely', 'scheduler', 'rate(1 minute)'));
    const minutely = (await ws.apply('minutely')).connector;
    await setConnectorActive(ws.ports, minutely.id, true);
    await ws.writeConnector('idle', connector('Idle', 'scheduler', 'cron(* * * * ? *)'));
    const idle = (await ws.apply('idle')).connector;
    await ws.writeConnector('sheet', connector('Sheet', 'spreadsheet', 'rate(1 minute)'));
    await ws.apply('sheet');

    // The runner's clock: a minute boundary is 1.5 s away.
    const offsetMs = 60_000 - (Date.now() % 60_000) - 1500;
    const clock: Clock = { now: () => new Date(Date.now() + offsetMs) };
    const boundary = new Date(Math.ceil(clock.now().getTime() / 60_000) * 60_000);
    const ports: Ports = { ...ws.ports, clock };
    const logs: TickLogEntry[] = [];
    const errors: unknown[] = [];
    const runner = new CadenceRunner(ports, {
      refreshMs: 100,
      log: (entry) => void logs.push(entry),
      onError: (error) => void errors.push(error),
    });
    await runner.start();
    try {
      // A spreadsheet connector never ticks; the others' first tick is the coming minute.
      expect(runner.scheduled()).toEqual([
        {
          connectorId: idle.id,
          apiName: 'idle',
          expression: 'cron(* * * * ? *)',
          timezone: 'UTC',
          next: boundary,
        },
        {
          connectorId: minutely.id,
          apiName: 'minutely',
          expression: 'rate(1 minute)',
          timezone: 'UTC',
          next: boundary,
        },
      ]);

      await until(() => logs.length === 2);
      const time = boundary.toISOString().replace('.000Z', 'Z');
      expect(logs.map((l) => [l.apiName, l.tickTime, l.outcome]).sort()).toEqual([
        ['idle', time, 'skipped'],
        ['minutely', time, 'registered'],
      ]);
      await ws.runtime.stateMachine.idle();
      expect((await ws.records('r_ticks')).map((r) => r.fields.name)).toEqual([`Minutely ${time}`]);
      // Next ticks a minute on.
      const nextMinute = new Date(boundary.getTime() + 60_000);
      expect(runner.scheduled().map((s) => s.next)).toEqual([nextMinute, nextMinute]);

      // Edits are picked up at the next refresh: a new cadence starts over, a spreadsheet stops ticking.
      await ws.writeConnector('minutely', connector('Minutely', 'scheduler', 'cron(0 6 * * ? *)'));
      await ws.apply('minutely');
      await ws.writeConnector('idle', connector('Idle', 'spreadsheet', 'cron(* * * * ? *)'));
      await ws.apply('idle');
      await until(
        () => runner.scheduled().length === 1 && runner.scheduled()[0]!.expression !== 'rate(1 minute)',
      );
      const [daily] = runner.scheduled();
      expect(daily).toMatchObject({ apiName: 'minutely', expression: 'cron(0 6 * * ? *)' });
      expect(daily!.next!.toISOString()).toMatch(/T06:00:00\.000Z$/);
    } finally {
      await runner.stop();
    }
    expect(runner.scheduled()).toEqual([]);
    expect(errors).toEqual([]);
  });

  it('keeps a rate anchored where it started when a read of its connector fails', async () => {
    await ws.writeConnector('fiver', connector('Fiver', 'scheduler', 'rate(5 minutes)'));
    await ws.apply('fiver');
    let now = Date.parse('2026-12-04T10:00:30Z');
    const clock: Clock = { now: () => new Date(now) };
    // The connector store times out while `failing`: every version read fails.
    let failing = false;
    const connectors = new Proxy(ws.ports.connectors, {
      get: (store, property) => {
        if (property === 'getVersion' && failing) {
          return async () => {
            throw new Error('DynamoDB timed out');
          };
        }
        const value = Reflect.get(store, property) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(store) : value;
      },
    });
    const errors: unknown[] = [];
    const runner = new CadenceRunner(
      { ...ws.ports, clock, connectors },
      { refreshMs: 3_600_000, log: () => {}, onError: (error) => void errors.push(error) },
    );
    const fiverNext = () => runner.scheduled().find((s) => s.apiName === 'fiver')?.next;
    const firstTick = new Date('2026-12-04T10:05:00Z');
    await runner.start();
    try {
      expect(fiverNext()).toEqual(firstTick);
      // Two minutes on, a refresh cannot read the connector: it keeps ticking from 10:00.
      now = Date.parse('2026-12-04T10:02:30Z');
      failing = true;
      await runner.refresh();
      expect(errors).toContainEqual(expect.objectContaining({ message: 'DynamoDB timed out' }));
      expect(fiverNext()).toEqual(firstTick);
      // The next refresh reads it again, unchanged: still anchored at 10:00, not restarted at 10:02.
      failing = false;
      await runner.refresh();
      expect(fiverNext()).toEqual(firstTick);
    } finally {
      await runner.stop();
    }
  });
});
