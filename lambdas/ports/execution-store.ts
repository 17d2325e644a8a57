import type { Execution, ExecutionStatus } from '../core/model.ts';
import type { ListPage, ListPageRequest } from './list-page.ts';

export type ExecutionPatch = Partial<Omit<Execution, 'id' | 'connectorId' | 'createdAt'>>;

/** What an execution must be for a conditional `update` to apply. */
export interface ExecutionExpectation {
  status: ExecutionStatus;
  /** `false`: only while no cancel was requested. */
  cancelRequested?: false;
}

/** Which of a connector's executions a page holds; an absent key does not filter. */
export interface ExecutionFilter {
  status?: ExecutionStatus | undefined;
  dryRun?: boolean | undefined;
}

/** Executions: registration, status, stage, progress and counts. */
export interface ExecutionStore {
  /** Registers an execution; fails with `CONFLICT` when the id exists (duplicate event). */
  create(execution: Execution): Promise<void>;
  get(id: string): Promise<Execution | null>;
  /**
   * Applies `patch`; with `expected`, only while the execution is so (else `CONFLICT`, nothing changed).
   * `NOT_FOUND` when it does not exist.
   */
  update(id: string, patch: ExecutionPatch, expected?: ExecutionExpectation): Promise<Execution>;
  /** Every execution of the connector, newest first: a read of the whole list (pages: `pageByConnector`). */
  listByConnector(connectorId: string): Promise<Execution[]>;
  /**
   * The connector's queued and running executions, oldest first (by `createdAt`, then id): a read of
   * those only, however many ended before, and consistent, so an execution whose `create` returned is
   * in it. What dispatching reads.
   */
  listActiveByConnector(connectorId: string): Promise<Execution[]>;
  /**
   * One page of the connector's executions that pass `filter`, newest first (by `createdAt`, then id). A
   * filter never makes a page short: the store reads on until the page is full or the list ends.
   */
  pageByConnector(
    connectorId: string,
    request: ListPageRequest & ExecutionFilter,
  ): Promise<ListPage<Execution>>;
}
