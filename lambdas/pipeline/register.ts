import { randomUUID } from 'node:crypto';
import { basename } from 'node:path';
import { stat } from 'node:fs/promises';
import { UsageError } from '../core/errors.ts';
import type { Execution, TriggerType } from '../core/model.ts';
import { artifacts } from './artifacts.ts';
import type { Ports } from './ports.ts';

export interface StartRequest {
  /** Connector id or api name. */
  connectorRef: string;
  /**
   * The input file on local disk, or already in the blob store under `key` (a presigned upload copied
   * there inside S3); its name is kept for `meta.current_execution` and the report.
   */
  input: { path: string; name?: string; table?: string } | StoredInput;
  dryRun: boolean;
  /** Overrides the connector's `diffCheck` setting for this run. */
  diffCheck?: boolean;
  trigger: TriggerType;
  initiatedBy: string;
  /** Deterministic id (e.g. from an S3 object version) so a duplicate event registers nothing new. */
  executionId?: string;
}

/** An input file stored under `key` in the blob store (`size` bytes). */
export interface StoredInput {
  key: string;
  size: number;
  name: string;
  table?: string;
}

/**
 * Registers an execution: pins the connector's current version, stores the input file and records the
 * execution as `queued`. Nothing runs yet.
 */
export async function registerExecution(ports: Ports, request: StartRequest): Promise<Execution> {
  const connector = await ports.connectors.getConnector(request.connectorRef);
  if (!connector) {
    throw new UsageError(
      'CONNECTOR_NOT_FOUND',
      `No connector "${request.connectorRef}". Check the id or api name.`,
    );
  }
  const version = await ports.connectors.getVersion(connector.id, connector.version);
  if (!version)
    throw new UsageError('CONNECTOR_NOT_FOUND', `Connector "${connector.apiName}" has no version.`);

  const id = request.executionId ?? randomUUID();
  const input = 'key' in request.input ? request.input : await storeInput(ports, id, request.input);

  const execution: Execution = {
    id,
    connectorId: connector.id,
    connectorApiName: connector.apiName,
    connectorName: connector.name,
    connectorVersion: version.version,
    status: 'queued',
    dryRun: request.dryRun,
    diffCheck: request.diffCheck ?? version.definition.settings.diffCheck,
    trigger: request.trigger,
    initiatedBy: request.initiatedBy,
    createdAt: ports.clock.now().toISOString(),
    startedAt: null,
    endedAt: null,
    stage: 'queued',
    progress: { rowsDone: 0, rowsTotal: 0, chunksDone: 0, chunksTotal: 0 },
    counts: { scopes: {}, steps: [] },
    error: null,
    inputFile: {
      name: input.name,
      size: input.size,
      key: input.key,
      ...(request.input.table ? { table: request.input.table } : {}),
    },
    sqlOutputKey: null,
    reportKey: null,
    cancelRequested: false,
  };
  await ports.executions.create(execution);
  return execution;
}

async function storeInput(
  ports: Ports,
  id: string,
  input: { path: string; name?: string },
): Promise<{ name: string; size: number; key: string }> {
  let size: number;
  try {
    size = (await stat(input.path)).size;
  } catch {
    throw new UsageError('INPUT_NOT_FOUND', `Input file ${input.path} does not exist.`);
  }
  const name = input.name ?? basename(input.path);
  const key = artifacts.input(id, name);
  await ports.blobs.putFile(key, input.path);
  return { name, size, key };
}
