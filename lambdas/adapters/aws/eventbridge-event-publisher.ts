import { setTimeout as sleep } from 'node:timers/promises';
import {
  PutEventsCommand,
  type EventBridgeClient,
  type PutEventsCommandOutput,
  type PutEventsRequestEntry,
} from '@aws-sdk/client-eventbridge';
import { ScError, errorMessage, type ErrorContext } from '../../core/errors.ts';
import type { EventPublisher, RecordEvent } from '../../ports/event-publisher.ts';

export interface EventBridgeEventPublisherOptions {
  client: EventBridgeClient;
  /** The name or ARN of the bus the record events go to. */
  eventBusName: string;
  /** The `source` of every event, what rules match on. Default `smartconnector`. */
  source?: string;
}

/**
 * PutEvents limits: https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html and
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevent-size.html. The entries of one
 * request must total less than 256 KB (newer API models say 1 MB; fitting 256 KB fits both).
 */
const MAX_ENTRIES_PER_REQUEST = 10;
const MAX_REQUEST_BYTES = 256 * 1024;
/** EventBridge counts a `Time` as 14 bytes, whatever its text. */
const TIME_BYTES = 14;
/** Entry error codes the API reference lists as retryable; the others (access, malformed detail) are not. */
const RETRYABLE_ENTRY_ERRORS = new Set(['InternalFailure', 'ThrottlingException']);
/** Tries of an entry EventBridge fails with a retryable code, the first included; waits double from 50 ms. */
const MAX_ENTRY_ATTEMPTS = 4;
const FIRST_RETRY_DELAY_MS = 50;
/** Request errors a later attempt can outlive, besides 429 and 5xx statuses. */
const THROTTLING = new Set(['ThrottlingException', 'LimitExceededException']);

interface EntryFailure {
  entry: PutEventsRequestEntry;
  code: string;
  message: string;
}

/**
 * Publishes record events to one EventBridge bus: `DetailType` is the event's `type`
 * (`record.created`, `record.updated`), `Detail` the whole event as JSON, `Time` its `time`.
 *
 * Events go out in order, in requests of at most 10 entries and 256 KB. Entries EventBridge fails with
 * a retryable code (a throttle, an internal failure) are sent again, up to 4 tries with a short
 * backoff; entries it refuses for good are not. Then `publish` rejects with `EVENTS_NOT_PUBLISHED`
 * and sends no later request, but the events of earlier requests are on the bus: a retried `publish`
 * sends those again, so consumers dedupe by execution, record and type.
 */
export class EventBridgeEventPublisher implements EventPublisher {
  private readonly client: EventBridgeClient;
  private readonly eventBusName: string;
  private readonly source: string;

  constructor(options: EventBridgeEventPublisherOptions) {
    this.client = options.client;
    this.eventBusName = options.eventBusName;
    this.source = options.source ?? 'smartconnector';
  }

  async publish(events: readonly RecordEvent[]): Promise<void> {
    // Every event is checked before the first request, so a bad one publishes nothing.
    const requests = batchEntries(events.map((event) => this.entryFor(event)));
    for (const [index, entries] of requests.entries()) {
      const failures = await this.putWithRetries(entries);
      if (failures.length > 0) {
        const unsent = requests.slice(index + 1).reduce((sum, later) => sum + later.length, 0);
        throw this.notPublished(failures, unsent);
      }
    }
  }

  private entryFor(event: RecordEvent): PutEventsRequestEntry {
    const time = new Date(event.time);
    if (Number.isNaN(time.getTime())) {
      throw new ScError('INVALID_ARGUMENT', `Record event time "${event.time}" is not an ISO 8601 date.`, {
        context: eventContext(event),
      });
    }
    const entry: PutEventsRequestEntry = {
      EventBusName: this.eventBusName,
      Source: this.source,
      DetailType: event.type,
      Detail: JSON.stringify(event),
      Time: time,
    };
    const size = entrySize(entry);
    if (size >= MAX_REQUEST_BYTES) {
      throw new ScError(
        'EVENT_TOO_LARGE',
        `The ${event.type} event of ${event.object} record ${event.recordId} is ${size} bytes; EventBridge ` +
          `takes less than ${MAX_REQUEST_BYTES}. Turn the step's trigger off or store fewer fields on the object.`,
        { context: eventContext(event) },
      );
    }
    return entry;
  }

  /** The failures left once retryable ones are retried enough; none when every entry landed. */
  private async putWithRetries(entries: PutEventsRequestEntry[]): Promise<EntryFailure[]> {
    const refused: EntryFailure[] = [];
    let pending = entries;
    for (let attempt = 1; pending.length > 0; attempt++) {
      if (attempt > 1) await sleep(FIRST_RETRY_DELAY_MS * 2 ** (attempt - 2));
      const failures = await this.put(pending);
      const retryable = failures.filter((f) => RETRYABLE_ENTRY_ERRORS.has(f.code));
      refused.push(...failures.filter((f) => !RETRYABLE_ENTRY_ERRORS.has(f.code)));
      if (attempt === MAX_ENTRY_ATTEMPTS) return [...refused, ...retryable];
      pending = retryable.map((f) => f.entry);
    }
    return refused;
  }

  /** One PutEvents request; its result entries line up with the request's. */
  private async put(entries: PutEventsRequestEntry[]): Promise<EntryFailure[]> {
    let output: PutEventsCommandOutput;
    try {
      output = await this.client.send(new PutEventsCommand({ Entries: entries }));
    } catch (error) {
      throw this.requestFailed(error, entries.length);
    }
    return entries.flatMap((entry, i) => {
      const result = output.Entries?.[i];
      if (result?.EventId !== undefined && result.ErrorCode === undefined) return [];
      return [
        {
          entry,
          code: result?.ErrorCode ?? 'MissingResult',
          message: result?.ErrorMessage ?? 'EventBridge returned no result for this entry.',
        },
      ];
    });
  }

  private notPublished(failures: EntryFailure[], unsent: number): ScError {
    const [first] = failures;
    const retryable = failures.every((f) => RETRYABLE_ENTRY_ERRORS.has(f.code));
    const later = unsent > 0 ? `; the ${unsent} events after them were not sent` : '';
    return new ScError(
      'EVENTS_NOT_PUBLISHED',
      `EventBridge failed ${failures.length} record events on bus ${this.eventBusName} ` +
        `(first: ${first?.code}: ${first?.message})${later}. ` +
        (retryable
          ? 'Try again later.'
          : 'Check the bus and the permission of this function to publish to it.'),
      { retryable },
    );
  }

  private requestFailed(error: unknown, count: number): ScError {
    const e = error as { name?: string; $metadata?: { httpStatusCode?: number }; $retryable?: unknown };
    const status = e?.$metadata?.httpStatusCode ?? 0;
    const retryable =
      status === 429 || status >= 500 || e?.$retryable !== undefined || THROTTLING.has(e?.name ?? '');
    return new ScError(
      'EVENTS_NOT_PUBLISHED',
      `EventBridge refused a request of ${count} record events on bus ${this.eventBusName}: ` +
        `${errorMessage(error)}${retryable ? '; try again later.' : ''}`,
      { retryable, cause: error },
    );
  }
}

function eventContext(event: RecordEvent): ErrorContext {
  return { executionId: event.executionId, connector: event.connector, step: event.step, row: event.row };
}

/** Entries in order, packed into requests EventBridge accepts. */
function batchEntries(entries: PutEventsRequestEntry[]): PutEventsRequestEntry[][] {
  const requests: PutEventsRequestEntry[][] = [];
  let current: PutEventsRequestEntry[] = [];
  let bytes = 0;
  for (const entry of entries) {
    const size = entrySize(entry);
    if (current.length === MAX_ENTRIES_PER_REQUEST || bytes + size >= MAX_REQUEST_BYTES) {
      requests.push(current);
      current = [];
      bytes = 0;
    }
    current.push(entry);
    bytes += size;
  }
  if (current.length > 0) requests.push(current);
  return requests;
}

/**
 * EventBridge's own measure of an entry (the user guide's "Calculating PutEvents event entry size");
 * these entries carry no `Resources`, which would count too.
 */
function entrySize(entry: PutEventsRequestEntry): number {
  const utf8 = (text: string | undefined) => Buffer.byteLength(text ?? '', 'utf8');
  return (
    (entry.Time === undefined ? 0 : TIME_BYTES) +
    utf8(entry.Source) +
    utf8(entry.DetailType) +
    utf8(entry.Detail)
  );
}
