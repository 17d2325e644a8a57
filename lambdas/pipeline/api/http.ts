import type { z } from 'zod';
import type { ApiKeyStore } from '../../ports/api-key-store.ts';
import type { BlobStore } from '../../ports/blob-store.ts';
import type { Ports } from '../ports.ts';

/*
 * The pieces every API route module shares: the plain request and response the API Lambda and
 * `sc serve` translate to and from, the dependencies a route reaches, and how a route is declared.
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

/** What a route receives besides the request: path parameters and the zod-parsed query and body. */
export interface RouteInput<Q, B> {
  params: Record<string, string>;
  query: Q;
  body: B;
  request: ApiRequest;
}

/** One route. `path` is an OpenAPI template (`/connectors/{ref}/executions`). */
export interface ApiRoute<Q = unknown, B = unknown> {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  /** One line for the OpenAPI document. */
  summary: string;
  /** Grouping in the OpenAPI document, e.g. `connectors`. */
  tag: string;
  auth?: RouteAuth;
  /** Validates `request.query` (400 with the JSON path of each bad field). */
  query?: z.ZodType<Q>;
  /**
   * Validates a JSON body (400 on bad JSON or a bad field). Omit for routes that read the raw body
   * themselves (file uploads, webhook intake).
   */
  body?: z.ZodType<B>;
  /** The success status and the schema of its JSON body, for the OpenAPI document. */
  responses?: Record<number, { description: string; schema?: z.ZodType }>;
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
): ApiResponse {
  return json(statusCode, { error: { code, message, ...(details === undefined ? {} : { details }) } });
}
