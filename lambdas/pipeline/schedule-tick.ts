import { randomUUID } from 'node:crypto';
import { derivedUuid } from './derived-id.ts';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { canStart } from '../core/execution-status.ts';
import { ScError } from '../core/errors.ts';
import type { ConnectorStatus } from '../core/model.ts';
import { dispatchConnector } from './dispatch.ts';
import type { Ports } from './ports.ts';
import { registerExecution } from './register.ts';
import { scheduleFor } from './schedules-sync.ts';
import { flushWebhookWindow } from './webhooks.ts';

/** The input table of a scheduler connector's run (SPEC §8): `input.schedule(schedule_trigger_time)`. */
export const SCHEDULE_TABLE = 'schedule';
export const SCHEDULE_COLUMN = 'schedule_trigger_time';
/** The file name a tick's execution keeps (`meta.current_execution`, the report). */
export const SCHEDULE_FILE_NAME = 'schedule.csv';

/**
 * Why a tick did nothing: the connector is gone, not active (`setup` or `inactive`), or its current
 * version has no cadence or is a spreadsheet connector (its schedule was not synced yet).
 */
export type TickSkipReason = 'connector_not_found' | 'not_active' | 'no_cadence';

export type TickResult = { connectorId: string; tickTime: string } & (
  | {
      /** A scheduler connector's execution was registered (`created`) or found from an earlier delivery. */
      outcome: 'registered' | 'duplicate';
      executionId: string;
      /** Whether dispatch started it now; otherwise it waits in the queue for a slot. */
      started: boolean;
    }
  | {
      /** A webhook connector's window was closed; `executionId` is null when it held no payload. */
      outcome: 'flushed';
      executionId: string | null;
    }
  | { outcome: 'skipped'; reason: TickSkipReason; status?: ConnectorStatus }
);

/** One structured log line per tick (CloudWatch in AWS, stdout under `sc serve`). */
export type TickLogEntry = TickResult & {
  event: 'schedule.tick';
  level: 'info' | 'warn';
  apiName?: string;
  message: string;
};

export interface TickOptions {
  /** Where the tick's log line goes. Default: one JSON line on stdout. */
  log?: (entry: TickLogEntry) => void;
}

/**
 * One cadence tick of a connector (SPEC §8 "Scheduler"), from EventBridge Scheduler in AWS or the
 * cadence runner of `sc serve`. A scheduler connector gets one live execution (trigger `schedule`) whose
 * input is the one-row table `input.schedule(schedule_trigger_time)`, then its queue is dispatched. A
 * webhook connector's batching window closes at the tick (`flushWebhookWindow`). A connector that is
 * not active skips the tick; every tick is logged.
 *
 * The execution id derives from the connector and the tick time (to the second), so a tick delivered
 * again (Scheduler and Lambda both retry) registers nothing new: it finds the execution and dispatches.
 */
export async function tickConnector(
  ports: Ports,
  connectorId: string,
  tickTime: Date,
  options: TickOptions = {},
): Promise<TickResult> {
  if (Number.isNaN(tickTime.getTime())) {
    throw new ScError('INVALID_ARGUMENT', `The tick time of connector ${connectorId} is not a valid date.`);
  }
  const time = scheduleTime(tickTime);
  const base = { connectorId, tickTime: time };
  const write = options.log ?? ((entry: TickLogEntry) => console.log(JSON.stringify(entry)));
  const logged = (result: TickResult, level: TickLogEntry['level'], message: string, apiName?: string) => {
    write({ ...result, event: 'schedule.tick', ...(apiName ? { apiName } : {}), level, message });
    return result;
  };

  const connector = await ports.connectors.getConnector(connectorId);
  const version = connector ? await ports.connectors.getVersion(connector.id, connector.version) : null;
  if (!connector || !version) {
    return logged(
      { ...base, outcome: 'skipped', reason: 'connector_not_found' },
      'warn',
      `Tick at ${time} skipped: connector ${connectorId} does not exist; its schedule should be deleted.`,
    );
  }
  const { apiName } = connector;
  const definition = version.definition;
  const schedule = scheduleFor(connector.id, definition);
  if (!schedule) {
    return logged(
      { ...base, outcome: 'skipped', reason: 'no_cadence' },
      'warn',
      `Tick at ${time} skipped: connector ${apiName} (version ${version.version}, ${definition.type}) ` +
        'has no cadence to tick; its schedule is out of date.',
      apiName,
    );
  }
  if (!canStart(connector.status, false)) {
    return logged(
      { ...base, outcome: 'skipped', reason: 'not_active', status: connector.status },
      'info',
      `Tick at ${time} skipped: connector ${apiName} is ${connector.status}; activate it to run on its cadence.`,
      apiName,
    );
  }

  if (definition.type === 'webhook') {
    const execution = await flushWebhookWindow(ports, connector.id, new Date(time));
    return logged(
      { ...base, outcome: 'flushed', executionId: execution?.id ?? null },
      'info',
      execution
        ? `Tick at ${time}: the webhook window of ${apiName} became execution ${execution.id}.`
        : `Tick at ${time}: the webhook window of ${apiName} held no payload.`,
      apiName,
    );
  }

  const executionId = tickExecutionId(connector.id, time);
  const created =
    !(await ports.executions.get(executionId)) &&
    (await registerTick(ports, connector.id, executionId, time, `schedule:${schedule.expression}`));
  // A repeated tick dispatches too: the delivery that registered it may have stopped before dispatching.
  const started = (await dispatchConnector(ports, connector.id)).includes(executionId);
  const what = `Tick at ${time}: execution ${executionId} of ${apiName}`;
  return logged(
    { ...base, outcome: created ? 'registered' : 'duplicate', executionId, started },
    'info',
    created
      ? `${what} registered${started ? ' and started' : '; it waits in the queue for a slot'}.`
      : `${what} was registered by an earlier delivery of this tick${started ? '; started now' : ''}.`,
    apiName,
  );
}

/**
 * A tick time as `schedule_trigger_time` holds it: ISO 8601 UTC to the second (`2026-12-04T06:00:00Z`),
 * the form of EventBridge Scheduler's `<aws.scheduler.scheduled-time>`.
 */
export function scheduleTime(tickTime: Date): string {
  return new Date(Math.floor(tickTime.getTime() / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/** The execution id of a connector's tick: a UUID derived from the connector and the tick time. */
export function tickExecutionId(connectorId: string, time: string): string {
  return derivedUuid(['schedule', connectorId, time]);
}

/** Registers the tick's execution; false when a concurrent delivery of the same tick registered it first. */
async function registerTick(
  ports: Ports,
  connectorId: string,
  executionId: string,
  time: string,
  initiatedBy: string,
): Promise<boolean> {
  // A name of its own per call: two deliveries of one tick at once must not remove each other's file.
  const path = join(ports.tmpDir, `schedule-${executionId}-${randomUUID()}.csv`);
  await writeFile(path, `${SCHEDULE_COLUMN}\n${time}\n`);
  try {
    await registerExecution(ports, {
      connectorRef: connectorId,
      input: { path, name: SCHEDULE_FILE_NAME, table: SCHEDULE_TABLE },
      dryRun: false,
      trigger: 'schedule',
      initiatedBy,
      executionId,
    });
    return true;
  } catch (error) {
    if (error instanceof ScError && error.code === 'CONFLICT') return false;
    throw error;
  } finally {
    await rm(path, { force: true });
  }
}
