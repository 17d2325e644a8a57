import { z } from 'zod';
import type { Ports } from '../pipeline/ports.ts';
import { tickConnector, type TickResult } from '../pipeline/schedule-tick.ts';
import { awsEnvironment, awsPorts } from './aws-ports.ts';

/**
 * What a connector's EventBridge Scheduler schedule sends (EventBridgeSchedulerSchedules): the connector
 * and `<aws.scheduler.scheduled-time>`, the tick's scheduled time in ISO 8601 UTC.
 */
const TickEvent = z.object({
  connectorId: z.string().min(1),
  tickTime: z.iso.datetime({ offset: true }),
});

let ports: Ports | undefined;

/**
 * The tick Lambda: one tick of one connector. A failure throws, so Lambda and then Scheduler retry it
 * (the tick is idempotent) and finally park it in the schedules' dead-letter queue.
 */
export async function handler(event: unknown): Promise<TickResult> {
  const { connectorId, tickTime } = TickEvent.parse(event);
  ports ??= awsPorts(awsEnvironment());
  return tickConnector(ports, connectorId, new Date(tickTime));
}
