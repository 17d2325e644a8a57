import { SchedulerClient } from '@aws-sdk/client-scheduler';
import { IANAZone } from 'luxon';
import { parseCadence } from '../core/cadence.ts';
import { parseJson, restJson, standInClientConfig, startHttpStandIn } from './http-stand-in.ts';

/**
 * An embedded EventBridge Scheduler for tests: a `node:http` server answering the REST-JSON schedule
 * operations `EventBridgeSchedulerSchedules` uses (CreateSchedule `POST /schedules/{Name}`,
 * UpdateSchedule `PUT`, GetSchedule `GET`, DeleteSchedule `DELETE`, the group in the body or in
 * `?groupName=`), so the adapter runs unchanged against it. It keeps schedules per group; groups other
 * than `default` exist only when given at start, as the stack creates them. It checks what Scheduler
 * checks of these calls: a name of 1-64 `[0-9a-zA-Z-_.]`, an existing group, a valid `rate(…)`,
 * `cron(…)` or `at(…)` expression, a known time zone, a target with `Arn` and `RoleArn`, and a flexible
 * window (`OFF`, or `FLEXIBLE` with 1-1440 minutes). It never ticks, and has no schedule groups API,
 * tags, `ListSchedules`, or signature check; error messages are its own.
 */

export interface StandInSchedule {
  name: string;
  groupName: string;
  arn: string;
  expression: string;
  timezone?: string;
  state: string;
  description?: string;
  flexibleTimeWindow: { Mode: string; MaximumWindowInMinutes?: number };
  target: {
    Arn: string;
    RoleArn: string;
    Input?: string;
    DeadLetterConfig?: { Arn?: string };
    RetryPolicy?: { MaximumEventAgeInSeconds?: number; MaximumRetryAttempts?: number };
  };
  createdAt: number;
  modifiedAt: number;
}

export interface SchedulerStandInOptions {
  /** Schedule groups besides `default`, e.g. the stack's. */
  groups?: string[];
}

export interface SchedulerStandIn {
  /** `http://127.0.0.1:<port>`, for `schedulerClientFor` or `AWS_ENDPOINT_URL_SCHEDULER`. */
  endpoint: string;
  /** The schedules of a group (default: every group), by name. */
  schedules(groupName?: string): StandInSchedule[];
  /**
   * Answers the next request with `status` and a REST-JSON error naming `code` (e.g. 429
   * `ThrottlingException`, 403 `AccessDeniedException`), which the SDK raises as that exception.
   */
  failNext(status: number, code: string): void;
  /** Closes the server. Safe to call twice. */
  stop(): Promise<void>;
}

interface ScheduleBody {
  GroupName?: string;
  ScheduleExpression?: string;
  ScheduleExpressionTimezone?: string;
  State?: string;
  Description?: string;
  FlexibleTimeWindow?: { Mode?: string; MaximumWindowInMinutes?: number };
  Target?: Partial<StandInSchedule['target']>;
}

const NAME = /^[0-9a-zA-Z\-_.]{1,64}$/;
const AT = /^at\(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\)$/;

export async function startSchedulerStandIn(
  options: SchedulerStandInOptions = {},
): Promise<SchedulerStandIn> {
  const groups = new Map<string, Map<string, StandInSchedule>>(
    ['default', ...(options.groups ?? [])].map((g) => [g, new Map()]),
  );
  const { error, reply } = restJson;
  const notFound = (what: string) => error(404, 'ResourceNotFoundException', `${what} does not exist.`);

  const server = await startHttpStandIn({
    protocol: restJson,
    internalErrorCode: 'InternalServerException',
    handle: (request) => {
      const url = new URL(request.url, 'http://localhost');
      const match = /^\/schedules\/([^/]+)$/.exec(url.pathname);
      if (!match)
        return error(404, 'UnknownOperationException', `${request.method} ${url.pathname} is not supported.`);
      const name = decodeURIComponent(match[1]!);
      if (!NAME.test(name)) return error(400, 'ValidationException', `Schedule name "${name}" is invalid.`);

      if (request.method === 'GET' || request.method === 'DELETE') {
        const groupName = url.searchParams.get('groupName') ?? 'default';
        const group = groups.get(groupName);
        if (!group) return notFound(`Schedule group ${groupName}`);
        const schedule = group.get(name);
        if (!schedule) return notFound(`Schedule ${name} in group ${groupName}`);
        if (request.method === 'DELETE') {
          group.delete(name);
          return reply({});
        }
        return reply(describe(schedule));
      }
      if (request.method !== 'POST' && request.method !== 'PUT') {
        return error(405, 'UnknownOperationException', `${request.method} is not supported.`);
      }
      const body = parseJson<ScheduleBody>(request.body);
      if (body === undefined) return error(400, 'SerializationException', 'The request body is not JSON.');
      const groupName = body.GroupName ?? 'default';
      const group = groups.get(groupName);
      if (!group) return notFound(`Schedule group ${groupName}`);
      const existing = group.get(name);
      if (request.method === 'POST' && existing) {
        return error(409, 'ConflictException', `Schedule ${name} already exists in group ${groupName}.`);
      }
      if (request.method === 'PUT' && !existing) return notFound(`Schedule ${name} in group ${groupName}`);
      const problem = invalid(body);
      if (problem) return error(400, 'ValidationException', problem);

      const now = Date.now() / 1000;
      const schedule: StandInSchedule = {
        name,
        groupName,
        arn: `arn:aws:scheduler:us-east-1:000000000000:schedule/${groupName}/${name}`,
        expression: body.ScheduleExpression!,
        ...(body.ScheduleExpressionTimezone ? { timezone: body.ScheduleExpressionTimezone } : {}),
        state: body.State ?? 'ENABLED',
        ...(body.Description === undefined ? {} : { description: body.Description }),
        flexibleTimeWindow: {
          Mode: body.FlexibleTimeWindow!.Mode!,
          ...(body.FlexibleTimeWindow!.MaximumWindowInMinutes === undefined
            ? {}
            : { MaximumWindowInMinutes: body.FlexibleTimeWindow!.MaximumWindowInMinutes }),
        },
        target: {
          // Scheduler fills in its retry defaults when a schedule names none.
          RetryPolicy: { MaximumEventAgeInSeconds: 86_400, MaximumRetryAttempts: 185 },
          ...(body.Target as StandInSchedule['target']),
        },
        createdAt: existing?.createdAt ?? now,
        modifiedAt: now,
      };
      group.set(name, schedule);
      return reply({ ScheduleArn: schedule.arn });
    },
  });
  return {
    ...server,
    schedules: (groupName) =>
      [...groups.entries()]
        .filter(([g]) => groupName === undefined || g === groupName)
        .flatMap(([, group]) => [...group.values()])
        .sort((a, b) => a.name.localeCompare(b.name)),
  };
}

/** What Scheduler refuses in a create or update, or null. */
function invalid(body: ScheduleBody): string | null {
  const expression = body.ScheduleExpression;
  if (!expression) return 'ScheduleExpression is required.';
  if (!AT.test(expression) && 'problem' in parseCadence(expression)) {
    return `Invalid Schedule Expression ${expression}.`;
  }
  const zone = body.ScheduleExpressionTimezone;
  if (zone !== undefined && !IANAZone.isValidZone(zone)) return `Invalid timezone ${zone}.`;
  if (body.State !== undefined && body.State !== 'ENABLED' && body.State !== 'DISABLED') {
    return `State must be ENABLED or DISABLED, not ${body.State}.`;
  }
  const window = body.FlexibleTimeWindow;
  if (!window?.Mode) return 'FlexibleTimeWindow is required.';
  if (window.Mode === 'FLEXIBLE') {
    const minutes = window.MaximumWindowInMinutes;
    if (minutes === undefined || minutes < 1 || minutes > 1440) {
      return 'A FLEXIBLE window needs MaximumWindowInMinutes from 1 to 1440.';
    }
  } else if (window.Mode !== 'OFF') {
    return `FlexibleTimeWindow.Mode must be OFF or FLEXIBLE, not ${window.Mode}.`;
  }
  if (!body.Target?.Arn || !body.Target.RoleArn) return 'Target needs an Arn and a RoleArn.';
  return null;
}

/** GetSchedule's answer; dates in epoch seconds, as REST-JSON writes timestamps. */
function describe(schedule: StandInSchedule) {
  return {
    Arn: schedule.arn,
    Name: schedule.name,
    GroupName: schedule.groupName,
    ScheduleExpression: schedule.expression,
    ...(schedule.timezone ? { ScheduleExpressionTimezone: schedule.timezone } : {}),
    State: schedule.state,
    ...(schedule.description === undefined ? {} : { Description: schedule.description }),
    FlexibleTimeWindow: schedule.flexibleTimeWindow,
    Target: schedule.target,
    ActionAfterCompletion: 'NONE',
    CreationDate: schedule.createdAt,
    LastModificationDate: schedule.modifiedAt,
  };
}

/** An EventBridge Scheduler client for the stand-in: dummy credentials. */
export function schedulerClientFor(
  endpoint: string,
  options: { maxAttempts?: number } = {},
): SchedulerClient {
  return new SchedulerClient(standInClientConfig(endpoint, options));
}
