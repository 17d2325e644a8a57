import { randomUUID } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbConcurrencySlots } from '../../lambdas/adapters/aws/dynamodb-concurrency-slots.ts';
import { DynamoDbControlStore } from '../../lambdas/adapters/aws/dynamodb-control-store.ts';
import { slotsToReconcile } from '../../lambdas/core/dispatch.ts';
import { ScError } from '../../lambdas/core/errors.ts';
import type { Execution, ExecutionStatus } from '../../lambdas/core/model.ts';
import type { Clock } from '../../lambdas/ports/clock.ts';
import {
  dynamoClientFor,
  startDynamoStandIn,
  type DynamoStandIn,
} from '../../lambdas/local/dynamo-stand-in.ts';

let standIn: DynamoStandIn;
let client: DynamoDBClient;

beforeAll(async () => {
  standIn = await startDynamoStandIn();
  client = dynamoClientFor(standIn.endpoint);
});
afterAll(async () => {
  client.destroy();
  await standIn.stop();
});

const CLAIMED_AT = '2024-05-01T10:00:00.000Z';
const fixedClock: Clock = { now: () => new Date(CLAIMED_AT) };

function newSlots(): DynamoDbConcurrencySlots {
  return new DynamoDbConcurrencySlots({ client, tableName: standIn.tables.control, clock: fixedClock });
}

/** Each test gets its own connector, so tests share the stand-in without seeing each other's slots. */
const newConnectorId = () => randomUUID();

function execution(connectorId: string, id: string, status: ExecutionStatus): Execution {
  return {
    id,
    connectorId,
    connectorApiName: 'vendors',
    connectorName: 'Vendors',
    connectorVersion: 1,
    status,
    dryRun: false,
    diffCheck: false,
    trigger: 'upload',
    initiatedBy: 'cli',
    createdAt: CLAIMED_AT,
    startedAt: null,
    endedAt: null,
    stage: 'queued',
    progress: { rowsDone: 0, rowsTotal: 0, chunksDone: 0, chunksTotal: 0 },
    counts: { scopes: {}, steps: [] },
    error: null,
    inputFile: null,
    sqlOutputKey: null,
    reportKey: null,
    cancelRequested: false,
  };
}

describe('DynamoDbConcurrencySlots: claim and release', () => {
  it('claims the lowest free slot, names the execution, and frees it on release', async () => {
    const slots = newSlots();
    const connector = newConnectorId();

    expect(await slots.claim(connector, 2, 'e1')).toBe(0);
    expect(await slots.claim(connector, 2, 'e2')).toBe(1);
    expect(await slots.claim(connector, 2, 'e3')).toBeNull();
    expect(await slots.holders(connector)).toEqual([
      { slot: 0, executionId: 'e1', claimedAt: CLAIMED_AT },
      { slot: 1, executionId: 'e2', claimedAt: CLAIMED_AT },
    ]);

    await slots.release(connector, 'e1');
    expect(await slots.holders(connector)).toEqual([{ slot: 1, executionId: 'e2', claimedAt: CLAIMED_AT }]);
    expect(await slots.claim(connector, 2, 'e3')).toBe(0);
  });

  it('gives an execution that claims again its own slot back, even when the others are taken', async () => {
    const slots = newSlots();
    const connector = newConnectorId();
    await slots.claim(connector, 2, 'e1');
    await slots.claim(connector, 2, 'e2');

    expect(await slots.claim(connector, 2, 'e2')).toBe(1);
    expect(await slots.claim(connector, 1, 'e2')).toBe(1);
    expect(await slots.holders(connector)).toHaveLength(2);
  });

  it('an execution claiming twice at once gets one slot', async () => {
    const slots = newSlots();
    const connector = newConnectorId();
    const claims = await Promise.all([slots.claim(connector, 3, 'e1'), slots.claim(connector, 3, 'e1')]);

    expect(claims).toEqual([0, 0]);
    expect(await slots.holders(connector)).toEqual([{ slot: 0, executionId: 'e1', claimedAt: CLAIMED_AT }]);
  });

  it('keeps the slots of other connectors apart', async () => {
    const slots = newSlots();
    const [a, b] = [newConnectorId(), newConnectorId()];
    expect(await slots.claim(a, 1, 'e1')).toBe(0);
    expect(await slots.claim(b, 1, 'e2')).toBe(0);
    expect(await slots.holders(b)).toEqual([{ slot: 0, executionId: 'e2', claimedAt: CLAIMED_AT }]);
  });

  it('limit 0 claims nothing', async () => {
    const slots = newSlots();
    const connector = newConnectorId();
    expect(await slots.claim(connector, 0, 'e1')).toBeNull();
    expect(await slots.holders(connector)).toEqual([]);
  });

  it.each([-1, 1.5, Number.NaN])('refuses the limit %s', async (limit) => {
    const error = await newSlots()
      .claim(newConnectorId(), limit, 'e1')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ScError);
    expect((error as ScError).code).toBe('INVALID_ARGUMENT');
  });

  it('releasing a slot the execution does not hold is a no-op', async () => {
    const slots = newSlots();
    const connector = newConnectorId();
    await slots.claim(connector, 2, 'e1');

    await slots.release(connector, 'e2');
    await slots.release(newConnectorId(), 'e1');
    await slots.release(connector, 'e1');
    await slots.release(connector, 'e1');

    expect(await slots.holders(connector)).toEqual([]);
  });
});

describe('DynamoDbConcurrencySlots: concurrency', () => {
  it('of 10 executions claiming at once with limit 3, exactly 3 get a slot', async () => {
    const connector = newConnectorId();
    const ids = Array.from({ length: 10 }, (_, i) => `e${i}`);
    // One adapter (and document client) per claimer, as separate Lambda containers would have.
    const claims = await Promise.all(ids.map((id) => newSlots().claim(connector, 3, id)));

    const won = claims.filter((slot) => slot !== null);
    expect(won.sort()).toEqual([0, 1, 2]);
    const holders = await newSlots().holders(connector);
    expect(holders.map((h) => h.executionId).sort()).toEqual(ids.filter((_, i) => claims[i] !== null).sort());
  });

  it('of 2 executions claiming at once with limit 1, exactly 1 gets the slot', async () => {
    const connector = newConnectorId();
    const claims = await Promise.all([
      newSlots().claim(connector, 1, 'a'),
      newSlots().claim(connector, 1, 'b'),
    ]);
    expect(claims.filter((slot) => slot === 0)).toHaveLength(1);
    expect(claims.filter((slot) => slot === null)).toHaveLength(1);
  });

  it('lowering the limit from 3 to 1 admits no new run until the held slots drop below 1', async () => {
    const slots = newSlots();
    const connector = newConnectorId();
    for (const id of ['e0', 'e1', 'e2']) await slots.claim(connector, 3, id);

    // Running executions keep their slots under the lower limit.
    expect(await slots.claim(connector, 1, 'e2')).toBe(2);
    expect(await slots.claim(connector, 1, 'new')).toBeNull();
    await slots.release(connector, 'e0'); // slot 0 is free, but two runs still hold slots
    expect(await slots.claim(connector, 1, 'new')).toBeNull();
    await slots.release(connector, 'e2');
    expect(await slots.claim(connector, 1, 'new')).toBeNull();
    await slots.release(connector, 'e1');

    const claims = await Promise.all(['new', 'other'].map((id) => newSlots().claim(connector, 1, id)));
    expect(claims.filter((slot) => slot === 0)).toHaveLength(1);
    expect(await slots.holders(connector)).toHaveLength(1);
  });
});

describe('DynamoDbConcurrencySlots: reconciling', () => {
  it('frees the slots of ended and missing executions, keeps the others', async () => {
    const slots = newSlots();
    const executions = new DynamoDbControlStore({ client, tableName: standIn.tables.control });
    const connector = newConnectorId();
    const [running, failed, missing] = [randomUUID(), randomUUID(), randomUUID()];
    await executions.create(execution(connector, running, 'running'));
    await executions.create(execution(connector, failed, 'running'));
    for (const id of [running, failed, missing]) await slots.claim(connector, 3, id);
    // The execution failed without releasing its slot (its Finalize crashed).
    await executions.update(failed, { status: 'failed' });

    const holders = await slots.holders(connector);
    const statuses = new Map(
      (await executions.listByConnector(connector)).map((e) => [e.id, e.status] as const),
    );
    for (const stale of slotsToReconcile(holders, statuses))
      await slots.release(connector, stale.executionId);

    expect(await slots.holders(connector)).toEqual([
      { slot: 0, executionId: running, claimedAt: CLAIMED_AT },
    ]);
    expect(await slots.claim(connector, 3, 'next')).toBe(1);
  });

  it('a late release leaves a slot that another execution has claimed since', async () => {
    const slots = newSlots();
    const connector = newConnectorId();
    await slots.claim(connector, 1, 'ended');
    const seen = await slots.holders(connector); // a reconciler reads 'ended' in slot 0…
    await slots.release(connector, 'ended'); // …the run releases it itself…
    await slots.claim(connector, 1, 'next'); // …and the next run takes it

    for (const stale of seen) await slots.release(connector, stale.executionId);

    expect(await slots.holders(connector)).toEqual([{ slot: 0, executionId: 'next', claimedAt: CLAIMED_AT }]);
  });
});
