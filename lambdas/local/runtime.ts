import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { DynamoDbConcurrencySlots } from '../adapters/aws/dynamodb-concurrency-slots.ts';
import { DynamoDbControlStore } from '../adapters/aws/dynamodb-control-store.ts';
import { DynamoDbRecordStore } from '../adapters/aws/dynamodb-record-store.ts';
import { LOCAL_TABLE_NAMES } from '../adapters/aws/dynamodb-tables.ts';
import { EmlOutboxMailer } from '../adapters/local/eml-outbox-mailer.ts';
import { FileSecretStore, SECRETS_FILE_NAME } from '../adapters/local/file-secret-store.ts';
import { FsBlobStore } from '../adapters/local/fs-blob-store.ts';
import { JsonlEventLog } from '../adapters/local/jsonl-event-log.ts';
import { ChdbSqlEngine } from '../adapters/sql/chdb/chdb-sql-engine.ts';
import type { Ports } from '../pipeline/ports.ts';
import { reapExecution } from '../pipeline/state-tasks.ts';
import { errorMessage } from '../core/errors.ts';
import type { ApiKeyStore } from '../ports/api-key-store.ts';
import type { ProgressEvent, ProgressListener } from './run-execution.ts';
import { systemClock } from '../ports/clock.ts';
import { dynamoClientFor, startDynamoStandInProcess } from './dynamo-stand-in.ts';
import { LocalStateMachine, loadPipelineAsl, type LocalStateMachineOptions } from './state-machine.ts';
import type { WorkspaceLocation } from './workspace.ts';

export interface LocalRuntimeOptions {
  /** Milliseconds between task retries instead of the definition's backoff (tests). */
  retryIntervalMs?: number;
  /** Called before every state machine task runs; tests use it to make a task fail. */
  beforeTask?: LocalStateMachineOptions['beforeTask'];
}

export interface LocalRuntime {
  ports: Ports;
  /** API keys (hashed) in the control table, for `sc serve`. */
  apiKeys: ApiKeyStore;
  /** The local Step Functions running the synthesised pipeline definition. */
  stateMachine: LocalStateMachine;
  /** Follows one execution's progress while it runs; returns the function that stops following it. */
  watch(executionId: string, listener: ProgressListener): () => void;
  /** The SQL engine, for callers that want its measurements (the benchmark). */
  sqlEngine: ChdbSqlEngine;
  close(): Promise<void>;
}

/**
 * Boots the embedded runtime for a workspace: the DynamoDB stand-in persisted in `.sc/dynamodb`, reached
 * through the same DynamoDB adapters AWS uses; blobs under `.sc/blobs`; record events in
 * `.sc/events.jsonl`; notification emails as `.eml` files in `.sc/outbox`; chDB in a child process per
 * execution; secrets from `<workspace>/secrets.local.json`.
 */
export async function openLocalRuntime(
  workspace: WorkspaceLocation,
  options: LocalRuntimeOptions = {},
): Promise<LocalRuntime> {
  const state = workspace.stateDir;
  await mkdir(join(state, 'tmp'), { recursive: true });
  const dynamo = await startDynamoStandInProcess({ path: join(state, 'dynamodb') });
  const client = dynamoClientFor(dynamo.endpoint);
  const control = new DynamoDbControlStore({
    client,
    tableName: LOCAL_TABLE_NAMES.control,
    clock: systemClock,
  });
  const sqlEngine = new ChdbSqlEngine({ tmpDir: join(state, 'tmp') });
  // Secrets live in the workspace's secrets file; one written by hand gets its .gitignore line here
  // (a workspace whose .gitignore cannot be written still runs).
  const secrets = new FileSecretStore(join(workspace.root, SECRETS_FILE_NAME));
  await secrets.ensureIgnored().catch(() => false);
  const listeners = new Map<string, ProgressListener>();
  const emit = async (executionId: string, event: ProgressEvent) => listeners.get(executionId)?.(event);
  const stateMachine = new LocalStateMachine(loadPipelineAsl(), () => ports, {
    ...(options.retryIntervalMs === undefined ? {} : { retryIntervalMs: options.retryIntervalMs }),
    beforeTask: async (task, input) => {
      const id = (input as { executionId: string }).executionId;
      if (task === 'run-sql') await emit(id, { stage: 'sql', done: 0, total: 1 });
      if (task === 'build-report') await emit(id, { stage: 'report', done: 0, total: 1 });
      await options.beforeTask?.(task, input);
    },
    onFailed: (id, error) => reapExecution(ports, id, errorMessage(error)),
    onVariables: (id) => emit(id, { stage: 'variables', done: 0, total: 1 }),
    onChunk: async ({ executionId, stepIndex, chunksDone, chunksTotal }) => {
      const steps = (await ports.executions.get(executionId))?.counts.steps ?? [];
      await emit(executionId, {
        stage: 'load',
        step: { index: stepIndex, name: steps[stepIndex]?.name ?? '', count: steps.length },
        done: chunksDone,
        total: chunksTotal,
      });
    },
  });
  const ports: Ports = {
    connectors: control,
    executions: control,
    records: new DynamoDbRecordStore({ client, tableName: LOCAL_TABLE_NAMES.records }),
    blobs: new FsBlobStore(join(state, 'blobs')),
    sql: sqlEngine,
    events: new JsonlEventLog(join(state, 'events.jsonl')),
    clock: systemClock,
    mailer: new EmlOutboxMailer({
      dir: join(state, 'outbox'),
      from: 'SmartConnector <smartconnector@localhost>',
      clock: systemClock,
    }),
    secrets,
    // Local development: receivers on this machine are fine, and `sc run` waits up to 30 s for delivery.
    notifications: { allowLoopback: true, maxWebhookWaitSeconds: 30 },
    slots: new DynamoDbConcurrencySlots({ client, tableName: LOCAL_TABLE_NAMES.control }),
    orchestrator: stateMachine,
    tmpDir: join(state, 'tmp'),
  };
  await endInterrupted(ports);
  return {
    ports,
    apiKeys: control,
    stateMachine,
    watch: (executionId, listener) => {
      listeners.set(executionId, listener);
      return () => listeners.delete(executionId);
    },
    sqlEngine,
    close: async () => {
      await stateMachine.idle();
      client.destroy();
      await dynamo.stop();
    },
  };
}

/**
 * A fresh local runtime runs nothing yet, so an execution still `running` was left by a process that
 * stopped (Ctrl-C, a crash): it is failed with INTERRUPTED and its slot freed, so it cannot hold its
 * connector's queue for ever. Locally one process owns a workspace (the stand-in locks its data).
 */
async function endInterrupted(ports: Ports): Promise<void> {
  for (const connector of await ports.connectors.listConnectors()) {
    for (const execution of await ports.executions.listActiveByConnector(connector.id)) {
      if (execution.status !== 'running') continue;
      await ports.executions.update(execution.id, {
        status: 'failed',
        stage: 'done',
        endedAt: ports.clock.now().toISOString(),
        error: {
          code: 'INTERRUPTED',
          message: 'The local process running this execution stopped before it ended.',
        },
      });
      await ports.slots.release(connector.id, execution.id);
    }
  }
}
