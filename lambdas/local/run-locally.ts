import type { ConnectorDefinition } from '../core/connector-schema.ts';
import { activationIssues } from '../core/definition-checks.ts';
import { DefinitionError } from '../core/errors.ts';
import type { Execution } from '../core/model.ts';
import type { ObjectDefinition } from '../core/object-schema.ts';
import { registerExecution } from '../pipeline/register.ts';
import type { ConnectorRecord } from '../ports/connector-store.ts';
import { runExecution, type ProgressEvent } from './run-execution.ts';
import type { LocalRuntime } from './runtime.ts';

export interface LocalRunRequest {
  connector: ConnectorRecord;
  /** The connector's current definition, for the activation checks. */
  definition: ConnectorDefinition;
  objects: ReadonlyMap<string, ObjectDefinition>;
  inputPath: string;
  dryRun: boolean;
  /** Overrides the connector's `diffCheck` setting. */
  diffCheck?: boolean;
  initiatedBy: string;
  /**
   * Activate a connector still in `setup` before a live run, through the activation checks: a workspace
   * connector is its own definition. Default true; false leaves the live run queued, as the API would.
   */
  activate?: boolean;
  onProgress?: (event: ProgressEvent, executionId: string) => void | Promise<void>;
}

/** One upload run on the local runtime, as `sc run` does it: activate if new, register, run to the end. */
export async function runLocally(
  runtime: LocalRuntime,
  request: LocalRunRequest,
): Promise<{ execution: Execution; connector: ConnectorRecord }> {
  const { ports } = runtime;
  let { connector } = request;
  if (!request.dryRun && request.activate !== false && connector.status === 'setup') {
    const issues = activationIssues(request.definition, request.objects);
    if (issues.length > 0)
      throw new DefinitionError(`connector ${connector.apiName}`, issues, 'cannot be activated');
    connector = await ports.connectors.updateConnector(connector.id, { status: 'operational' });
  }
  const registered = await registerExecution(ports, {
    connectorRef: connector.id,
    input: { path: request.inputPath },
    dryRun: request.dryRun,
    ...(request.diffCheck === undefined ? {} : { diffCheck: request.diffCheck }),
    trigger: 'upload',
    initiatedBy: request.initiatedBy,
  });
  const onProgress = request.onProgress;
  const execution = await runExecution(
    runtime,
    registered.id,
    onProgress ? (event) => onProgress(event, registered.id) : undefined,
  );
  return { execution, connector };
}
