import { z } from 'zod';
import { decodeEventKey, dropTarget } from '../core/drops.ts';
import { ScError, UsageError } from '../core/errors.ts';
import type { BlobStore } from '../ports/blob-store.ts';
import { artifacts } from './artifacts.ts';
import { derivedUuid } from './derived-id.ts';
import { dispatchConnector } from './dispatch.ts';
import type { Ports } from './ports.ts';
import { registerExecution } from './register.ts';
import { copyBlob } from './uploads.ts';

/** One created object, as an S3 event notification names it. */
export interface DroppedObject {
  bucket: string;
  /** Decoded. */
  key: string;
  /** Set on a versioned bucket (the ingest bucket is versioned). */
  versionId?: string;
  eTag?: string;
}

const S3TestEvent = z.object({ Event: z.literal('s3:TestEvent') });
const S3Notification = z.object({
  Records: z.array(
    z.object({
      eventName: z.string(),
      s3: z.object({
        bucket: z.object({ name: z.string() }),
        object: z.object({ key: z.string(), versionId: z.string().optional(), eTag: z.string().optional() }),
      }),
    }),
  ),
});

/**
 * The created objects of an S3 event notification (the body S3 sends to the ingest queue). The test
 * event S3 sends when notifications are configured has none. A body of another shape is an error.
 */
export function droppedObjects(body: unknown): DroppedObject[] {
  if (S3TestEvent.safeParse(body).success) return [];
  const parsed = S3Notification.safeParse(body);
  if (!parsed.success) {
    throw new ScError(
      'INVALID_EVENT',
      'The ingest queue received a message that is not an S3 event notification.',
    );
  }
  return parsed.data.Records.filter((r) => r.eventName.startsWith('ObjectCreated:')).map((r) => ({
    bucket: r.s3.bucket.name,
    key: decodeEventKey(r.s3.object.key),
    ...(r.s3.object.versionId ? { versionId: r.s3.object.versionId } : {}),
    ...(r.s3.object.eTag ? { eTag: r.s3.object.eTag } : {}),
  }));
}

/** The event notification S3 sends for a created object (its key URL-encoded, `+` for spaces). */
export function s3CreatedNotification(bucket: string, key: string, versionId: string, eTag?: string) {
  const encoded = encodeURIComponent(key).replace(/%20/g, '+').replace(/%2F/g, '/');
  return {
    Records: [
      {
        eventName: 'ObjectCreated:Put',
        s3: { bucket: { name: bucket }, object: { key: encoded, versionId, ...(eTag ? { eTag } : {}) } },
      },
    ],
  };
}

/**
 * The execution id of a dropped object: a UUID derived from its bucket, key and version (or ETag where
 * the bucket is not versioned), so the same object version always maps to the same execution.
 */
export function dropExecutionId(object: DroppedObject): string {
  return derivedUuid([object.bucket, object.key, object.versionId ?? `etag:${object.eTag ?? ''}`]);
}

/** The ingest store's methods a drop needs: the dropped version's size (S3 has it). */
export type DropStore = BlobStore & Required<Pick<BlobStore, 'stat'>>;

/**
 * Registers the execution of a dropped file and dispatches its connector (SPEC §8 "Upload"). One object
 * version makes exactly one execution however often its event arrives: the execution id derives from
 * the version, and a second registration finds it. Returns the id and whether this call created it.
 *
 * The file reaches the execution's input as presigned uploads do (`copyBlob`): copied inside S3 when the
 * artifacts store is S3 too (CopyObject, or UploadPartCopy past the store's copy part size, so any size
 * S3 holds), never downloaded into the register Lambda. The copy is of the version the event names, so
 * an object overwritten before its event is handled still runs with the bytes that were dropped.
 * Registration reads no byte of the file: its format is checked where the input is read (the SQL stage),
 * and a bad file fails that execution with its input error, the file kept in both buckets.
 *
 * A key outside `drops/<apiName>/`, an unknown connector or a file deleted before its event was handled
 * rejects (the message then reaches the dead-letter queue; nothing is registered).
 */
export async function registerDrop(
  ports: Ports,
  ingest: DropStore,
  object: DroppedObject,
): Promise<{ executionId: string; created: boolean }> {
  const target = dropTarget(object.key);
  if (!target) {
    throw new UsageError(
      'DROP_KEY_INVALID',
      `s3://${object.bucket}/${object.key} is not a drop: put files at drops/<connector api name>/<file name>.`,
    );
  }
  const connector = await ports.connectors.getConnector(target.apiName);
  if (!connector) {
    throw new UsageError(
      'CONNECTOR_NOT_FOUND',
      `s3://${object.bucket}/${object.key} was dropped for connector "${target.apiName}", which does not exist. Check the folder name; the file is kept.`,
    );
  }
  const executionId = dropExecutionId(object);
  // Deliveries of one version at once in this process share the first: the local blob store cannot take
  // two writes of one input at once. Across Lambdas, S3 copies replace each other whole and the
  // conditional create picks one registration.
  const running = registering.get(executionId);
  if (running) {
    await running;
    return { executionId, created: false };
  }
  const registration = registerOnce(ports, ingest, object, connector.id, target.fileName).finally(() =>
    registering.delete(executionId),
  );
  registering.set(executionId, registration);
  return registration;
}

const registering = new Map<string, Promise<{ executionId: string; created: boolean }>>();

async function registerOnce(
  ports: Ports,
  ingest: DropStore,
  object: DroppedObject,
  connectorId: string,
  fileName: string,
): Promise<{ executionId: string; created: boolean }> {
  const executionId = dropExecutionId(object);
  const existing = await ports.executions.get(executionId);
  if (existing) {
    // An earlier delivery may have registered it and died before dispatching: dispatch again (idempotent).
    if (existing.status === 'queued') await dispatchConnector(ports, connectorId);
    return { executionId, created: false };
  }
  const info = await ingest.stat(object.key, object.versionId);
  if (!info) {
    throw new UsageError(
      'DROP_FILE_NOT_FOUND',
      `s3://${object.bucket}/${object.key}${object.versionId ? ` (version ${object.versionId})` : ''} is ` +
        'gone: it was deleted before its execution was registered. Drop the file again to run it.',
    );
  }
  const inputKey = artifacts.input(executionId, fileName);
  await copyBlob(ingest, object.key, ports.blobs, inputKey, info);
  let created = true;
  try {
    await registerExecution(ports, {
      connectorRef: connectorId,
      input: { key: inputKey, size: info.size, name: fileName },
      dryRun: false,
      trigger: 's3',
      initiatedBy: `s3://${object.bucket}/${object.key}`,
      executionId,
    });
  } catch (error) {
    // The same event delivered twice at once, in another process: the other delivery registered it.
    if (!(error instanceof ScError && error.code === 'CONFLICT')) throw error;
    created = false;
  }
  await dispatchConnector(ports, connectorId);
  return { executionId, created };
}

/** One message of the ingest queue: every object it names is registered. */
export async function handleIngestMessage(ports: Ports, ingest: DropStore, body: unknown): Promise<void> {
  for (const object of droppedObjects(body)) await registerDrop(ports, ingest, object);
}
