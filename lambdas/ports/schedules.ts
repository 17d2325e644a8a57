/** What ticks one connector (SPEC §8 "Scheduler"): its cadence, read in its time zone. */
export interface ConnectorSchedule {
  connectorId: string;
  /** An EventBridge expression as `parseCadence` normalises it: `rate(5 minutes)`, `cron(0 6 * * ? *)`. */
  expression: string;
  /** IANA name the cron fields are read in (the connector's `settings.timezone`). */
  timezone: string;
}

/** What changed when a schedule was put. */
export type SchedulePut = 'created' | 'updated' | 'unchanged';

/**
 * The schedules that tick connectors (AWS: one EventBridge Scheduler schedule per connector, whose
 * target is the tick Lambda). Every call is idempotent, so a sync can simply be run again.
 */
export interface ConnectorSchedules {
  /** Creates the connector's schedule, or changes it to this one. */
  put(schedule: ConnectorSchedule): Promise<SchedulePut>;
  /** Removes the connector's schedule; false when it had none. */
  delete(connectorId: string): Promise<boolean>;
  get(connectorId: string): Promise<ConnectorSchedule | null>;
}
