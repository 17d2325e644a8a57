import type { Execution } from '../core/model.ts';

export type ExecutionPatch = Partial<Omit<Execution, 'id' | 'connectorId' | 'createdAt'>>;

/** Executions: registration, status, stage, progress and counts. */
export interface ExecutionStore {
  /** Registers an execution; fails with `CONFLICT` when the id exists (duplicate event). */
  create(execution: Execution): Promise<void>;
  get(id: string): Promise<Execution | null>;
  update(id: string, patch: ExecutionPatch): Promise<Execution>;
  /** Newest first. */
  listByConnector(connectorId: string): Promise<Execution[]>;
}
