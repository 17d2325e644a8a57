import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { ZodType } from 'zod';
import { DefinitionError, ScError, errorMessage } from '../core/errors.ts';
import { jsonPath } from '../core/zod-issues.ts';
import type { ApiKeyStore } from '../ports/api-key-store.ts';
import { API_ROUTES } from './api/all-routes.ts';
import {
  ApiError,
  errorResponse,
  type ApiDeps,
  type ApiRequest,
  type ApiResponse,
  type ApiRoute,
} from './api/http.ts';

export type { ApiDeps, ApiRequest, ApiResponse } from './api/http.ts';

/*
 * The HTTP API (SPEC §9). One function answers a plain request; the API Lambda (API Gateway events) and
 * `sc serve` (node:http) both call it. Routes live in `api/*-routes.ts`, each declared with its zod
 * schemas; this module matches the route, checks the key, validates the input and renders errors.
 */

/** Makes a key: returns the key once (only its hash is stored). */
export async function createApiKey(
  apiKeys: ApiKeyStore,
  name: string,
  now: Date,
): Promise<{ id: string; name: string; key: string }> {
  const key = `sc_${randomBytes(24).toString('base64url')}`;
  const id = randomUUID();
  await apiKeys.createApiKey({ id, name, hash: hashKey(key), createdAt: now.toISOString(), revokedAt: null });
  return { id, name, key };
}

export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

interface CompiledRoute {
  route: ApiRoute;
  pattern: RegExp;
  names: string[];
}

const COMPILED: CompiledRoute[] = API_ROUTES.map((route) => {
  const names: string[] = [];
  const source = route.path.replace(/\{([^}]+)\}/g, (_, name: string) => {
    names.push(name);
    return '([^/]+)';
  });
  return { route, pattern: new RegExp(`^${source}$`), names };
});

/** Answers one request: 401 without a key, 403 with an unknown or revoked one, errors as JSON. */
export async function handleApiRequest(deps: ApiDeps, request: ApiRequest): Promise<ApiResponse> {
  try {
    const path = request.path.length > 1 ? request.path.replace(/\/+$/, '') : request.path;
    const matches = COMPILED.map((c) => ({ c, match: c.pattern.exec(path) })).filter((m) => m.match);
    if (matches.length === 0) return errorResponse(404, 'NOT_FOUND', `No route ${request.method} ${path}.`);
    const found = matches.find((m) => m.c.route.method === request.method);
    if (!found) {
      const allowed = matches.map((m) => m.c.route.method).join(', ');
      return errorResponse(405, 'METHOD_NOT_ALLOWED', `${path} takes ${allowed}, not ${request.method}.`);
    }
    const { route, names } = found.c;
    const params = Object.fromEntries(
      names.map((name, i) => [name, decodeURIComponent(found.match![i + 1]!)]),
    );
    const auth = route.auth ?? 'key';
    if (auth === 'key') await authenticate(deps.apiKeys, request.headers);
    if (auth === 'webhook' && !(await webhookTokenMatches(deps, params, request))) {
      await authenticate(deps.apiKeys, request.headers);
    }
    const query = route.query ? validate(route.query, request.query, 'query') : request.query;
    const body = route.body ? validate(route.body, parseJsonBody(request), 'body') : undefined;
    return await route.handle(deps, { params, query, body, request });
  } catch (caught) {
    return errorFrom(caught);
  }
}

function errorFrom(caught: unknown): ApiResponse {
  if (caught instanceof ApiError)
    return errorResponse(caught.status, caught.code, caught.message, caught.details);
  if (caught instanceof DefinitionError) {
    return errorResponse(409, caught.code, caught.message, caught.issues);
  }
  if (caught instanceof ScError) return errorResponse(statusOf(caught.code), caught.code, caught.message);
  return errorResponse(500, 'INTERNAL_ERROR', errorMessage(caught));
}

function statusOf(code: string): number {
  if (code.endsWith('NOT_FOUND')) return 404;
  if (code === 'CONFLICT' || code === 'EXECUTION_ENDED') return 409;
  return 400;
}

async function authenticate(apiKeys: ApiKeyStore, headers: ApiRequest['headers']): Promise<void> {
  const bearer = /^Bearer\s+(.+)$/i.exec(headers.authorization ?? '')?.[1];
  const key = headers['x-api-key'] ?? bearer;
  if (!key) throw new ApiError(401, 'UNAUTHENTICATED', 'Send an API key in the X-Api-Key header.');
  const record = await apiKeys.findApiKeyByHash(hashKey(key));
  if (!record || record.revokedAt) throw new ApiError(403, 'FORBIDDEN', 'The API key is unknown or revoked.');
}

/** True when the request carries the webhook token of the connector named by `{ref}`. */
async function webhookTokenMatches(
  deps: ApiDeps,
  params: Record<string, string>,
  request: ApiRequest,
): Promise<boolean> {
  const token = request.query.token ?? request.headers['x-webhook-token'];
  if (!token || !params.ref) return false;
  const connector = await deps.ports.connectors.getConnector(params.ref);
  return connector?.webhookToken !== undefined && connector.webhookToken === token;
}

function parseJsonBody(request: ApiRequest): unknown {
  if (request.body.length === 0) return undefined;
  try {
    return JSON.parse(request.body.toString('utf8'));
  } catch (error) {
    throw new ApiError(400, 'INVALID_JSON', `The request body is not valid JSON: ${errorMessage(error)}`);
  }
}

/** Parses with zod; a failure is a 400 naming the JSON path of each bad field (`body.settings.chunkSize`). */
function validate<T>(schema: ZodType<T>, value: unknown, where: 'query' | 'body'): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const details = parsed.error.issues.map((issue) => ({
    path: jsonPath([where, ...issue.path]),
    message: issue.message,
  }));
  const list = details.map((d) => `${d.path}: ${d.message}`).join('; ');
  throw new ApiError(400, 'INVALID_REQUEST', `The request ${where} is invalid: ${list}`, details);
}
