import { Cron } from 'croner';
import { IANAZone } from 'luxon';
import { ScError } from './errors.ts';

/*
 * A connector's `settings.cadence` (SPEC §3): the EventBridge Scheduler expression that ticks a scheduler
 * connector (one execution per tick) or closes a webhook connector's batching window. `parseCadence`
 * accepts exactly what EventBridge documents
 * (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-cron-expressions.html), so a cadence that
 * passes here is one AWS takes; `nextTick` computes ticks for the local runner with croner.
 *
 *   rate(<n> minute|minutes|hour|hours|day|days)   singular unit for 1, plural otherwise
 *   cron(minutes hours day-of-month month day-of-week year)
 *
 *   field          values              wildcards
 *   minutes        0-59                , - * /
 *   hours          0-23                , - * /
 *   day-of-month   1-31                , - * ? / L W
 *   month          1-12 or JAN-DEC     , - * /
 *   day-of-week    1-7 or SUN-SAT      , - * ? L #      (1 = Sunday)
 *   year           1970-2199           , - * /
 *
 * One of day-of-month and day-of-week must be `?`, the other not. `L`, `nW`, `nL` and `n#k` stand alone
 * in their field (EventBridge takes one `#` expression, not a list).
 */

export const RATE_UNITS = ['minute', 'hour', 'day'] as const;
export type RateUnit = (typeof RATE_UNITS)[number];

const UNIT_MS: Record<RateUnit, number> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };

export interface RateCadence {
  kind: 'rate';
  /** Normalised: `rate(5 minutes)`. What EventBridge Scheduler is given. */
  expression: string;
  value: number;
  unit: RateUnit;
  intervalMs: number;
}

export interface CronCadence {
  kind: 'cron';
  /** Normalised: single spaces, names upper case. What EventBridge Scheduler is given. */
  expression: string;
  /** The same schedule as a 7-field croner pattern (seconds first, Sunday = 0, day-of-month AND day-of-week). */
  cronerPattern: string;
}

export type Cadence = RateCadence | CronCadence;

/** Either the cadence or, for text EventBridge would refuse, what is wrong with it and how to fix it. */
export type CadenceParse = { cadence: Cadence } | { problem: string };

const EXAMPLES = 'write "rate(5 minutes)" or "cron(0 6 * * ? *)"';

/** Parses a cadence as EventBridge Scheduler reads it. Never throws. */
export function parseCadence(text: string): CadenceParse {
  const trimmed = text.trim();
  const rate = /^rate\((.*)\)$/is.exec(trimmed);
  if (rate) return parseRate(rate[1]!);
  const cron = /^cron\((.*)\)$/is.exec(trimmed);
  if (cron) return parseCron(cron[1]!);
  return { problem: `"${text}" is not an EventBridge schedule; ${EXAMPLES}` };
}

/**
 * The cadence of a connector, for code that acts on it (the tick, the schedule sync, the local runner).
 * Invalid text is refused when a connector is saved, so this throws only for a stored definition that
 * predates the check: `INVALID_CADENCE` with the JSON path `settings.cadence`.
 */
export function readCadence(text: string, connector?: string): Cadence {
  const parsed = parseCadence(text);
  if ('cadence' in parsed) return parsed.cadence;
  throw new ScError('INVALID_CADENCE', `settings.cadence: ${parsed.problem}`, {
    context: { path: 'settings.cadence', ...(connector === undefined ? {} : { connector }) },
  });
}

export interface TickOptions {
  /** IANA time zone cron fields are read in (the connector's `settings.timezone`). Rates ignore it. */
  timezone: string;
  /**
   * When a rate schedule started: its ticks are `anchor + k × interval` (k ≥ 1), as an EventBridge rate
   * schedule ticks from its creation. Required for rates.
   */
  anchor?: Date;
}

/**
 * The first tick strictly after `after`, or null when the cadence never ticks again (a cron whose years
 * are past). Cron times that a daylight-saving change skips or repeats follow croner (a fixed time
 * skipped by the change runs right after the gap, a repeated one once); EventBridge may differ in
 * that hour.
 */
export function nextTick(cadence: Cadence, after: Date, options: TickOptions): Date | null {
  if (cadence.kind === 'rate') {
    if (!options.anchor)
      throw new ScError('INVALID_ARGUMENT', 'A rate cadence needs the anchor it ticks from.');
    const anchor = options.anchor.getTime();
    const k = Math.max(1, Math.floor((after.getTime() - anchor) / cadence.intervalMs) + 1);
    return new Date(anchor + k * cadence.intervalMs);
  }
  // croner fails on an unknown zone only deep inside its date arithmetic, with its own message.
  if (!IANAZone.isValidZone(options.timezone)) {
    throw new ScError(
      'INVALID_TIMEZONE',
      `settings.timezone: unknown time zone "${options.timezone}"; use an IANA name such as "UTC" or "Europe/Paris".`,
      { context: { path: 'settings.timezone' } },
    );
  }
  return new Cron(cadence.cronerPattern, {
    timezone: options.timezone,
    mode: '7-part',
    domAndDow: true,
  }).nextRun(after);
}

function parseRate(body: string): CadenceParse {
  const match = /^\s*(\d+)\s+([a-z]+)\s*$/i.exec(body);
  if (!match) {
    return { problem: `"rate(${body})" is not a rate; write rate(<number> <unit>), e.g. "rate(5 minutes)"` };
  }
  const value = Number(match[1]);
  const word = match[2]!.toLowerCase();
  const unit = RATE_UNITS.find((u) => word === u || word === `${u}s`);
  if (!unit) {
    return { problem: `"${match[2]}" is not a rate unit; use minute(s), hour(s) or day(s)` };
  }
  if (!Number.isSafeInteger(value) || value < 1) {
    return { problem: `a rate needs a whole number of ${unit}s of at least 1, not ${match[1]}` };
  }
  // EventBridge refuses "rate(1 minutes)" and "rate(5 minute)".
  const expected = value === 1 ? unit : `${unit}s`;
  if (word !== expected) {
    return { problem: `write "rate(${value} ${expected})": EventBridge wants the singular unit for 1 only` };
  }
  return {
    cadence: {
      kind: 'rate',
      expression: `rate(${value} ${expected})`,
      value,
      unit,
      intervalMs: value * UNIT_MS[unit],
    },
  };
}

interface FieldSpec {
  name: string;
  min: number;
  max: number;
  /** Names that stand for values, in value order from `min`. */
  names?: readonly string[];
  step: boolean;
}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const WEEKDAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

const MINUTES: FieldSpec = { name: 'minutes', min: 0, max: 59, step: true };
const HOURS: FieldSpec = { name: 'hours', min: 0, max: 23, step: true };
const DAY_OF_MONTH: FieldSpec = { name: 'day-of-month', min: 1, max: 31, step: true };
const MONTH: FieldSpec = { name: 'month', min: 1, max: 12, names: MONTHS, step: true };
const DAY_OF_WEEK: FieldSpec = { name: 'day-of-week', min: 1, max: 7, names: WEEKDAYS, step: false };
const YEAR: FieldSpec = { name: 'year', min: 1970, max: 2199, step: true };

class FieldProblem extends Error {}

function parseCron(body: string): CadenceParse {
  const fields = body.trim().toUpperCase().split(/\s+/);
  if (fields.length !== 6 || fields[0] === '') {
    return {
      problem:
        `"cron(${body})" has ${fields[0] === '' ? 0 : fields.length} fields; EventBridge cron takes six: ` +
        'minutes hours day-of-month month day-of-week year, e.g. "cron(0 6 * * ? *)"',
    };
  }
  const [minutes, hours, dom, month, dow, year] = fields as [string, string, string, string, string, string];
  if ((dom === '?') === (dow === '?')) {
    return {
      problem:
        `"cron(${body})": exactly one of day-of-month and day-of-week must be "?" ` +
        '(e.g. "cron(0 6 * * ? *)" every day, "cron(0 6 ? * MON-FRI *)" on weekdays)',
    };
  }
  try {
    const pattern = [
      '0',
      listField(minutes, MINUTES),
      listField(hours, HOURS),
      dayOfMonthField(dom),
      listField(month, MONTH),
      dayOfWeekField(dow),
      listField(year, YEAR),
    ].join(' ');
    return { cadence: { kind: 'cron', expression: `cron(${fields.join(' ')})`, cronerPattern: pattern } };
  } catch (error) {
    if (error instanceof FieldProblem) return { problem: `"cron(${body})": ${error.message}` };
    throw error;
  }
}

function dayOfMonthField(text: string): string {
  if (text === '?') return '*';
  if (text === 'L') return 'L';
  const weekday = /^(\d+)W$/.exec(text);
  if (weekday) return `${value(weekday[1]!, DAY_OF_MONTH)}W`;
  if (/[LW]/.test(text)) {
    throw new FieldProblem(
      `day-of-month "${text}": use "L" alone (the last day) or "<day>W" alone (the weekday nearest that day)`,
    );
  }
  return listField(text, DAY_OF_MONTH);
}

/** EventBridge numbers weekdays 1 (Sunday) to 7; croner 0 (Sunday) to 6. Names are the same in both. */
function dayOfWeekField(text: string): string {
  if (text === '?') return '*';
  if (text === 'L') return 'SAT'; // "the last day of the week"
  const last = /^(\w+)L$/.exec(text);
  if (last) return `${weekday(last[1]!)}#L`;
  const nth = /^(\w+)#(\d+)$/.exec(text);
  if (nth) {
    const n = Number(nth[2]);
    if (n < 1 || n > 5) {
      throw new FieldProblem(`day-of-week "${text}": the occurrence after "#" is 1 to 5`);
    }
    return `${weekday(nth[1]!)}#${n}`;
  }
  if (/[L#]/.test(text)) {
    throw new FieldProblem(
      `day-of-week "${text}": use "<day>L" alone (the last such day of the month) or "<day>#<n>" alone ` +
        '(the nth such day), e.g. "6L" or "MON#1"',
    );
  }
  return listField(text, DAY_OF_WEEK, weekday);
}

function weekday(text: string): string {
  if (WEEKDAYS.includes(text)) return text;
  return String(value(text, DAY_OF_WEEK) - 1);
}

/**
 * A field of `, - * /` items. `start/step` (EventBridge: from `start`, every `step`) becomes
 * `start-max/step`, which croner reads the same way.
 */
function listField(text: string, spec: FieldSpec, convert?: (item: string) => string): string {
  const own = convert ?? ((item: string) => String(value(item, spec)));
  return text
    .split(',')
    .map((item) => {
      if (item === '*') return '*';
      const [range, step, extra] = item.split('/');
      if (extra !== undefined || range === '' || step === '') {
        throw new FieldProblem(`${spec.name} "${item}" is not a value, a range or a step`);
      }
      if (step !== undefined) {
        if (!spec.step) throw new FieldProblem(`${spec.name} takes no "/" steps; list the days instead`);
        const by = Number(step);
        if (!/^\d+$/.test(step) || by < 1) {
          throw new FieldProblem(
            `${spec.name} "${item}": the step after "/" is a whole number of at least 1`,
          );
        }
      }
      const stepPart = step === undefined ? '' : `/${step}`;
      if (range === '*') return `*${stepPart}`;
      const [from, to, more] = range!.split('-');
      if (more !== undefined || from === '' || to === '') {
        throw new FieldProblem(`${spec.name} "${item}" is not a value or a range`);
      }
      if (to === undefined) {
        // "5/15" starts at 5 and steps to the end of the field.
        return step === undefined ? own(from!) : `${own(from!)}-${own(String(spec.max))}${stepPart}`;
      }
      if (value(from!, spec) > value(to, spec)) {
        throw new FieldProblem(`${spec.name} range "${range}" runs backwards; write the smaller value first`);
      }
      return `${own(from!)}-${own(to)}${stepPart}`;
    })
    .join(',');
}

/** A field value as its number, checked against the field's range; names count as their number. */
function value(text: string, spec: FieldSpec): number {
  const named = spec.names?.indexOf(text) ?? -1;
  if (named >= 0) return spec.min + named;
  if (!/^\d+$/.test(text)) {
    const names = spec.names ? ` or ${spec.names[0]}-${spec.names[spec.names.length - 1]}` : '';
    throw new FieldProblem(`${spec.name} "${text}" is not a value; use ${spec.min}-${spec.max}${names}`);
  }
  const n = Number(text);
  if (n < spec.min || n > spec.max) {
    throw new FieldProblem(`${spec.name} ${text} is out of range ${spec.min}-${spec.max}`);
  }
  return n;
}
