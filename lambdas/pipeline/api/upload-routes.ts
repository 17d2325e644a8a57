import { z } from 'zod';
import { ScError } from '../../core/errors.ts';
import type { Execution } from '../../core/model.ts';
import { S3_MAX_OBJECT_BYTES } from '../../core/upload-parts.ts';
import type { ConnectorRecord } from '../../ports/connector-store.ts';
import {
  createUpload,
  isUploadStore,
  startUpload,
  UPLOAD_ERROR_STATUS,
  UPLOAD_URL_SECONDS,
  type StartUploadOptions,
  type UploadStore,
} from '../uploads.ts';
import { connectorOf } from './connector-routes.ts';
import { ApiError, json, route, type ApiDeps, type ApiRoute } from './http.ts';

/*
 * Presigned uploads (SPEC §9): `POST /connectors/{ref}/uploads` answers where to PUT the file; the
 * execution is then started with `POST /connectors/{ref}/executions` and `{ "uploadId" }`, whose route
 * calls `startFromUpload`. The use cases are in `pipeline/uploads.ts`.
 */

const fileNameSchema = z
  .string()
  .min(1)
  .max(255)
  .refine((name) => !/[/\\]/.test(name), 'Give a file name, not a path: no "/" or "\\".')
  .refine((name) => name !== '.' && name !== '..', 'A file name cannot be "." or "..".')
  // eslint-disable-next-line no-control-regex
  .refine((name) => !/[\u0000-\u001f\u007f]/.test(name), 'A file name cannot hold control characters.')
  .meta({
    description: 'The name of the file, with its extension (it decides how the file is read): `catalog.csv`.',
  });

export const uploadBodySchema = z.object({
  fileName: fileNameSchema,
  size: z
    .number()
    .int()
    .positive('The file is empty: an upload needs at least one byte.')
    .max(S3_MAX_OBJECT_BYTES, `S3 holds files of at most 5 TiB (${S3_MAX_OBJECT_BYTES} bytes).`)
    .meta({ description: 'The exact size of the file in bytes; the start checks it.' }),
});

const partSchema = z.object({
  partNumber: z.number().int().meta({ description: 'From 1.' }),
  offset: z.number().int().meta({ description: 'The first byte of the file this part holds.' }),
  size: z.number().int().meta({ description: 'How many bytes, from `offset`.' }),
  url: z.string().meta({ description: 'PUT these bytes here.' }),
});

export const uploadSchema = z
  .object({
    uploadId: z.string().meta({ description: 'Start the execution with `{ "uploadId" }`.' }),
    kind: z.enum(['single', 'multipart']).meta({
      description: '`single`: PUT the whole file to `url`. `multipart`: PUT each part to its own `url`.',
    }),
    method: z.literal('PUT'),
    url: z.string().nullable().meta({ description: 'The single PUT; null for a multipart upload.' }),
    headers: z.record(z.string(), z.string()).meta({ description: 'Send these headers with every PUT.' }),
    expiresAt: z.string().meta({ description: `When the URLs stop working (${UPLOAD_URL_SECONDS} s).` }),
    fileName: z.string(),
    size: z.number().int(),
    partSize: z
      .number()
      .int()
      .optional()
      .meta({ description: 'Multipart: the size of every part but the last.' }),
    parts: z.array(partSchema).optional().meta({ description: 'Multipart: one URL per part, in order.' }),
  })
  .meta({ id: 'Upload' });

export const UPLOAD_ROUTES: ApiRoute[] = [
  route({
    method: 'POST',
    path: '/connectors/{ref}/uploads',
    summary: 'Create a presigned upload',
    description:
      'For files of any size (up to 5 TiB): answers where to PUT the file in the ingest bucket, one URL ' +
      'for a small file, or a multipart upload with one URL per part for a large one. Once every PUT ' +
      'succeeded, start the execution with `POST /connectors/{ref}/executions` and the JSON body ' +
      '`{ "uploadId" }`; the start completes and checks the upload. See docs/uploads.md.',
    tag: 'executions',
    body: uploadBodySchema,
    responses: { 201: { description: 'Where to send the file.', schema: uploadSchema } },
    handle: async (deps, { params, body }) => {
      const connector = await connectorOf(deps, params.ref!);
      const upload = await createUpload(ingestOf(deps), connector, body, deps.ports.clock.now());
      return json(201, upload);
    },
  }),
];

/**
 * Starts the execution of a presigned upload (the JSON branch of `POST /connectors/{ref}/executions`):
 * `startUpload` with its errors as HTTP answers — 404 unknown upload, 410 expired, 409 not finished or
 * made for another connector, 422 size mismatch, 501 without an ingest bucket. A repeat answers the
 * execution the first call made.
 */
export async function startFromUpload(
  deps: ApiDeps,
  connector: ConnectorRecord,
  uploadId: string,
  options: StartUploadOptions,
): Promise<Execution> {
  try {
    return (await startUpload(deps.ports, ingestOf(deps), connector, uploadId, options)).execution;
  } catch (error) {
    const status = error instanceof ScError ? UPLOAD_ERROR_STATUS[error.code] : undefined;
    if (error instanceof ScError && status !== undefined)
      throw new ApiError(status, error.code, error.message);
    throw error;
  }
}

function ingestOf(deps: ApiDeps): UploadStore {
  if (!isUploadStore(deps.ingest)) {
    throw new ApiError(
      501,
      'UPLOADS_UNAVAILABLE',
      'This runtime has no ingest bucket that takes presigned uploads; send the file in the request body.',
    );
  }
  return deps.ingest;
}
