import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { z } from 'zod';
import { ScError, UsageError } from '../core/errors.ts';
import type { Execution } from '../core/model.ts';
import type { FilePart } from '../core/upload-parts.ts';
import type { BlobInfo, BlobStore, UploadedPart } from '../ports/blob-store.ts';
import type { ConnectorRecord } from '../ports/connector-store.ts';
import { artifacts } from './artifacts.ts';
import { loadExecution } from './context.ts';
import { dispatchConnector } from './dispatch.ts';
import type { Ports } from './ports.ts';
import { registerExecution } from './register.ts';

/*
 * Presigned uploads (SPEC §8 "Upload", §9 `POST /connectors/{ref}/uploads`): the client sends the file
 * straight to the ingest bucket, so no byte of it passes through the API (API Gateway gives a Lambda 6 MB
 * and 29 s). `createUpload` records the upload and presigns one PUT, or a multipart upload with a PUT per
 * part; `startUpload` completes it, checks it, copies it into the execution's input inside S3 and
 * registers the execution. One upload makes exactly one execution: its id is the upload's id.
 */

/** How long the URLs of an upload stay valid. */
export const UPLOAD_URL_SECONDS = 3600;

/**
 * Where uploads live in the ingest bucket: the record of each upload and the file itself. A lifecycle rule
 * removes everything under `uploads/` a day after it was written (`lib/storage.ts`); the execution keeps
 * its own copy of the file.
 */
export const uploadKeys = {
  record: (uploadId: string) => `uploads/${uploadId}.json`,
  file: (uploadId: string, fileName: string) => `uploads/${uploadId}/${fileName}`,
};

/** The ingest store's methods presigned uploads need (S3 has them; the local disk does not). */
export type UploadStore = BlobStore &
  Required<Pick<BlobStore, 'stat' | 'presignUpload' | 'listUploadedParts' | 'completeMultipartUpload'>>;

export function isUploadStore(store: BlobStore | undefined): store is UploadStore {
  return (
    store?.stat !== undefined &&
    store.presignUpload !== undefined &&
    store.listUploadedParts !== undefined &&
    store.completeMultipartUpload !== undefined
  );
}

/** What an upload is for, kept in the ingest bucket until `startUpload` needs it. */
const UploadRecord = z.object({
  uploadId: z.string(),
  connectorId: z.string(),
  connectorApiName: z.string(),
  fileName: z.string(),
  size: z.number(),
  createdAt: z.string(),
  /** When the URLs stop working. */
  expiresAt: z.string(),
  /** Absent for a single PUT. */
  multipart: z.object({ id: z.string(), partSize: z.number(), partCount: z.number() }).optional(),
});
type UploadRecord = z.infer<typeof UploadRecord>;

/** The answer of `POST /connectors/{ref}/uploads`. */
export interface Upload {
  uploadId: string;
  /** `single`: PUT the whole file to `url`. `multipart`: PUT each part's bytes to its `url`. */
  kind: 'single' | 'multipart';
  method: 'PUT';
  /** The single PUT's URL; null for a multipart upload, whose parts each have one. */
  url: string | null;
  /** Headers to send with every PUT. */
  headers: Record<string, string>;
  expiresAt: string;
  fileName: string;
  size: number;
  /** Multipart only: the size of every part but the last. */
  partSize?: number;
  /** Multipart only: which bytes of the file each URL takes. */
  parts?: Array<FilePart & { url: string }>;
}

/**
 * Prepares an upload of `size` bytes named `fileName` for `connector`: records it in the ingest store,
 * then presigns where the client sends the bytes. `now` is when the URLs start to count down.
 */
export async function createUpload(
  ingest: UploadStore,
  connector: ConnectorRecord,
  file: { fileName: string; size: number },
  now: Date,
): Promise<Upload> {
  const uploadId = randomUUID();
  const expiresAt = new Date(now.getTime() + UPLOAD_URL_SECONDS * 1000).toISOString();
  const target = await ingest.presignUpload(
    uploadKeys.file(uploadId, file.fileName),
    file.size,
    UPLOAD_URL_SECONDS,
  );
  const record: UploadRecord = {
    uploadId,
    connectorId: connector.id,
    connectorApiName: connector.apiName,
    fileName: file.fileName,
    size: file.size,
    createdAt: now.toISOString(),
    expiresAt,
    ...(target.kind === 'multipart'
      ? { multipart: { id: target.multipartId, partSize: target.partSize, partCount: target.parts.length } }
      : {}),
  };
  await ingest.put(uploadKeys.record(uploadId), JSON.stringify(record));
  const common = { uploadId, method: 'PUT' as const, expiresAt, fileName: file.fileName, size: file.size };
  return target.kind === 'single'
    ? { ...common, kind: 'single', url: target.url, headers: target.headers }
    : {
        ...common,
        kind: 'multipart',
        url: null,
        headers: {},
        partSize: target.partSize,
        parts: target.parts,
      };
}

export interface StartUploadOptions {
  dryRun: boolean;
  /** Overrides the connector's `diffCheck` setting for this run. */
  diffCheck?: boolean;
  /** Default `api`. */
  initiatedBy?: string;
}

/**
 * Starts the execution of a finished upload and dispatches its connector: completes a multipart upload
 * from the parts S3 holds (ListParts, CompleteMultipartUpload), checks the file's size against the
 * declared one, copies it to the execution's input (inside S3 when both stores are S3) and registers
 * the execution. However often it is called, one upload makes one execution: the execution's id is the
 * upload's id, a repeat answers the execution that exists, and of two concurrent calls one registers
 * and the other finds it. Errors carry `UPLOAD_*` codes (`UPLOAD_ERROR_STATUS` gives their HTTP status).
 */
export async function startUpload(
  ports: Ports,
  ingest: UploadStore,
  connector: ConnectorRecord,
  uploadId: string,
  options: StartUploadOptions,
): Promise<{ execution: Execution; created: boolean }> {
  // Concurrent starts in one process share the first: the local blob store cannot take two writes of
  // one input at once. Across processes (API Lambdas), S3 copies replace each other whole and the
  // conditional create picks one registration.
  const running = starting.get(uploadId);
  if (running) {
    const { execution } = await running;
    if (execution.connectorId !== connector.id)
      throw otherConnector(uploadId, execution.connectorApiName, connector);
    return { execution, created: false };
  }
  const start = startOnce(ports, ingest, connector, uploadId, options).finally(() =>
    starting.delete(uploadId),
  );
  starting.set(uploadId, start);
  return start;
}

const starting = new Map<string, Promise<{ execution: Execution; created: boolean }>>();

async function startOnce(
  ports: Ports,
  ingest: UploadStore,
  connector: ConnectorRecord,
  uploadId: string,
  options: StartUploadOptions,
): Promise<{ execution: Execution; created: boolean }> {
  if (!z.uuid().safeParse(uploadId).success) throw unknownUpload(uploadId);
  const existing = await ports.executions.get(uploadId);
  if (existing) {
    if (existing.connectorId !== connector.id)
      throw otherConnector(uploadId, existing.connectorApiName, connector);
    // The first start may have registered it and died before dispatching: dispatch again (idempotent).
    if (existing.status === 'queued') await dispatchConnector(ports, connector.id);
    return { execution: existing, created: false };
  }
  const record = await readRecord(ingest, uploadId);
  if (record.connectorId !== connector.id) throw otherConnector(uploadId, record.connectorApiName, connector);

  const fileKey = uploadKeys.file(uploadId, record.fileName);
  const info = await finishedFile(ingest, record, ports.clock.now());
  if (info.size !== record.size) {
    throw new UsageError(
      'UPLOAD_SIZE_MISMATCH',
      `Upload ${uploadId} was declared as ${record.size} bytes, but ${info.size} arrived. Upload the file ` +
        'again with its exact size in a new POST /connectors/{ref}/uploads.',
    );
  }
  const inputKey = artifacts.input(uploadId, record.fileName);
  await copyBlob(ingest, fileKey, ports.blobs, inputKey, info);
  let created = true;
  try {
    await registerExecution(ports, {
      connectorRef: connector.id,
      input: { key: inputKey, size: info.size, name: record.fileName },
      dryRun: options.dryRun,
      ...(options.diffCheck === undefined ? {} : { diffCheck: options.diffCheck }),
      trigger: 'api',
      initiatedBy: options.initiatedBy ?? 'api',
      executionId: uploadId,
    });
  } catch (error) {
    // A concurrent start of the same upload registered it first.
    if (!(error instanceof ScError && error.code === 'CONFLICT')) throw error;
    created = false;
  }
  await dispatchConnector(ports, connector.id);
  return { execution: await loadExecution(ports, uploadId), created };
}

/** The HTTP status of each error `startUpload` raises on purpose. */
export const UPLOAD_ERROR_STATUS: Record<string, number> = {
  UPLOAD_NOT_FOUND: 404,
  UPLOAD_EXPIRED: 410,
  UPLOAD_NOT_FINISHED: 409,
  UPLOAD_CONNECTOR_MISMATCH: 409,
  UPLOAD_SIZE_MISMATCH: 422,
};

async function readRecord(ingest: UploadStore, uploadId: string): Promise<UploadRecord> {
  let text: string;
  try {
    text = await ingest.readText(uploadKeys.record(uploadId));
  } catch (error) {
    if (error instanceof ScError && error.code === 'NOT_FOUND') throw unknownUpload(uploadId);
    throw error;
  }
  return UploadRecord.parse(JSON.parse(text));
}

/**
 * The uploaded file, completing a multipart upload first. The file may exist already: a single PUT
 * arrived, or an earlier start completed the multipart upload and then failed.
 */
async function finishedFile(ingest: UploadStore, record: UploadRecord, now: Date): Promise<BlobInfo> {
  const key = uploadKeys.file(record.uploadId, record.fileName);
  const found = await ingest.stat(key);
  if (found) return found;
  const expired = now.toISOString() > record.expiresAt;
  if (!record.multipart) {
    throw expired
      ? expiredUpload(record)
      : new UsageError(
          'UPLOAD_NOT_FINISHED',
          `Upload ${record.uploadId} has not arrived: PUT the file to the upload's url, then start it.`,
        );
  }
  const { id, partSize, partCount } = record.multipart;
  let parts: UploadedPart[];
  try {
    parts = await ingest.listUploadedParts(key, id);
  } catch (error) {
    if (!(error instanceof ScError && error.code === 'NOT_FOUND')) throw error;
    // Completed by a concurrent start, or aborted by the lifecycle rule.
    const completed = await ingest.stat(key);
    if (completed) return completed;
    throw expiredUpload(record);
  }
  const byNumber = new Map(parts.map((part) => [part.partNumber, part]));
  const missing = Array.from({ length: partCount }, (_, i) => i + 1).filter((n) => !byNumber.has(n));
  if (missing.length > 0) {
    if (expired) throw expiredUpload(record);
    throw new UsageError(
      'UPLOAD_NOT_FINISHED',
      `Upload ${record.uploadId} is missing part${missing.length > 1 ? 's' : ''} ${listNumbers(missing)} of ` +
        `${partCount}: PUT each part to its url, then start it again.`,
    );
  }
  const expected = (n: number) => (n < partCount ? partSize : record.size - partSize * (partCount - 1));
  const wrong = parts.find((part) => part.partNumber <= partCount && part.size !== expected(part.partNumber));
  if (wrong) {
    throw new UsageError(
      'UPLOAD_SIZE_MISMATCH',
      `Part ${wrong.partNumber} of upload ${record.uploadId} holds ${wrong.size} bytes, not ` +
        `${expected(wrong.partNumber)}: PUT bytes ${(wrong.partNumber - 1) * partSize} to ` +
        `${(wrong.partNumber - 1) * partSize + expected(wrong.partNumber) - 1} of the file to its url again.`,
    );
  }
  try {
    await ingest.completeMultipartUpload(
      key,
      id,
      parts.filter((part) => part.partNumber <= partCount),
    );
  } catch (error) {
    if (!(error instanceof ScError && error.code === 'NOT_FOUND')) throw error;
  }
  const completed = await ingest.stat(key);
  if (!completed) throw expiredUpload(record);
  return completed;
}

/**
 * Copies a blob from one store to another: inside S3 when both are S3 buckets (CopyObject or
 * UploadPartCopy, so the API moves no bytes), else streamed through this process into the target's
 * staging file (`sc serve`: from the embedded S3 to the local disk).
 */
export async function copyBlob(
  source: BlobStore,
  sourceKey: string,
  target: BlobStore,
  targetKey: string,
  info: BlobInfo,
): Promise<void> {
  if (source.s3Object && target.copyFromS3) {
    const object = source.s3Object(sourceKey);
    await target.copyFromS3(
      targetKey,
      { ...object, ...(info.versionId ? { versionId: info.versionId } : {}) },
      info.size,
    );
    return;
  }
  const staging = await target.stagingPath(targetKey);
  await pipeline(await source.read(sourceKey), createWriteStream(staging));
  await target.commitLocal(targetKey, staging);
}

function unknownUpload(uploadId: string): UsageError {
  return new UsageError(
    'UPLOAD_NOT_FOUND',
    `No upload "${uploadId}": it is unknown, or expired (uploads are kept about a day). Create one with ` +
      'POST /connectors/{ref}/uploads.',
  );
}

function expiredUpload(record: UploadRecord): UsageError {
  return new UsageError(
    'UPLOAD_EXPIRED',
    `Upload ${record.uploadId} expired at ${record.expiresAt} before its file arrived: create a new upload ` +
      `with POST /connectors/${record.connectorApiName}/uploads and send the file again.`,
  );
}

function otherConnector(uploadId: string, owner: string, connector: ConnectorRecord): UsageError {
  return new UsageError(
    'UPLOAD_CONNECTOR_MISMATCH',
    `Upload ${uploadId} was made for connector "${owner}", not "${connector.apiName}": start it with ` +
      `POST /connectors/${owner}/executions.`,
  );
}

/** `3`, `3 and 4`, `3, 4 and 7`; long lists are cut after ten numbers. */
function listNumbers(numbers: number[]): string {
  const shown = numbers.slice(0, 10).map(String);
  if (numbers.length > 10) return `${shown.join(', ')} and ${numbers.length - 10} more`;
  return shown.length === 1 ? shown[0]! : `${shown.slice(0, -1).join(', ')} and ${shown.at(-1)}`;
}
