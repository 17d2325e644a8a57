import { ScError } from '../core/errors.ts';
import type { ConnectorDefinition } from '../core/connector-schema.ts';
import type { Execution } from '../core/model.ts';
import type { Ports } from './ports.ts';

export interface ExecutionContext {
  execution: Execution;
  /** The pinned connector version's definition: later edits never affect a running execution. */
  definition: ConnectorDefinition;
}

export async function loadExecution(ports: Ports, executionId: string): Promise<Execution> {
  const execution = await ports.executions.get(executionId);
  if (!execution) throw new ScError('NOT_FOUND', `Execution ${executionId} does not exist.`);
  return execution;
}

export async function loadContext(ports: Ports, executionId: string): Promise<ExecutionContext> {
  const execution = await loadExecution(ports, executionId);
  const version = await ports.connectors.getVersion(execution.connectorId, execution.connectorVersion);
  if (!version) {
    throw new ScError(
      'NOT_FOUND',
      `Version ${execution.connectorVersion} of connector ${execution.connectorApiName} does not exist.`,
    );
  }
  return { execution, definition: version.definition };
}
