import type { BlobStore } from '../ports/blob-store.ts';
import type { Clock } from '../ports/clock.ts';
import type { ConcurrencySlots } from '../ports/concurrency-slots.ts';
import type { ConnectorStore } from '../ports/connector-store.ts';
import type { EventPublisher } from '../ports/event-publisher.ts';
import type { ExecutionStore } from '../ports/execution-store.ts';
import type { Mailer } from '../ports/mailer.ts';
import type { Orchestrator } from '../ports/orchestrator.ts';
import type { RecordStore } from '../ports/record-store.ts';
import type { ConnectorSchedules } from '../ports/schedules.ts';
import type { SecretStore } from '../ports/secret-store.ts';
import type { SqlEngine } from '../ports/sql-engine.ts';
import type { WorkQueue } from '../ports/work-queue.ts';

/** Everything the pipeline stages reach the outside world through. Built once per process/container. */
export interface Ports {
  connectors: ConnectorStore;
  executions: ExecutionStore;
  records: RecordStore;
  blobs: BlobStore;
  sql: SqlEngine;
  events: EventPublisher;
  clock: Clock;
  mailer: Mailer;
  /** The secrets connectors name (`secrets`), given to their SQL as named collections. */
  secrets: SecretStore;
  /** Per-connector concurrency slots for live runs. */
  slots: ConcurrencySlots;
  /** Starts the pipeline state machine for a dispatched execution. */
  orchestrator: Orchestrator;
  /** How the execution-ended webhook may be delivered from this runtime. */
  notifications: {
    /** Loopback targets are allowed (local development); in AWS they are refused. */
    allowLoopback: boolean;
    /** How long a run waits for the webhook to be delivered before leaving it `pending`. */
    maxWebhookWaitSeconds: number;
  };
  /**
   * Where a webhook delivery still failing after `maxWebhookWaitSeconds` waits for its next attempt (AWS:
   * an SQS queue with delays). Absent locally: `sc run` leaves such a delivery `pending`.
   */
  webhookQueue?: WorkQueue;
  /**
   * The schedules that tick scheduler and webhook connectors (AWS: EventBridge Scheduler), kept in step
   * with each connector by `syncSchedule`. Absent where nothing needs them (`sc run`; `sc serve` ticks
   * from the stored cadences itself).
   */
  schedules?: ConnectorSchedules;
  /** Scratch space for files a stage builds before storing them. */
  tmpDir: string;
}
