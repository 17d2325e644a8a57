import { GetScheduleCommand, type SchedulerClient } from '@aws-sdk/client-scheduler';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  EventBridgeSchedulerSchedules,
  TICK_TIME_PLACEHOLDER,
} from '../../lambdas/adapters/aws/eventbridge-scheduler-schedules.ts';
import { ScError } from '../../lambdas/core/errors.ts';
import {
  schedulerClientFor,
  startSchedulerStandIn,
  type SchedulerStandIn,
} from '../../lambdas/local/scheduler-stand-in.ts';
import { connectorDefinitionSchema } from '../../lambdas/core/connector-schema.ts';
import {
  createConnector,
  deleteConnector,
  saveConnectorVersion,
  type ConnectorDraft,
} from '../../lambdas/pipeline/connectors.ts';
import { setConnectorActive } from '../../lambdas/pipeline/control.ts';
import type { Ports } from '../../lambdas/pipeline/ports.ts';
import { syncSchedule } from '../../lambdas/pipeline/schedules-sync.ts';
import { openPipelineWorkspace, type PipelineWorkspace } from '../helpers/pipeline.ts';

/*
 * Connector schedules on EventBridge Scheduler: the adapter with real SDK calls against the embedded
 * Scheduler stand-in, and `syncSchedule` keeping one schedule per connector in step with its cadence,
 * type and status through a local runtime's stores.
 */

const GROUP = 'SmartConnector';
const TARGET = 'arn:aws:lambda:us-east-1:000000000000:function:sc-schedule-tick';
const ROLE = 'arn:aws:iam::000000000000:role/sc-scheduler-invoke';
const DLQ = 'arn:aws:sqs:us-east-1:000000000000:sc-schedule-dlq';

let scheduler: SchedulerStandIn;
let client: SchedulerClient;
let schedules: EventBridgeSchedulerSchedules;

beforeAll(async () => {
  scheduler = await startSchedulerStandIn({ groups: [GROUP] });
  // One attempt per call, so a failure reaches the adapter instead of being retried by the SDK.
  client = schedulerClientFor(scheduler.endpoint, { maxAttempts: 1 });
  schedules = adapter();
});
afterAll(async () => {
  client?.destroy();
  await scheduler?.stop();
});

function adapter(groupName = GROUP): EventBridgeSchedulerSchedules {
  return new EventBridgeSchedulerSchedules({
    client,
    groupName,
    targetArn: TARGET,
    roleArn: ROLE,
    deadLetterArn: DLQ,
  });
}

async function failure(promise: Promise<unknown>): Promise<ScError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ScError);
  return error as ScError;
}

describe('EventBridgeSchedulerSchedules', () => {
  const id = '0b6c2c9e-2d1f-4c55-9a43-5f1f6c1f0a01';

  it('creates one schedule per connector that invokes the tick Lambda on time, in the connector time zone', async () => {
    expect(
      await schedules.put({ connectorId: id, expression: 'cron(0 6 * * ? *)', timezone: 'Europe/Paris' }),
    ).toBe('created');
    const stored = await client.send(new GetScheduleCommand({ Name: id, GroupName: GROUP }));
    expect(stored).toMatchObject({
      Name: id,
      GroupName: GROUP,
      ScheduleExpression: 'cron(0 6 * * ? *)',
      ScheduleExpressionTimezone: 'Europe/Paris',
      State: 'ENABLED',
      FlexibleTimeWindow: { Mode: 'OFF' },
      Target: { Arn: TARGET, RoleArn: ROLE, DeadLetterConfig: { Arn: DLQ } },
    });
    expect(JSON.parse(stored.Target!.Input!)).toEqual({ connectorId: id, tickTime: TICK_TIME_PLACEHOLDER });
    expect(TICK_TIME_PLACEHOLDER).toBe('<aws.scheduler.scheduled-time>');
    expect(await schedules.get(id)).toEqual({
      connectorId: id,
      expression: 'cron(0 6 * * ? *)',
      timezone: 'Europe/Paris',
    });
  });

  it('writes nothing for an unchanged schedule, and updates a changed one', async () => {
    const before = scheduler.schedules(GROUP).find((s) => s.name === id)!.modifiedAt;
    expect(
      await schedules.put({ connectorId: id, expression: 'cron(0 6 * * ? *)', timezone: 'Europe/Paris' }),
    ).toBe('unchanged');
    expect(scheduler.schedules(GROUP).find((s) => s.name === id)!.modifiedAt).toBe(before);
    expect(
      await schedules.put({ connectorId: id, expression: 'rate(15 minutes)', timezone: 'Europe/Paris' }),
    ).toBe('updated');
    expect(await schedules.put({ connectorId: id, expression: 'rate(15 minutes)', timezone: 'UTC' })).toBe(
      'updated',
    );
    expect(await schedules.get(id)).toEqual({
      connectorId: id,
      expression: 'rate(15 minutes)',
      timezone: 'UTC',
    });
    // A schedule someone edited by hand (another target) is put back.
    expect(await adapter().put({ connectorId: id, expression: 'rate(15 minutes)', timezone: 'UTC' })).toBe(
      'unchanged',
    );
    const moved = new EventBridgeSchedulerSchedules({
      client,
      groupName: GROUP,
      targetArn: `${TARGET}-v2`,
      roleArn: ROLE,
    });
    expect(await moved.put({ connectorId: id, expression: 'rate(15 minutes)', timezone: 'UTC' })).toBe(
      'updated',
    );
    expect(scheduler.schedules(GROUP).find((s) => s.name === id)!.target).toMatchObject({
      Arn: `${TARGET}-v2`,
    });
    expect(scheduler.schedules(GROUP).find((s) => s.name === id)!.target.DeadLetterConfig).toBeUndefined();
  });

  it('deletes a schedule once; deleting a missing one is no error', async () => {
    expect(await schedules.delete(id)).toBe(true);
    expect(await schedules.delete(id)).toBe(false);
    expect(await schedules.get(id)).toBeNull();
    expect(scheduler.schedules(GROUP).map((s) => s.name)).not.toContain(id);
  });

  it('turns a concurrent create of the same schedule into an update', async () => {
    const racing = 'racing-connector';
    const results = await Promise.all([
      schedules.put({ connectorId: racing, expression: 'rate(1 hour)', timezone: 'UTC' }),
      schedules.put({ connectorId: racing, expression: 'rate(1 hour)', timezone: 'UTC' }),
    ]);
    expect(results.sort()).toEqual(['created', 'updated']);
    expect(scheduler.schedules(GROUP).filter((s) => s.name === racing)).toHaveLength(1);
    await schedules.delete(racing);
  });

  it('refuses a connector id that cannot name a schedule, before any call', async () => {
    const error = await failure(
      schedules.put({ connectorId: 'vendors/nightly', expression: 'rate(1 hour)', timezone: 'UTC' }),
    );
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.message).toBe(
      'Connector id "vendors/nightly" cannot name a schedule: 1 to 64 letters, digits, "-", "_" or ".".',
    );
  });

  it('turns a throttle or an outage into a retryable SCHEDULES_UNAVAILABLE', async () => {
    scheduler.failNext(429, 'ThrottlingException');
    const throttled = await failure(
      schedules.put({ connectorId: id, expression: 'rate(1 hour)', timezone: 'UTC' }),
    );
    expect(throttled).toMatchObject({ code: 'SCHEDULES_UNAVAILABLE', retryable: true });
    expect(throttled.message).toBe(
      `EventBridge Scheduler failed to read the schedule of connector ${id} in group ${GROUP}; try again.`,
    );
    scheduler.failNext(500, 'InternalServerException');
    expect(await failure(schedules.delete(id))).toMatchObject({
      code: 'SCHEDULES_UNAVAILABLE',
      retryable: true,
    });
  });

  it('turns a refusal into SCHEDULE_NOT_SAVED saying what to check', async () => {
    scheduler.failNext(403, 'AccessDeniedException');
    const denied = await failure(
      schedules.put({ connectorId: id, expression: 'rate(1 hour)', timezone: 'UTC' }),
    );
    expect(denied).toMatchObject({
      code: 'SCHEDULE_NOT_SAVED',
      retryable: false,
      context: { connector: id },
    });
    expect(denied.message).toContain(`refused to read the schedule of connector ${id} in group ${GROUP}`);
    expect(denied.message).toContain('Check that the stack deployed the group');

    const noGroup = await failure(
      adapter('NoSuchGroup').put({ connectorId: id, expression: 'rate(1 hour)', timezone: 'UTC' }),
    );
    expect(noGroup.code).toBe('SCHEDULE_NOT_SAVED');
    expect(noGroup.message).toContain('Schedule group NoSuchGroup does not exist');

    const badExpression = await failure(
      schedules.put({ connectorId: id, expression: 'rate(1 minutes)', timezone: 'UTC' }),
    );
    expect(badExpression.code).toBe('SCHEDULE_NOT_SAVED');
    expect(badExpression.message).toContain('refused to create');
    expect(badExpression.message).toContain('Invalid Schedule Expression rate(1 minutes)');
  });
});

describe('EventBridge Scheduler stand-in', () => {
  const send = (method: string, path: string, body?: unknown) =>
    fetch(`${scheduler.endpoint}${path}`, {
      method,
      headers: { 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
  const valid = {
    GroupName: GROUP,
    ScheduleExpression: 'rate(1 hour)',
    FlexibleTimeWindow: { Mode: 'OFF' },
    Target: { Arn: TARGET, RoleArn: ROLE },
  };

  it('answers what it does not serve as Scheduler would, with the error type in x-amzn-errortype', async () => {
    const unknown = await send('GET', '/schedule-groups');
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get('x-amzn-errortype')).toBe('UnknownOperationException');
    const notJson = await send('POST', '/schedules/s1', '{');
    expect([notJson.status, notJson.headers.get('x-amzn-errortype')]).toEqual([
      400,
      'SerializationException',
    ]);
  });

  it.each([
    ['an invalid name', '/schedules/a%20b', valid, 'Schedule name "a b" is invalid.'],
    [
      'no expression',
      '/schedules/s1',
      { ...valid, ScheduleExpression: undefined },
      'ScheduleExpression is required.',
    ],
    [
      'a bad cron',
      '/schedules/s1',
      { ...valid, ScheduleExpression: 'cron(0 6 * * *)' },
      'Invalid Schedule Expression cron(0 6 * * *).',
    ],
    [
      'an unknown zone',
      '/schedules/s1',
      { ...valid, ScheduleExpressionTimezone: 'Mars/Olympus' },
      'Invalid timezone Mars/Olympus.',
    ],
    [
      'a flexible window without minutes',
      '/schedules/s1',
      { ...valid, FlexibleTimeWindow: { Mode: 'FLEXIBLE' } },
      'A FLEXIBLE window needs MaximumWindowInMinutes from 1 to 1440.',
    ],
    [
      'a target without a role',
      '/schedules/s1',
      { ...valid, Target: { Arn: TARGET } },
      'Target needs an Arn and a RoleArn.',
    ],
  ])('refuses a schedule with %s (ValidationException)', async (_, path, body, message) => {
    const response = await send('POST', path, body);
    expect(response.status).toBe(400);
    expect(response.headers.get('x-amzn-errortype')).toBe('ValidationException');
    expect(await response.json()).toEqual({ message });
  });

  it('accepts one-time at() schedules, and finds schedules only in their group', async () => {
    const created = await send('POST', '/schedules/once', {
      ...valid,
      ScheduleExpression: 'at(2027-01-01T00:00:00)',
    });
    expect(created.status).toBe(200);
    expect((await send('GET', '/schedules/once')).status).toBe(404); // the default group
    expect((await send('GET', `/schedules/once?groupName=${GROUP}`)).status).toBe(200);
    expect((await send('PUT', '/schedules/never', valid)).status).toBe(404);
    expect((await send('DELETE', `/schedules/once?groupName=${GROUP}`)).status).toBe(200);
  });
});

describe('syncSchedule', () => {
  let ws: PipelineWorkspace;
  let ports: Ports;

  beforeAll(async () => {
    ws = await openPipelineWorkspace([
      { apiName: 'sync_items', name: 'Items', fields: [{ name: 'name', type: 'text' }] },
    ]);
    ports = { ...ws.ports, schedules };
  });
  afterAll(async () => {
    await ws?.close();
  });

  function definitionWith(
    cadence: string | undefined,
    type: 'scheduler' | 'webhook' | 'spreadsheet' = 'scheduler',
    timezone = 'UTC',
  ) {
    return {
      definition: {
        name: 'Nightly items',
        type,
        sql: { script: 'CREATE TABLE output.items ENGINE = Memory AS SELECT 1 AS name' },
        variables: [{ name: 'name', type: 'string' as const }],
        loadSteps: [
          {
            name: 'Items',
            object: 'sync_items',
            mapping: [{ field: 'name', variable: 'name' }],
          },
        ],
        settings: { timezone, ...(cadence === undefined ? {} : { cadence }) },
      },
    };
  }

  /** Writes and applies the folder, then syncs as the save path does. */
  async function save(spec: ReturnType<typeof definitionWith>) {
    await ws.writeConnector('nightly', spec);
    const { connector } = await ws.apply('nightly');
    return { connector, sync: await syncSchedule(ports, connector.id) };
  }

  it('creates, changes and removes the schedule with the cadence, time zone and type; keeps it while inactive', async () => {
    const first = await save(definitionWith('cron(0 6 * * ? *)'));
    const id = first.connector.id;
    expect(first.connector.status).toBe('setup');
    expect(first.sync).toBe('created');
    expect(await schedules.get(id)).toEqual({
      connectorId: id,
      expression: 'cron(0 6 * * ? *)',
      timezone: 'UTC',
    });

    // Activation and deactivation keep the schedule: ticks while inactive are skipped and logged.
    expect((await setConnectorActive(ports, id, true)).status).toBe('operational');
    expect(await schedules.get(id)).not.toBeNull();
    expect((await setConnectorActive(ports, id, false)).status).toBe('inactive');
    expect(await schedules.get(id)).toEqual({
      connectorId: id,
      expression: 'cron(0 6 * * ? *)',
      timezone: 'UTC',
    });

    // An unchanged save writes nothing; a new cadence or time zone changes the schedule.
    expect((await save(definitionWith('cron(0 6 * * ? *)'))).sync).toBe('unchanged');
    expect((await save(definitionWith(' rate( 30 minutes ) '))).sync).toBe('updated');
    expect(await schedules.get(id)).toEqual({
      connectorId: id,
      expression: 'rate(30 minutes)',
      timezone: 'UTC',
    });
    expect(
      (await save(definitionWith('cron(0 7 ? * MON-FRI *)', 'scheduler', 'America/New_York'))).sync,
    ).toBe('updated');
    expect(await schedules.get(id)).toEqual({
      connectorId: id,
      expression: 'cron(0 7 ? * MON-FRI *)',
      timezone: 'America/New_York',
    });

    // A webhook connector's cadence closes its batching windows: it keeps a schedule too.
    expect((await save(definitionWith('rate(5 minutes)', 'webhook'))).sync).toBe('updated');
    // A spreadsheet connector has none, whatever its cadence; without a cadence neither.
    expect((await save(definitionWith('rate(5 minutes)', 'spreadsheet'))).sync).toBe('deleted');
    expect(await schedules.get(id)).toBeNull();
    expect((await save(definitionWith(undefined, 'spreadsheet'))).sync).toBe('absent');
    expect((await save(definitionWith('rate(5 minutes)'))).sync).toBe('created');
    expect((await save(definitionWith(undefined))).sync).toBe('deleted');

    // Activation repairs a schedule that is missing (a save whose sync failed).
    await save(definitionWith('rate(1 hour)'));
    await schedules.delete(id);
    await setConnectorActive(ports, id, true);
    expect(await schedules.get(id)).toEqual({ connectorId: id, expression: 'rate(1 hour)', timezone: 'UTC' });
  });

  it('follows the connector lifecycle: created, saved with a new cadence, deleted', async () => {
    const draft = (cadence: string): ConnectorDraft => {
      const { sql: _sql, ...parsed } = connectorDefinitionSchema.parse({
        ...definitionWith(cadence).definition,
        name: 'Lifecycle items',
      });
      return { ...parsed, sql: 'SELECT 1' };
    };
    const { connector } = await createConnector(ports, draft('rate(2 hours)'));
    expect(await schedules.get(connector.id)).toEqual({
      connectorId: connector.id,
      expression: 'rate(2 hours)',
      timezone: 'UTC',
    });
    await saveConnectorVersion(ports, connector.id, draft('rate(3 hours)'));
    expect((await schedules.get(connector.id))?.expression).toBe('rate(3 hours)');
    await deleteConnector(ports, connector.id);
    expect(await schedules.get(connector.id)).toBeNull();
  });

  it('removes the schedule of a connector that no longer exists', async () => {
    await schedules.put({ connectorId: 'deleted-connector', expression: 'rate(1 day)', timezone: 'UTC' });
    expect(await syncSchedule(ports, 'deleted-connector')).toBe('deleted');
    expect(await schedules.get('deleted-connector')).toBeNull();
    expect(await syncSchedule(ports, 'deleted-connector')).toBe('absent');
  });

  it('does nothing where the runtime has no schedules port (sc run, sc serve)', async () => {
    const { connector } = await ws.apply('nightly');
    expect(ws.ports.schedules).toBeUndefined();
    expect(await syncSchedule(ws.ports, connector.id)).toBe('absent');
  });
});
