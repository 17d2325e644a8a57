import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { DynamoDbControlStore } from '../adapters/aws/dynamodb-control-store.ts';
import { DynamoDbRecordStore } from '../adapters/aws/dynamodb-record-store.ts';
import { LOCAL_TABLE_NAMES } from '../adapters/aws/dynamodb-tables.ts';
import { EmlOutboxMailer } from '../adapters/local/eml-outbox-mailer.ts';
import { FsBlobStore } from '../adapters/local/fs-blob-store.ts';
import { JsonlEventLog } from '../adapters/local/jsonl-event-log.ts';
import { ChdbSqlEngine } from '../adapters/sql/chdb/chdb-sql-engine.ts';
import type { Ports } from '../pipeline/ports.ts';
import { systemClock } from '../ports/clock.ts';
import { dynamoClientFor, startDynamoStandInProcess } from './dynamo-stand-in.ts';
import type { WorkspaceLocation } from './workspace.ts';

export interface LocalRuntime {
  ports: Ports;
  /** The SQL engine, for callers that want its measurements (the benchmark). */
  sqlEngine: ChdbSqlEngine;
  close(): Promise<void>;
}

/**
 * Boots the embedded runtime for a workspace: the DynamoDB stand-in persisted in `.sc/dynamodb`, reached
 * through the same DynamoDB adapters AWS uses; blobs under `.sc/blobs`; record events in
 * `.sc/events.jsonl`; notification emails as `.eml` files in `.sc/outbox`; chDB in a child process per
 * execution.
 */
export async function openLocalRuntime(workspace: WorkspaceLocation): Promise<LocalRuntime> {
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
    // Local development: receivers on this machine are fine, and `sc run` waits up to 30 s for delivery.
    notifications: { allowLoopback: true, maxWebhookWaitSeconds: 30 },
    tmpDir: join(state, 'tmp'),
  };
  return {
    ports,
    sqlEngine,
    close: async () => {
      client.destroy();
      await dynamo.stop();
    },
  };
}
