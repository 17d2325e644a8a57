import { readCadence } from '../core/cadence.ts';
import type { ConnectorDefinition } from '../core/connector-schema.ts';
import type { ConnectorSchedule, SchedulePut } from '../ports/schedules.ts';
import type { Ports } from './ports.ts';

/** The connector types a cadence ticks (SPEC §3): scheduler connectors run, webhook connectors batch. */
export const TICKING_TYPES: ReadonlySet<ConnectorDefinition['type']> = new Set(['scheduler', 'webhook']);

/**
 * The schedule a connector's definition asks for: one while it is a scheduler or webhook connector with
 * a cadence, whatever its status (ticks of a connector that is not active are skipped and logged by the
 * tick, SPEC §8); none otherwise (a spreadsheet connector's cadence is ignored).
 */
export function scheduleFor(connectorId: string, definition: ConnectorDefinition): ConnectorSchedule | null {
  const { cadence, timezone } = definition.settings;
  if (!TICKING_TYPES.has(definition.type) || cadence === undefined) return null;
  return { connectorId, expression: readCadence(cadence, definition.apiName).expression, timezone };
}

/** What a sync did; `absent` when there is no schedule and none is wanted (or no schedules port). */
export type ScheduleSync = SchedulePut | 'deleted' | 'absent';

/**
 * Brings a connector's schedule in step with its current version: created, changed or removed as its
 * cadence, time zone or type change, removed when the connector is gone. Run after every save of a
 * version, every status change and a deletion; safe to repeat. Does nothing where the runtime has no
 * schedules port.
 */
export async function syncSchedule(
  ports: Pick<Ports, 'connectors' | 'schedules'>,
  connectorId: string,
): Promise<ScheduleSync> {
  const { schedules } = ports;
  if (!schedules) return 'absent';
  const connector = await ports.connectors.getConnector(connectorId);
  const version = connector ? await ports.connectors.getVersion(connector.id, connector.version) : null;
  const wanted = connector && version ? scheduleFor(connector.id, version.definition) : null;
  if (wanted) return schedules.put(wanted);
  // A deleted connector is named by the id it had.
  return (await schedules.delete(connector?.id ?? connectorId)) ? 'deleted' : 'absent';
}
