import type { SlotHolder } from '../core/dispatch.ts';

/**
 * The per-connector limit on live runs (`maxConcurrentExecutions`, SPEC §7): a live execution runs only
 * while it holds one of its connector's slots. Dry runs never take a slot.
 */
export interface ConcurrencySlots {
  /**
   * Claims a free slot (0 … limit-1) for the execution and returns its index, or null while the connector
   * has `limit` or more slots held (including slots ≥ limit still held from a higher earlier limit).
   * Idempotent: an execution that already holds a slot gets that slot back, whatever the limit.
   */
  claim(connectorId: string, limit: number, executionId: string): Promise<number | null>;
  /** Frees every slot that names the execution; a no-op when it holds none. */
  release(connectorId: string, executionId: string): Promise<void>;
  /** The held slots of a connector, by slot index. */
  holders(connectorId: string): Promise<SlotHolder[]>;
}
