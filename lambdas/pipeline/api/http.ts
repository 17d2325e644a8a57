import type { Readable } from 'node:stream';
import { z } from 'zod';
import { errorMessage } from '../../core/errors.ts';
import { jsonPath } from '../../core/zod-issues.ts';
import type { ApiKeyStore } from '../../ports/api-key-store.ts';
import type { BlobStore } from '../../ports/blob-store.ts';
import type { Ports } from '../ports.ts';

/*
 * The pieces every API route module shares: the plain request and response the API Lambda and
 * `sc serve` translate to and from, the dependencies a route reaches, how a route is declared, and the
 * helpers routes answer with.
 */

export interface ApiRequest {
  method: string;
  /** Without the query string. */
  path: string;
  query: Record<string, string | undefined>;
  /** Lower-case names. */
  headers: Record<string, string | undefined>;
  body: Buffer;
}

export interface ApiResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: string | Buffer;
}

export interface ApiDeps {
  ports: Ports;
  apiKeys: ApiKeyStore;
  /**
   * The ingest bucket (S3 in AWS, the embedded S3 under `sc serve`): presigned uploads and drops. Absent
   * where the runtime has none; routes that need it answer 501.
   */
  ingest?: BlobStore;
  /** The public base URL of the API (for links such as a webhook connector's intake URL), no trailing `/`. */
  baseUrl?: string;
}

/** Who may call a route. */
export type RouteAuth =
  /** An API key in `x-api-key` (401 missing, 403 wrong or revoked). The default. */
  | 'key'
  /** Anyone (`GET /openapi.json`). */
  | 'none'
  /** An API key, or the connector's webhook token (`?token=` or `X-Webhook-Token`). */
  | 'webhook';

/** Who called: the API key (its id and name), a connector's webhook token, or nobody (`auth: 'none'`). */
export type ApiCaller =
  { kind: 'key'; id: string; name: string } | { kind: 'webhook-token' } | { kind: 'anonymous' };

/** What a route receives besides the request: path parameters and the zod-parsed query and body. */
export interface RouteInput<Q, B> {
  params: Record<string, string>;
  query: Q;
  body: B;
  request: ApiRequest;
  /** Set by the dispatcher after the auth check. */
  caller?: ApiCaller;
}

/** A documented response: its JSON schema, or another content type (a file). */
export interface RouteResponse {
  description: string;
  schema?: z.ZodType;
  /** Default `application/json` when there is a schema. */
  contentType?: string;
}

/** One route. `path` is an OpenAPI template (`/connectors/{ref}/executions`). */
export interface ApiRoute<Q = unknown, B = unknown> {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  /** One line for the OpenAPI document. */
  summary: string;
  /** More text for the OpenAPI document (Markdown). */
  description?: string;
  /** Grouping in the OpenAPI document, e.g. `connectors`. */
  tag: string;
  /** The OpenAPI operationId. Default: derived from the summary (`List connectors` → `listConnectors`). */
  operationId?: string;
  auth?: RouteAuth;
  /** Validates `request.query` (400 with the JSON path of each bad field). */
  query?: z.ZodType<Q>;
  /**
   * Validates a JSON body (400 on bad JSON or a bad field). Omit for routes that read the raw body
   * themselves (file uploads, webhook intake), and describe those with `rawBody`.
   */
  body?: z.ZodType<B>;
  /** For the OpenAPI document: the bodies a route without `body` reads itself, by content type. */
  rawBody?: { description: string; content: Record<string, { schema?: z.ZodType }> };
  /** The success statuses and their bodies, for the OpenAPI document. Errors are documented for every route. */
  responses?: Record<number, RouteResponse>;
  handle(deps: ApiDeps, input: RouteInput<Q, B>): Promise<ApiResponse>;
}

/** Declares a route with its query and body types inferred from the schemas. */
export function route<Q = Record<string, string | undefined>, B = undefined>(
  definition: ApiRoute<Q, B>,
): ApiRoute {
  return definition as unknown as ApiRoute;
}

/** An error a route raises on purpose; the dispatcher turns it into `{ error: { code, message, details } }`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

/** One bad field of a 400: its JSON path in the request (`body.settings.chunkSize`) and what is wrong. */
export interface ErrorDetail {
  path: string;
  message: string;
}

/** The body of every error answer (SPEC §9). */
export const apiErrorSchema = z
  .object({
    error: z.object({
      code: z.string().meta({ description: 'Stable code, e.g. `INVALID_REQUEST`, `CONNECTOR_NOT_FOUND`.' }),
      message: z.string().meta({ description: 'What went wrong and what to do next.' }),
      details: z
        .array(z.object({ path: z.string(), message: z.string() }))
        .optional()
        .meta({ description: 'For 400 and 422: each bad field, by JSON path (`body.settings.chunkSize`).' }),
    }),
  })
  .meta({ id: 'Error' });

export function json(statusCode: number, value: unknown, headers: Record<string, string> = {}): ApiResponse {
  return {
    statusCode,
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(value),
  };
}

export function errorResponse(
  statusCode: number,
  code: string,
  message: string,
  details?: unknown,
  headers: Record<string, string> = {},
): ApiResponse {
  return json(
    statusCode,
    { error: { code, message, ...(details === undefined ? {} : { details }) } },
    headers,
  );
}

/**
 * A stored file: a 302 to a time-limited URL where the blob store can presign one (S3), else the bytes
 * (the local store of `sc serve`), as an attachment named `fileName`.
 */
export async function blobResponse(
  blobs: BlobStore,
  key: string,
  file: { name: string; contentType: string },
): Promise<ApiResponse> {
  const contentDisposition = attachmentDisposition(file.name);
  if (blobs.presignedUrl) {
    // S3 answers the URL with this Content-Disposition, so the browser saves the file under its name.
    const location = await blobs.presignedUrl(key, undefined, { contentDisposition });
    return { statusCode: 302, headers: { location }, body: '' };
  }
  return {
    statusCode: 200,
    headers: { 'content-type': file.contentType, 'content-disposition': contentDisposition },
    body: await bytesOf(await blobs.read(key)),
  };
}

/**
 * `attachment` named `fileName` (RFC 6266): an ASCII fallback in `filename`, each other character, `"`,
 * `\` and `%` made `_` (some agents percent-decode it), and the exact name in `filename*` as RFC 5987
 * UTF-8, which every current browser prefers. Only ASCII goes in: Node refuses other bytes in a header.
 */
export function attachmentDisposition(fileName: string): string {
  const fallback = fileName.replace(/[^\x20-\x7e]|["\\%]/gu, '_');
  // encodeURIComponent leaves ' ( ) * as they are, which RFC 5987's attr-char does not allow.
  const encoded = encodeURIComponent(fileName).replace(
    /['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `attachment; filename="${fallback}"; filename*=UTF-8''${encoded}`;
}

export async function bytesOf(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  return Buffer.concat(chunks);
}

/**
 * Parses with zod; a failure is a 400 `INVALID_REQUEST` naming the JSON path of each bad field
 * (`body.settings.chunkSize`, `query.limit`). The dispatcher calls it for `query` and `body`; routes
 * that read a body themselves call it too.
 */
export function validateInput<T>(schema: z.ZodType<T>, value: unknown, where: 'query' | 'body'): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw invalidRequest(
    where,
    parsed.error.issues.flatMap((issue) => leafIssues(issue, [where])),
  );
}

/**
 * An issue's details. A value matching no branch of a union (`fields` as a list or a map) is reported
 * through the branch that got furthest into it, so the path names the bad field (`body.fields[0].type`)
 * rather than the union.
 */
function leafIssues(issue: z.core.$ZodIssue, prefix: readonly PropertyKey[]): ErrorDetail[] {
  const path = [...prefix, ...issue.path];
  if (issue.code === 'invalid_union' && issue.errors.length > 0) {
    const depth = (branch: z.core.$ZodIssue[]) => Math.max(0, ...branch.map((i) => i.path.length));
    const deepest = Math.max(...issue.errors.map(depth));
    const best = issue.errors.filter((branch) => depth(branch) === deepest);
    if (deepest > 0 && best.length === 1) return best[0]!.flatMap((i) => leafIssues(i, path));
  }
  return [{ path: jsonPath(path), message: issue.message }];
}

/** A 400 listing each bad field. */
export function invalidRequest(where: 'query' | 'body', details: ErrorDetail[]): ApiError {
  const list = details.map((d) => `${d.path}: ${d.message}`).join('; ');
  return new ApiError(400, 'INVALID_REQUEST', `The request ${where} is invalid: ${list}`, details);
}

/** The request body as JSON; undefined when empty; 400 `INVALID_JSON` when it does not parse. */
export function readJsonBody(request: ApiRequest): unknown {
  if (request.body.length === 0) return undefined;
  try {
    return JSON.parse(request.body.toString('utf8'));
  } catch (error) {
    throw new ApiError(400, 'INVALID_JSON', `The request body is not valid JSON: ${errorMessage(error)}`);
  }
}

/** A `true`/`false` query flag. */
export const queryFlag = z
  .enum(['true', 'false'])
  .transform((value) => value === 'true')
  .meta({ description: '`true` or `false`.' });
