import { randomUUID } from 'node:crypto';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import {
  awsJson11,
  parseJson,
  readOperation,
  standInClientConfig,
  startHttpStandIn,
} from './http-stand-in.ts';

/**
 * An embedded EventBridge for tests: a `node:http` server answering `PutEvents` (AWS JSON 1.1,
 * `X-Amz-Target: AWSEvents.PutEvents`) so `EventBridgeEventPublisher` runs unchanged against it. It
 * records accepted events on any bus name, and checks what the publisher must respect: 1 to 10
 * entries, less than 256 KB of entries per request, a `Source`, a `DetailType` and a JSON-object
 * `Detail` per entry. It can fail chosen entries, or a whole request, the way EventBridge does. No
 * rules, targets, archives or other operations; no signature check; error messages are its own.
 */

export interface StandInEvent {
  source: string;
  detailType: string;
  /** The parsed `Detail`. */
  detail: unknown;
  eventBusName: string;
  /** The entry's `Time`, ISO 8601, when it had one. */
  time?: string;
}

export interface EventBridgeStandIn {
  /** `http://127.0.0.1:<port>`, for `eventBridgeClientFor` or `AWS_ENDPOINT_URL_EVENTBRIDGE`. */
  endpoint: string;
  /** Every accepted event, in arrival order. */
  events: StandInEvent[];
  /**
   * Fails the first `count` entries of the next PutEvents with `code` (e.g. `ThrottlingException`,
   * `InternalFailure`, `AccessDeniedException`) in its result entries, as EventBridge reports them;
   * calls queue up, one per request.
   */
  failNextEntries(count: number, code: string): void;
  /**
   * Answers the next request with `status` and an AWS JSON error naming `code` (e.g. 400
   * `AccessDeniedException`, 500 `InternalException`), which the SDK raises as that exception.
   */
  failNext(status: number, code: string): void;
  /** Closes the server. Safe to call twice. */
  stop(): Promise<void>;
}

const MAX_ENTRIES = 10;
const MAX_REQUEST_BYTES = 256 * 1024;

interface PutEventsEntry {
  Source?: string;
  DetailType?: string;
  Detail?: string;
  EventBusName?: string;
  /** Epoch seconds, as the JSON 1.1 protocol writes timestamps. */
  Time?: number;
}

type EntryResult = { EventId: string } | { ErrorCode: string; ErrorMessage: string };

export async function startEventBridgeStandIn(): Promise<EventBridgeStandIn> {
  const events: StandInEvent[] = [];
  const entryFailures: Array<{ count: number; code: string }> = [];
  const { error, reply } = awsJson11;

  const server = await startHttpStandIn({
    protocol: awsJson11,
    internalErrorCode: 'InternalException',
    handle: (request) => {
      const read = readOperation<{ Entries?: PutEventsEntry[] }>(awsJson11, request, 'AWSEvents.PutEvents');
      if ('error' in read) return read.error;
      const { body } = read;
      const entries = body.Entries ?? [];
      if (entries.length < 1 || entries.length > MAX_ENTRIES) {
        return error(400, 'ValidationException', `Entries must hold 1 to ${MAX_ENTRIES} entries.`);
      }
      const bytes = entries.reduce((sum, entry) => sum + entrySize(entry), 0);
      if (bytes >= MAX_REQUEST_BYTES) {
        return error(400, 'ValidationException', `The entries total ${bytes} bytes, over the limit.`);
      }
      const failNow = entryFailures.shift() ?? { count: 0, code: '' };
      const results = entries.map((entry, i): EntryResult => {
        if (i < failNow.count) {
          return { ErrorCode: failNow.code, ErrorMessage: `Stand-in failure: ${failNow.code}.` };
        }
        if (!entry.Source || !entry.DetailType || entry.Detail === undefined) {
          return {
            ErrorCode: 'InvalidArgument',
            ErrorMessage: 'Source, DetailType and Detail are required.',
          };
        }
        const detail = parseObject(entry.Detail);
        if (detail === undefined)
          return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
        events.push({
          source: entry.Source,
          detailType: entry.DetailType,
          detail,
          eventBusName: entry.EventBusName ?? 'default',
          ...(entry.Time === undefined
            ? {}
            : { time: new Date(Math.round(entry.Time * 1000)).toISOString() }),
        });
        return { EventId: randomUUID() };
      });
      return reply({
        FailedEntryCount: results.filter((r) => 'ErrorCode' in r).length,
        Entries: results,
      });
    },
  });
  return {
    ...server,
    events,
    failNextEntries: (count, code) => void entryFailures.push({ count, code }),
  };
}

/** EventBridge's measure of an entry: 14 bytes for a `Time`, the UTF-8 bytes of the rest. */
function entrySize(entry: PutEventsEntry): number {
  const utf8 = (text: string | undefined) => Buffer.byteLength(text ?? '', 'utf8');
  return (
    (entry.Time === undefined ? 0 : 14) + utf8(entry.Source) + utf8(entry.DetailType) + utf8(entry.Detail)
  );
}

function parseObject(text: string): object | undefined {
  const value = parseJson<unknown>(text);
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? value : undefined;
}

/** An EventBridge client for the stand-in: dummy credentials. */
export function eventBridgeClientFor(
  endpoint: string,
  options: { maxAttempts?: number } = {},
): EventBridgeClient {
  return new EventBridgeClient(standInClientConfig(endpoint, options));
}
