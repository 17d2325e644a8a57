import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EventBridgeEventPublisher } from '../../lambdas/adapters/aws/eventbridge-event-publisher.ts';
import { ScError } from '../../lambdas/core/errors.ts';
import {
  eventBridgeClientFor,
  startEventBridgeStandIn,
  type EventBridgeStandIn,
} from '../../lambdas/local/eventbridge-stand-in.ts';
import type { RecordEvent } from '../../lambdas/ports/event-publisher.ts';

let bus: EventBridgeStandIn;
let client: EventBridgeClient;
/** PutEvents requests the client sent, counted before the SDK's own retries. */
let requests: number;

// A fresh stand-in per case, so failures a case queued never reach the next one.
beforeEach(async () => {
  bus = await startEventBridgeStandIn();
  // One attempt per request, so a request failure reaches the publisher instead of the SDK's retries.
  client = eventBridgeClientFor(bus.endpoint, { maxAttempts: 1 });
  requests = 0;
  client.middlewareStack.add(
    (next) => (args) => {
      requests++;
      return next(args);
    },
    { step: 'initialize' },
  );
});
afterEach(async () => {
  client?.destroy();
  await bus?.stop();
});

function publisher(): EventBridgeEventPublisher {
  return new EventBridgeEventPublisher({ client, eventBusName: 'sc-record-events' });
}

function recordEvent(row: number, fields: Record<string, unknown> = { sku: `SKU-${row}` }): RecordEvent {
  return {
    type: row % 3 === 0 ? 'record.updated' : 'record.created',
    object: 'product',
    recordId: `rec-${row}`,
    executionId: 'exec-1',
    connector: 'vendor_product_import',
    step: 'upsert_products',
    row,
    time: `2026-12-04T10:00:${String(row % 60).padStart(2, '0')}.${String(row).padStart(3, '0')}Z`,
    fields,
  };
}

async function failure(promise: Promise<unknown>): Promise<ScError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ScError);
  return error as ScError;
}

describe('EventBridgeEventPublisher', () => {
  it('publishes 23 events in 3 requests, in order, with type, source, bus, time and the event as detail', async () => {
    const events = Array.from({ length: 23 }, (_, i) => recordEvent(i + 1));
    await publisher().publish(events);
    expect(requests).toBe(3);
    expect(bus.events).toEqual(
      events.map((event) => ({
        source: 'smartconnector',
        detailType: event.type,
        detail: event,
        eventBusName: 'sc-record-events',
        time: event.time,
      })),
    );
  });

  it('keeps non-ASCII fields intact and uses the configured source', async () => {
    const event = recordEvent(1, { name: 'Café «Fournisseurs» 日本語 ✓', price: 12.5, tags: ['a', null] });
    await new EventBridgeEventPublisher({ client, eventBusName: 'bus', source: 'acme.sc' }).publish([event]);
    expect(bus.events).toEqual([
      {
        source: 'acme.sc',
        detailType: 'record.created',
        detail: event,
        eventBusName: 'bus',
        time: event.time,
      },
    ]);
  });

  it('sends nothing for no events', async () => {
    await publisher().publish([]);
    expect(requests).toBe(0);
  });

  it('starts a new request before the entries reach 256 KB', async () => {
    // About 60 KB each: four fit in one request, a fifth would not.
    const events = Array.from({ length: 6 }, (_, i) => recordEvent(i + 1, { blob: 'x'.repeat(60_000) }));
    await publisher().publish(events);
    expect(requests).toBe(2);
    expect(bus.events.map((e) => (e.detail as RecordEvent).row)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('refuses an event over 256 KB before sending anything', async () => {
    const events = [recordEvent(1), recordEvent(2, { blob: 'é'.repeat(140_000) })];
    const error = await failure(publisher().publish(events));
    expect(error.code).toBe('EVENT_TOO_LARGE');
    expect(error.message).toContain('product record rec-2');
    expect(error.context).toMatchObject({ executionId: 'exec-1', row: 2 });
    expect(requests).toBe(0);
    expect(bus.events).toEqual([]);
  });

  it('retries the entries EventBridge failed with a retryable code until all land', async () => {
    bus.failNextEntries(4, 'ThrottlingException');
    bus.failNextEntries(1, 'InternalFailure');
    const events = Array.from({ length: 10 }, (_, i) => recordEvent(i + 1));
    await publisher().publish(events);
    // One request for the 10, one for the 4 throttled, one for the 1 that failed again.
    expect(requests).toBe(3);
    const rows = bus.events.map((e) => (e.detail as RecordEvent).row);
    expect(rows).toEqual([5, 6, 7, 8, 9, 10, 2, 3, 4, 1]);
    expect(new Set(rows).size).toBe(10);
  });

  it('gives up on entries that keep failing, naming how many and the first error', async () => {
    for (let i = 0; i < 10; i++) bus.failNextEntries(2, 'ThrottlingException');
    const events = Array.from({ length: 23 }, (_, i) => recordEvent(i + 1));
    const error = await failure(publisher().publish(events));
    expect(error.code).toBe('EVENTS_NOT_PUBLISHED');
    expect(error.retryable).toBe(true);
    expect(error.message).toContain('failed 2 record events on bus sc-record-events');
    expect(error.message).toContain('ThrottlingException: Stand-in failure: ThrottlingException.');
    expect(error.message).toContain('the 13 events after them were not sent');
    // Four tries of the first request; the other two were never sent.
    expect(requests).toBe(4);
    expect(bus.events.map((e) => (e.detail as RecordEvent).row)).toEqual([3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('does not retry an entry EventBridge refuses for good', async () => {
    bus.failNextEntries(1, 'AccessDeniedException');
    const error = await failure(publisher().publish([recordEvent(1), recordEvent(2)]));
    expect(error.code).toBe('EVENTS_NOT_PUBLISHED');
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('failed 1 record events');
    expect(error.message).toContain('AccessDeniedException');
    expect(error.message).toContain('Check the bus');
    expect(requests).toBe(1);
    expect(bus.events.map((e) => (e.detail as RecordEvent).row)).toEqual([2]);
  });

  it('turns a throttled request into a retryable EVENTS_NOT_PUBLISHED', async () => {
    bus.failNext(400, 'ThrottlingException');
    const error = await failure(publisher().publish([recordEvent(1)]));
    expect(error.code).toBe('EVENTS_NOT_PUBLISHED');
    expect(error.retryable).toBe(true);
    expect((error.cause as Error).name).toBe('ThrottlingException');
  });

  it('turns a refused request into a non-retryable EVENTS_NOT_PUBLISHED with the EventBridge message', async () => {
    bus.failNext(400, 'ResourceNotFoundException');
    const error = await failure(publisher().publish([recordEvent(1)]));
    expect(error.code).toBe('EVENTS_NOT_PUBLISHED');
    expect(error.retryable).toBe(false);
    expect((error.cause as Error).name).toBe('ResourceNotFoundException');
    expect(error.message).toContain('Stand-in failure: ResourceNotFoundException.');
  });
});

describe('EventBridge stand-in', () => {
  it('answers an unknown operation with UnknownOperationException', async () => {
    const response = await fetch(bus.endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'AWSEvents.ListRules' },
      body: '{}',
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ __type: 'UnknownOperationException' });
  });
});
