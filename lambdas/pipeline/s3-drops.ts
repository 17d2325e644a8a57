import { derivedUuid } from './derived-id.ts';
import { z } from 'zod';
import { decodeEventKey, dropTarget } from '../core/drops.ts';
import { ScError, UsageError } from '../core/errors.ts';
import type { BlobStore } from '../ports/blob-store.ts';
import { dispatchConnector } from './dispatch.ts';
import { registerExecution } from './register.ts';
import type { Ports } from './ports.ts';

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

/**
 * Registers the execution of a dropped file and dispatches its connector (SPEC §8 "Upload"). One object
 * version makes exactly one execution however often its event arrives: the execution id derives from
 * the version, and a second registration finds it. Returns the id and whether this call created it.
 * A key outside `drops/<apiName>/` or an unknown connector rejects (the message then reaches the
 * dead-letter queue: the file is kept, nothing is lost).
 */
export async function registerDrop(
  ports: Ports,
  ingest: BlobStore,
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
  if (await ports.executions.get(executionId)) return { executionId, created: false };
  let created = true;
  try {
    await registerExecution(ports, {
      connectorRef: connector.id,
      input: { path: await ingest.localPath(object.key), name: target.fileName },
      dryRun: false,
      trigger: 's3',
      initiatedBy: `s3://${object.bucket}/${object.key}`,
      executionId,
    });
  } catch (error) {
    // The same event delivered twice at once: the other delivery registered it.
    if (!(error instanceof ScError && error.code === 'CONFLICT')) throw error;
    created = false;
  }
  await dispatchConnector(ports, connector.id);
  return { executionId, created };
}

/** One message of the ingest queue: every object it names is registered. */
export async function handleIngestMessage(ports: Ports, ingest: BlobStore, body: unknown): Promise<void> {
  for (const object of droppedObjects(body)) await registerDrop(ports, ingest, object);
}
