import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, PutCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { freeSlot, type SlotHolder } from '../../core/dispatch.ts';
import { ScError } from '../../core/errors.ts';
import { systemClock, type Clock } from '../../ports/clock.ts';
import type { ConcurrencySlots } from '../../ports/concurrency-slots.ts';
import { conditionalWrite, documentClientFor } from './dynamodb-tables.ts';

/*
 * The control table (keys `pk`/`sk`), the items this adapter owns:
 *
 *   pk                   sk          attributes
 *   SLOT#<connectorId>   S#000002    connectorId, slot (2), executionId, claimedAt
 *
 * One item per held slot; a free slot has no item. All slots of a connector share one partition, so
 * `holders` is a strongly consistent Query of the base table (an index is only eventually consistent,
 * and a stale count would let claims through after the limit is lowered). Claims are conditional puts,
 * releases conditional deletes; no transactions (the dynalite stand-in has none).
 *
 * Why that bounds a connector at `limit` live runs:
 * - A slot item names one execution, and a put succeeds only on a free slot (or the claimer's own), so at
 *   most `limit` executions hold the slots below `limit`.
 * - Slots ≥ limit exist only from a higher earlier limit; no claim takes them while the limit is lower,
 *   so they only drain as those runs end (lowering the limit stops nothing). A claim goes ahead only while
 *   fewer than `limit` slots are held in all, so no run is added while the old ones drain. Releases only
 *   lower the count, so a claimer that read before a release merely waits for the next wake-up.
 * - Each claimer counts every slot it saw held and aims at the lowest slot it saw free; one that lost a
 *   slot reads again before aiming at another, so a stale read costs a retry, not an extra run.
 */

export interface DynamoDbConcurrencySlotsOptions {
  /** The plain DynamoDB client; wrapped in a document client. */
  client: DynamoDBClient;
  tableName: string;
  /** Dates the claims (`claimedAt`). Default: the system clock. */
  clock?: Clock;
}

/** Concurrency slots (ConcurrencySlots) as items on the control table. */
export class DynamoDbConcurrencySlots implements ConcurrencySlots {
  private readonly documents: DynamoDBDocumentClient;
  private readonly tableName: string;
  private readonly clock: Clock;

  constructor(options: DynamoDbConcurrencySlotsOptions) {
    this.documents = documentClientFor(options.client);
    this.tableName = options.tableName;
    this.clock = options.clock ?? systemClock;
  }

  /**
   * Two executions claiming the last slot (limit 1):
   *   A: holders []    → put S#0 if free or A's → written
   *   B: holders []    → put S#0 if free or B's → refused (A holds it)
   *   B: holders [0:A] → 1 held, limit 1        → null
   * Each refused put means another execution has just got a slot, so the loop always makes progress.
   */
  async claim(connectorId: string, limit: number, executionId: string): Promise<number | null> {
    if (!Number.isInteger(limit) || limit < 0) {
      throw new ScError(
        'INVALID_ARGUMENT',
        `The concurrency limit must be a whole number ≥ 0, not ${limit}.`,
      );
    }
    for (;;) {
      const holders = await this.holders(connectorId);
      const own = holders.find((holder) => holder.executionId === executionId);
      if (own) return own.slot;
      const slot = freeSlot(holders, limit);
      if (slot === null) return null;
      if (await this.putSlot(connectorId, slot, executionId)) return slot;
    }
  }

  /**
   * Deletes each slot only while it still names the execution: a reconciler releasing a finished run
   * after the run released its slot itself, and another execution claimed it, leaves the new claim alone.
   */
  async release(connectorId: string, executionId: string): Promise<void> {
    const own = (await this.holders(connectorId)).filter((holder) => holder.executionId === executionId);
    for (const { slot } of own) {
      await conditionalWrite(
        this.documents.send(
          new DeleteCommand({
            TableName: this.tableName,
            Key: slotKey(connectorId, slot),
            ConditionExpression: 'executionId = :me',
            ExpressionAttributeValues: { ':me': executionId },
          }),
        ),
      );
    }
  }

  async holders(connectorId: string): Promise<SlotHolder[]> {
    const holders: SlotHolder[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.documents.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': slotPartition(connectorId) },
          ConsistentRead: true,
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) {
        holders.push({
          slot: item.slot as number,
          executionId: item.executionId as string,
          claimedAt: item.claimedAt as string,
        });
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return holders;
  }

  /** Writes the slot for the execution; false when another execution holds it. */
  private async putSlot(connectorId: string, slot: number, executionId: string): Promise<boolean> {
    const slotIsFree = 'attribute_not_exists(pk)';
    // The same execution claiming twice at once (a retried dispatch) aims at the same slot; both succeed.
    const slotIsOurs = 'executionId = :me';
    return conditionalWrite(
      this.documents.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            ...slotKey(connectorId, slot),
            connectorId,
            slot,
            executionId,
            claimedAt: this.clock.now().toISOString(),
          },
          ConditionExpression: `${slotIsFree} OR ${slotIsOurs}`,
          ExpressionAttributeValues: { ':me': executionId },
        }),
      ),
    );
  }
}

function slotPartition(connectorId: string): string {
  return `SLOT#${connectorId}`;
}

/** Slot numbers are padded so the sort key orders them (up to 999,999 slots). */
function slotKey(connectorId: string, slot: number) {
  return { pk: slotPartition(connectorId), sk: `S#${String(slot).padStart(6, '0')}` };
}
