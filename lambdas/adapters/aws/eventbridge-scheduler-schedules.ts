import {
  CreateScheduleCommand,
  DeleteScheduleCommand,
  GetScheduleCommand,
  UpdateScheduleCommand,
  type CreateScheduleCommandInput,
  type GetScheduleCommandOutput,
  type SchedulerClient,
} from '@aws-sdk/client-scheduler';
import { ScError, errorMessage } from '../../core/errors.ts';
import type { ConnectorSchedule, ConnectorSchedules, SchedulePut } from '../../ports/schedules.ts';

export interface EventBridgeSchedulerSchedulesOptions {
  client: SchedulerClient;
  /** The schedule group the stack made; every connector's schedule lives in it. */
  groupName: string;
  /** The tick Lambda's ARN. */
  targetArn: string;
  /** The role EventBridge Scheduler assumes to invoke the tick Lambda. */
  roleArn: string;
  /** An SQS queue ARN for ticks Scheduler could not deliver after its retries. Default: none. */
  deadLetterArn?: string;
}

/**
 * The tick Lambda's event: the connector and the tick's scheduled time, which Scheduler fills in for the
 * context attribute (https://docs.aws.amazon.com/scheduler/latest/UserGuide/managing-schedule-context-attributes.html).
 */
export const TICK_TIME_PLACEHOLDER = '<aws.scheduler.scheduled-time>';

/** Schedule names: 1 to 64 of these characters (connector ids are UUIDs). */
const SCHEDULE_NAME = /^[0-9a-zA-Z\-_.]{1,64}$/;
/** Request errors a later attempt can outlive, besides 429 and 5xx statuses. */
const THROTTLING = new Set(['ThrottlingException', 'TooManyRequestsException']);

/**
 * Connector schedules on EventBridge Scheduler: one schedule per connector, named by its id, in the
 * stack's schedule group, invoking the tick Lambda with `{ connectorId, tickTime }` at every tick of the
 * cadence in the connector's time zone, flexible window off (ticks on time), enabled.
 *
 * `put` reads the schedule first and writes only when something differs, so syncing an unchanged
 * connector costs one GetSchedule; a concurrent create of the same schedule is turned into an update.
 * Errors are `SCHEDULES_UNAVAILABLE` (retryable: a throttle or an outage) or `SCHEDULE_NOT_SAVED`
 * (a refusal: permissions, a missing group, an expression Scheduler refuses).
 */
export class EventBridgeSchedulerSchedules implements ConnectorSchedules {
  private readonly client: SchedulerClient;
  private readonly options: EventBridgeSchedulerSchedulesOptions;

  constructor(options: EventBridgeSchedulerSchedulesOptions) {
    this.client = options.client;
    this.options = options;
  }

  async put(schedule: ConnectorSchedule): Promise<SchedulePut> {
    const wanted = this.scheduleInput(schedule);
    const current = await this.read(schedule.connectorId);
    if (current && sameSchedule(current, wanted)) return 'unchanged';
    if (!current) {
      try {
        await this.client.send(new CreateScheduleCommand(wanted));
        return 'created';
      } catch (error) {
        // Created a moment ago by a concurrent sync: make it this one.
        if (errorName(error) !== 'ConflictException')
          throw this.failed('create', schedule.connectorId, error);
      }
    }
    try {
      await this.client.send(new UpdateScheduleCommand(wanted));
    } catch (error) {
      throw this.failed('update', schedule.connectorId, error);
    }
    return 'updated';
  }

  async delete(connectorId: string): Promise<boolean> {
    try {
      await this.client.send(
        new DeleteScheduleCommand({ Name: scheduleName(connectorId), GroupName: this.options.groupName }),
      );
      return true;
    } catch (error) {
      if (errorName(error) === 'ResourceNotFoundException') return false;
      throw this.failed('delete', connectorId, error);
    }
  }

  async get(connectorId: string): Promise<ConnectorSchedule | null> {
    const current = await this.read(connectorId);
    if (!current?.ScheduleExpression) return null;
    return {
      connectorId,
      expression: current.ScheduleExpression,
      timezone: current.ScheduleExpressionTimezone ?? 'UTC',
    };
  }

  private async read(connectorId: string): Promise<GetScheduleCommandOutput | null> {
    try {
      return await this.client.send(
        new GetScheduleCommand({ Name: scheduleName(connectorId), GroupName: this.options.groupName }),
      );
    } catch (error) {
      if (errorName(error) === 'ResourceNotFoundException') return null;
      throw this.failed('read', connectorId, error);
    }
  }

  private scheduleInput(schedule: ConnectorSchedule): CreateScheduleCommandInput {
    const { groupName, targetArn, roleArn, deadLetterArn } = this.options;
    return {
      Name: scheduleName(schedule.connectorId),
      GroupName: groupName,
      Description: `Ticks SmartConnector connector ${schedule.connectorId}.`,
      ScheduleExpression: schedule.expression,
      ScheduleExpressionTimezone: schedule.timezone,
      State: 'ENABLED',
      FlexibleTimeWindow: { Mode: 'OFF' },
      Target: {
        Arn: targetArn,
        RoleArn: roleArn,
        Input: JSON.stringify({ connectorId: schedule.connectorId, tickTime: TICK_TIME_PLACEHOLDER }),
        ...(deadLetterArn ? { DeadLetterConfig: { Arn: deadLetterArn } } : {}),
      },
    };
  }

  private failed(action: string, connectorId: string, error: unknown): ScError {
    const status = (error as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode ?? 0;
    const retryable = status === 429 || status >= 500 || THROTTLING.has(errorName(error));
    const what = `the schedule of connector ${connectorId} in group ${this.options.groupName}`;
    return retryable
      ? new ScError(
          'SCHEDULES_UNAVAILABLE',
          `EventBridge Scheduler failed to ${action} ${what}; try again.`,
          {
            retryable: true,
            cause: error,
            context: { connector: connectorId },
          },
        )
      : new ScError(
          'SCHEDULE_NOT_SAVED',
          `EventBridge Scheduler refused to ${action} ${what}: ${errorMessage(error)}. ` +
            'Check that the stack deployed the group and that this function may manage its schedules.',
          { cause: error, context: { connector: connectorId } },
        );
  }
}

function scheduleName(connectorId: string): string {
  if (!SCHEDULE_NAME.test(connectorId)) {
    throw new ScError(
      'INVALID_ARGUMENT',
      `Connector id "${connectorId}" cannot name a schedule: 1 to 64 letters, digits, "-", "_" or ".".`,
    );
  }
  return connectorId;
}

/** Whether the stored schedule already is the wanted one, in every field this adapter sets. */
function sameSchedule(current: GetScheduleCommandOutput, wanted: CreateScheduleCommandInput): boolean {
  return (
    current.ScheduleExpression === wanted.ScheduleExpression &&
    (current.ScheduleExpressionTimezone ?? 'UTC') === wanted.ScheduleExpressionTimezone &&
    current.State === wanted.State &&
    current.Description === wanted.Description &&
    current.FlexibleTimeWindow?.Mode === wanted.FlexibleTimeWindow?.Mode &&
    current.Target?.Arn === wanted.Target?.Arn &&
    current.Target?.RoleArn === wanted.Target?.RoleArn &&
    current.Target?.Input === wanted.Target?.Input &&
    current.Target?.DeadLetterConfig?.Arn === wanted.Target?.DeadLetterConfig?.Arn
  );
}

function errorName(error: unknown): string {
  return (error as { name?: string } | undefined)?.name ?? '';
}
