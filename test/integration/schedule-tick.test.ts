import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handler } from '../../lambdas/handlers/schedule-tick.ts';
import { setConnectorActive } from '../../lambdas/pipeline/control.ts';
import {
  tickConnector,
  tickExecutionId,
  type TickLogEntry,
  type TickResult,
} from '../../lambdas/pipeline/schedule-tick.ts';
import type { ConnectorSpec } from '../helpers/pipeline.ts';
import { openPipelineWorkspace, storedRecord, type PipelineWorkspace } from '../helpers/pipeline.ts';

/*
 * Scheduler ticks (SPEC §8): a tick of an active scheduler connector becomes one execution whose input is
 * `input.schedule(schedule_trigger_time)`, run by the local state machine through SQL (with reference
 * data) into records; the same tick again makes nothing new; ticks of connectors that are not active are
 * skipped and logged.
 */

let ws: PipelineWorkspace;
const logs: TickLogEntry[] = [];
const log = (entry: TickLogEntry) => void logs.push(entry);

beforeAll(async () => {
  ws = await openPipelineWorkspace([
    {
      apiName: 't_products',
      name: 'Products',
      fields: [
        { name: 'name', type: 'text' },
        { name: 'price', type: 'decimal' },
        { name: 'priced_at', type: 'datetime' },
      ],
    },
    {
      apiName: 't_ticks',
      name: 'Ticks',
      fields: [
        { name: 'name', type: 'text' },
        { name: 'at', type: 'datetime' },
        { name: 'hour', type: 'integer' },
        { name: 'trigger', type: 'text' },
      ],
    },
  ]);
  await ws.writeRecords('t_products', [
    storedRecord('t_products', '00000000-0000-4000-8000-000000000001', { name: 'Apples', price: 2 }),
    storedRecord('t_products', '00000000-0000-4000-8000-000000000002', { name: 'Pears', price: 3 }),
  ]);
});
afterAll(async () => {
  await ws?.close();
});

/** Logs each tick in `input.schedule`, with its hour read as a DateTime and the trigger SQL sees. */
const tickLogger: ConnectorSpec = {
  definition: {
    name: 'Tick logger',
    type: 'scheduler',
    variables: [
      { name: 'name', type: 'string', required: true },
      { name: 'at', type: 'datetime', required: true },
      { name: 'hour', type: 'number' },
      { name: 'trigger', type: 'string' },
    ],
    loadSteps: [
      {
        name: 'Ticks',
        object: 't_ticks',
        matching: [{ field: 'name', variable: 'name' }],
        mapping: [
          { field: 'name', variable: 'name' },
          { field: 'at', variable: 'at' },
          { field: 'hour', variable: 'hour' },
          { field: 'trigger', variable: 'trigger' },
        ],
      },
    ],
    settings: { cadence: 'rate(1 hour)', timezone: 'Europe/Paris' },
  },
  sql: `
    CREATE TABLE output.ticks ENGINE = Memory AS
    SELECT concat('tick ', schedule_trigger_time) AS name,
           schedule_trigger_time AS at,
           toHour(parseDateTimeBestEffort(schedule_trigger_time)) AS hour,
           (SELECT trigger_type FROM meta.current_execution) AS trigger
    FROM input.schedule`,
};

/** Reprices every product from reference data at each tick (the example's pattern). */
const repricer: ConnectorSpec = {
  definition: {
    name: 'Repricer',
    type: 'scheduler',
    referenceData: [{ object: 't_products', fields: ['name', 'price'] }],
    variables: [
      { name: 'id', type: 'string', required: true },
      { name: 'price', type: 'number', required: true },
      { name: 'priced_at', type: 'datetime', required: true },
    ],
    loadSteps: [
      {
        name: 'Products',
        object: 't_products',
        matching: [{ matchByRecordId: true, variable: 'id', onNoMatch: 'do_not_upload' }],
        mapping: [
          { field: 'price', variable: 'price', conflict: 'overwrite' },
          { field: 'priced_at', variable: 'priced_at', conflict: 'overwrite' },
        ],
      },
    ],
    settings: { cadence: 'cron(0 6 * * ? *)' },
  },
  sql: `
    CREATE TABLE output.products ENGINE = Memory AS
    SELECT p.id AS id, toDecimal64(p.price, 2) * 2 AS price, s.schedule_trigger_time AS priced_at
    FROM records.t_products AS p CROSS JOIN input.schedule AS s`,
};

async function activated(folder: string, spec: ConnectorSpec): Promise<string> {
  await ws.writeConnector(folder, spec);
  const { connector } = await ws.apply(folder);
  await setConnectorActive(ws.ports, connector.id, true);
  return connector.id;
}

async function tick(connectorId: string, at: string): Promise<TickResult> {
  const result = await tickConnector(ws.ports, connectorId, new Date(at), { log });
  await ws.runtime.stateMachine.idle();
  return result;
}

describe('tickConnector', () => {
  it('runs a scheduler connector on input.schedule(schedule_trigger_time), once per tick', async () => {
    const id = await activated('tick_logger', tickLogger);
    const first = await tick(id, '2026-06-01T10:00:00.123Z');
    expect(first).toEqual({
      connectorId: id,
      tickTime: '2026-06-01T10:00:00Z',
      outcome: 'registered',
      executionId: tickExecutionId(id, '2026-06-01T10:00:00Z'),
      started: true,
    });
    if (first.outcome !== 'registered') throw new Error('not registered');
    const execution = (await ws.ports.executions.get(first.executionId))!;
    expect(execution).toMatchObject({
      status: 'succeeded',
      trigger: 'schedule',
      dryRun: false,
      initiatedBy: 'schedule:rate(1 hour)',
      inputFile: { name: 'schedule.csv', table: 'schedule' },
    });
    expect(execution.counts.scopes).toEqual({ ticks: { rows: 1, valid: 1, invalid: 0 } });
    expect((await ws.records('t_ticks')).map((r) => r.fields)).toEqual([
      { name: 'tick 2026-06-01T10:00:00Z', at: '2026-06-01T10:00:00.000Z', hour: 10, trigger: 'schedule' },
    ]);
    expect(logs.at(-1)).toMatchObject({
      event: 'schedule.tick',
      level: 'info',
      apiName: 'tick_logger',
      outcome: 'registered',
      message: `Tick at 2026-06-01T10:00:00Z: execution ${first.executionId} of tick_logger registered and started.`,
    });

    // The same tick delivered again (Scheduler and Lambda both retry): nothing new.
    const again = await tick(id, '2026-06-01T10:00:00Z');
    expect(again).toMatchObject({ outcome: 'duplicate', executionId: first.executionId, started: false });
    expect(logs.at(-1)!.message).toContain('was registered by an earlier delivery of this tick');
    const next = await tick(id, '2026-06-01T11:00:00Z');
    expect(next).toMatchObject({ outcome: 'registered', started: true });
    const executions = await ws.ports.executions.listByConnector(id);
    expect(executions).toHaveLength(2);
    expect((await ws.records('t_ticks')).map((r) => r.fields.name)).toEqual([
      'tick 2026-06-01T10:00:00Z',
      'tick 2026-06-01T11:00:00Z',
    ]);
  });

  it('registers one execution when the same tick arrives twice at once', async () => {
    const id = (await ws.apply('tick_logger')).connector.id;
    const results = await Promise.all([
      tickConnector(ws.ports, id, new Date('2026-06-01T12:00:00Z'), { log }),
      tickConnector(ws.ports, id, new Date('2026-06-01T12:00:00Z'), { log }),
    ]);
    await ws.runtime.stateMachine.idle();
    expect(results.map((r) => r.outcome).sort()).toEqual(['duplicate', 'registered']);
    const at12 = (await ws.ports.executions.listByConnector(id)).filter(
      (e) => e.id === tickExecutionId(id, '2026-06-01T12:00:00Z'),
    );
    expect(at12).toHaveLength(1);
    expect(at12[0]!.status).toBe('succeeded');
  });

  it('works from reference data: records.<object> joined with the tick', async () => {
    const id = await activated('repricer', repricer);
    const result = await tick(id, '2026-06-02T06:00:00Z');
    expect(result.outcome).toBe('registered');
    const products = await ws.records('t_products');
    expect(products.map((p) => [p.fields.name, p.fields.price, p.fields.priced_at])).toEqual([
      ['Apples', 4, '2026-06-02T06:00:00.000Z'],
      ['Pears', 6, '2026-06-02T06:00:00.000Z'],
    ]);
  });

  it('queues the tick while the connector may run nothing (limit 0)', async () => {
    await ws.writeConnector('paused', {
      ...tickLogger,
      definition: {
        ...tickLogger.definition,
        name: 'Paused logger',
        settings: { cadence: 'rate(1 hour)', maxConcurrentExecutions: 0 },
      },
    });
    const { connector } = await ws.apply('paused');
    await setConnectorActive(ws.ports, connector.id, true);
    const result = await tick(connector.id, '2026-06-03T08:00:00Z');
    expect(result).toMatchObject({ outcome: 'registered', started: false });
    expect(logs.at(-1)!.message).toContain('; it waits in the queue for a slot.');
    if (result.outcome !== 'registered') throw new Error('not registered');
    expect((await ws.ports.executions.get(result.executionId))!.status).toBe('queued');
  });

  it('skips and logs ticks of a connector that is not active, creating nothing', async () => {
    await ws.writeConnector('idle', {
      ...tickLogger,
      definition: { ...tickLogger.definition, name: 'Idle logger' },
    });
    const { connector } = await ws.apply('idle');
    const id = connector.id;
    expect(connector.status).toBe('setup');
    expect(await tick(id, '2026-06-04T09:00:00Z')).toEqual({
      connectorId: id,
      tickTime: '2026-06-04T09:00:00Z',
      outcome: 'skipped',
      reason: 'not_active',
      status: 'setup',
    });
    await setConnectorActive(ws.ports, id, true);
    await setConnectorActive(ws.ports, id, false);
    expect(await tick(id, '2026-06-04T10:00:00Z')).toMatchObject({
      outcome: 'skipped',
      reason: 'not_active',
      status: 'inactive',
    });
    expect(logs.at(-1)).toEqual({
      event: 'schedule.tick',
      level: 'info',
      connectorId: id,
      apiName: 'idle_logger',
      tickTime: '2026-06-04T10:00:00Z',
      outcome: 'skipped',
      reason: 'not_active',
      status: 'inactive',
      message:
        'Tick at 2026-06-04T10:00:00Z skipped: connector idle_logger is inactive; activate it to run on its cadence.',
    });
    expect(await ws.ports.executions.listByConnector(id)).toEqual([]);
  });

  it('skips and logs a tick for a connector that is gone or no longer has a cadence', async () => {
    expect(await tick('no-such-connector', '2026-06-05T00:00:00Z')).toEqual({
      connectorId: 'no-such-connector',
      tickTime: '2026-06-05T00:00:00Z',
      outcome: 'skipped',
      reason: 'connector_not_found',
    });
    expect(logs.at(-1)).toMatchObject({
      level: 'warn',
      message:
        'Tick at 2026-06-05T00:00:00Z skipped: connector no-such-connector does not exist; its schedule should be deleted.',
    });

    await ws.writeConnector('sheet', {
      ...tickLogger,
      definition: { ...tickLogger.definition, name: 'Sheet logger', type: 'spreadsheet' },
    });
    const { connector } = await ws.apply('sheet');
    await setConnectorActive(ws.ports, connector.id, true);
    expect(await tick(connector.id, '2026-06-05T01:00:00Z')).toMatchObject({
      outcome: 'skipped',
      reason: 'no_cadence',
    });
    expect(logs.at(-1)!.message).toBe(
      'Tick at 2026-06-05T01:00:00Z skipped: connector sheet_logger (version 1, spreadsheet) has no cadence to tick; its schedule is out of date.',
    );
    expect(await ws.ports.executions.listByConnector(connector.id)).toEqual([]);
  });

  it('closes the batching window of an active webhook connector', async () => {
    await ws.writeConnector('hooks', {
      ...tickLogger,
      definition: { ...tickLogger.definition, name: 'Hook logger', type: 'webhook' },
    });
    const { connector } = await ws.apply('hooks');
    await setConnectorActive(ws.ports, connector.id, true);
    // No payload arrived in this window: nothing to run.
    expect(await tick(connector.id, '2026-06-06T00:05:00Z')).toEqual({
      connectorId: connector.id,
      tickTime: '2026-06-06T00:05:00Z',
      outcome: 'flushed',
      executionId: null,
    });
    expect(logs.at(-1)!.message).toBe(
      'Tick at 2026-06-06T00:05:00Z: the webhook window of hook_logger held no payload.',
    );
  });

  it('the tick Lambda refuses an event without a connector or an ISO 8601 tick time, naming the field', async () => {
    await expect(handler({ connectorId: 'c1', tickTime: '04/12/2026 06:00' })).rejects.toThrow(/tickTime/);
    await expect(handler({ tickTime: '2026-12-04T06:00:00Z' })).rejects.toThrow(/connectorId/);
  });

  it('refuses a tick time that is not a date', async () => {
    await expect(tickConnector(ws.ports, 'any', new Date('yesterday'), { log })).rejects.toThrow(
      'The tick time of connector any is not a valid date.',
    );
  });
});
