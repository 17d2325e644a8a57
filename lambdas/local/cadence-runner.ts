import { nextTick, readCadence, type Cadence } from '../core/cadence.ts';
import { errorMessage } from '../core/errors.ts';
import type { Ports } from '../pipeline/ports.ts';
import { tickConnector, type TickLogEntry } from '../pipeline/schedule-tick.ts';
import { scheduleFor } from '../pipeline/schedules-sync.ts';

export interface CadenceRunnerOptions {
  /** How often the stored connectors are read again for new, changed and removed cadences. Default 5 s. */
  refreshMs?: number;
  /** Where each tick's log line goes. Default: `tickConnector`'s, one JSON line on stdout. */
  log?: (entry: TickLogEntry) => void;
  /** A tick or a read of the connectors failed. Default: a process warning. */
  onError?: (error: unknown) => void;
}

/** The next tick of one connector as the runner has it. */
export interface ScheduledTick {
  connectorId: string;
  apiName: string;
  expression: string;
  timezone: string;
  /** Null when the cadence never ticks again (a cron whose years are past). */
  next: Date | null;
}

interface Entry extends ScheduledTick {
  cadence: Cadence;
  /** When a rate cadence started ticking: here, when the runner first saw it (to the minute). */
  anchor: Date;
  timer?: NodeJS.Timeout;
}

/** setTimeout's longest wait; a later tick is waited for in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * What EventBridge Scheduler does in AWS, for `sc serve`: every scheduler and webhook connector with a
 * cadence ticks on it, in its time zone, whatever its status (`tickConnector` skips and logs the ticks of
 * a connector that is not active, as the tick Lambda does). The stored connectors are the source: they
 * are read again every `refreshMs`, so a connector created, edited, (de)activated or deleted through the
 * API or a restart is picked up without a restart; a changed cadence starts over, while a connector whose
 * read fails keeps ticking as before. A rate ticks from when the runner first saw it, rounded down to the
 * minute. Ticks missed while the process slept are not made up: the next tick is the next one after now.
 */
export class CadenceRunner {
  private readonly entries = new Map<string, Entry>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly refreshMs: number;
  private refreshTimer: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly ports: Ports,
    private readonly options: CadenceRunnerOptions = {},
  ) {
    this.refreshMs = options.refreshMs ?? 5000;
  }

  /** Reads the connectors and starts ticking; then re-reads them every `refreshMs` until `stop`. */
  async start(): Promise<void> {
    await this.refresh();
    this.refreshTimer = setInterval(() => void this.refresh(), this.refreshMs);
  }

  /** The connectors that tick and when, by api name. */
  scheduled(): ScheduledTick[] {
    return [...this.entries.values()]
      .map(({ connectorId, apiName, expression, timezone, next }) => ({
        connectorId,
        apiName,
        expression,
        timezone,
        next,
      }))
      .sort((a, b) => a.apiName.localeCompare(b.apiName));
  }

  /** Brings the ticking connectors in step with the stored ones. Refreshes never overlap. */
  refresh(): Promise<void> {
    this.refreshing ??= this.refreshOnce()
      .catch((error: unknown) => this.failed(error))
      .finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  /** Stops ticking and waits for ticks in progress (their executions run on in the state machine). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.refreshTimer);
    await this.refreshing;
    for (const entry of this.entries.values()) clearTimeout(entry.timer);
    this.entries.clear();
    await Promise.allSettled([...this.inFlight]);
  }

  private async refreshOnce(): Promise<void> {
    const seen = new Set<string>();
    for (const connector of await this.ports.connectors.listConnectors()) {
      if (this.stopped) return;
      try {
        const version = await this.ports.connectors.getVersion(connector.id, connector.version);
        const schedule = version ? scheduleFor(connector.id, version.definition) : null;
        if (!schedule) continue;
        seen.add(connector.id);
        const current = this.entries.get(connector.id);
        if (current && current.expression === schedule.expression && current.timezone === schedule.timezone) {
          current.apiName = connector.apiName;
          continue;
        }
        if (current) clearTimeout(current.timer);
        const now = this.ports.clock.now();
        const entry: Entry = {
          ...schedule,
          apiName: connector.apiName,
          cadence: readCadence(schedule.expression, connector.apiName),
          anchor: new Date(Math.floor(now.getTime() / 60_000) * 60_000),
          next: null,
        };
        this.entries.set(connector.id, entry);
        this.arm(entry, now);
      } catch (error) {
        // A failed read says nothing about the connector's cadence: it keeps ticking as it did, and a
        // rate keeps its anchor (dropping the entry would restart the rate from the next refresh).
        seen.add(connector.id);
        this.failed(error);
      }
    }
    for (const [id, entry] of this.entries) {
      if (seen.has(id)) continue;
      clearTimeout(entry.timer);
      this.entries.delete(id);
    }
  }

  /** Sets the entry's timer for its first tick after `after`. */
  private arm(entry: Entry, after: Date): void {
    entry.next = nextTick(entry.cadence, after, { timezone: entry.timezone, anchor: entry.anchor });
    this.wait(entry);
  }

  private wait(entry: Entry): void {
    const due = entry.next;
    if (!due || this.stopped) return;
    const ms = due.getTime() - this.ports.clock.now().getTime();
    entry.timer = setTimeout(
      () => {
        if (this.entries.get(entry.connectorId) !== entry) return;
        const now = this.ports.clock.now();
        if (due.getTime() > now.getTime()) return this.wait(entry);
        // A tick that fired late (the machine slept) is made once; the ones it slept through are not.
        this.arm(entry, now);
        this.tick(entry.connectorId, due);
      },
      Math.min(Math.max(ms, 0), MAX_TIMER_MS),
    );
  }

  private tick(connectorId: string, tickTime: Date): void {
    const log = this.options.log;
    const run = tickConnector(this.ports, connectorId, tickTime, log ? { log } : {})
      .then(() => undefined)
      .catch((error: unknown) => this.failed(error, connectorId, tickTime))
      .finally(() => this.inFlight.delete(run));
    this.inFlight.add(run);
  }

  private failed(error: unknown, connectorId?: string, tickTime?: Date): void {
    if (this.options.onError) return this.options.onError(error);
    const what = connectorId
      ? `The tick of connector ${connectorId} at ${tickTime?.toISOString()}`
      : 'Reading the connector cadences';
    process.emitWarning(`${what} failed: ${errorMessage(error)}`);
  }
}
