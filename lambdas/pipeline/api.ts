import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { DefinitionError, ScError, errorMessage } from '../core/errors.ts';
import type { ApiKeyStore } from '../ports/api-key-store.ts';
import { API_ROUTES } from './api/all-routes.ts';
import {
  ApiError,
  errorResponse,
  readJsonBody,
  validateInput,
  type ApiCaller,
  type ApiDeps,
  type ApiRequest,
  type ApiResponse,
  type ApiRoute,
  type RouteAuth,
} from './api/http.ts';

export type { ApiDeps, ApiRequest, ApiResponse } from './api/http.ts';

/*
 * The HTTP API (SPEC §9). One function answers a plain request; the API Lambda (API Gateway events) and
 * `sc serve` (node:http) both call it. Routes live in `api/*-routes.ts`, each declared with its zod
 * schemas; this module matches the route, checks the key (or a webhook token), validates the input and
 * renders errors: a route's `ApiError` as is, a definition error as 400 with each issue, and any other
 * `ScError` by its code (`…NOT_FOUND` 404, `CONFLICT` and `EXECUTION_ENDED` 409, else 400).
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
      const allowed = [...new Set(matches.map((m) => m.c.route.method))].join(', ');
      return errorResponse(
        405,
        'METHOD_NOT_ALLOWED',
        `${path} takes ${allowed}, not ${request.method}.`,
        undefined,
        {
          allow: allowed,
        },
      );
    }
    const { route, names } = found.c;
    const params = Object.fromEntries(names.map((name, i) => [name, pathParameter(found.match![i + 1]!)]));
    const caller = await authenticate(deps, route.auth ?? 'key', params, request);
    const query = route.query ? validateInput(route.query, request.query, 'query') : request.query;
    const body = route.body ? validateInput(route.body, readJsonBody(request), 'body') : undefined;
    return await route.handle(deps, { params, query, body, request, caller });
  } catch (caught) {
    return errorFrom(caught);
  }
}

function pathParameter(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new ApiError(400, 'INVALID_PATH', `The path segment "${raw}" is not valid percent-encoding.`);
  }
}

function errorFrom(caught: unknown): ApiResponse {
  if (caught instanceof ApiError)
    return errorResponse(caught.status, caught.code, caught.message, caught.details);
  if (caught instanceof DefinitionError) {
    return errorResponse(400, caught.code, caught.message, caught.issues);
  }
  if (caught instanceof ScError) return errorResponse(statusOf(caught.code), caught.code, caught.message);
  // The detail (SDK, file system or client messages with hosts and paths) goes to the log, not the caller.
  const reference = randomUUID();
  console.error(
    JSON.stringify({ level: 'error', message: 'API request failed', reference, error: errorMessage(caught) }),
  );
  return errorResponse(
    500,
    'INTERNAL_ERROR',
    `Something went wrong on our side (reference ${reference}); the server log has the details.`,
  );
}

/** The status of an `ScError` a stage raised, by its code. */
function statusOf(code: string): number {
  if (code.endsWith('NOT_FOUND')) return 404;
  if (code === 'CONFLICT' || code === 'EXECUTION_ENDED') return 409;
  // Retryable: a webhook flush held its lease while a save wanted to flush too.
  if (code === 'WEBHOOK_FLUSH_BUSY') return 503;
  return 400;
}

/** Checks the route's credentials; returns who called. */
async function authenticate(
  deps: ApiDeps,
  auth: RouteAuth,
  params: Record<string, string>,
  request: ApiRequest,
): Promise<ApiCaller> {
  if (auth === 'none') return { kind: 'anonymous' };
  const key = apiKeyOf(request.headers);
  if (auth === 'webhook' && key === undefined) {
    const token = request.query.token ?? request.headers['x-webhook-token'];
    if (token !== undefined) {
      if (await webhookTokenMatches(deps, params, token)) return { kind: 'webhook-token' };
      throw new ApiError(
        403,
        'FORBIDDEN',
        "The webhook token is not this connector's. Check the token or send an API key.",
      );
    }
  }
  if (key === undefined)
    throw new ApiError(401, 'UNAUTHENTICATED', 'Send an API key in the X-Api-Key header.');
  const record = await deps.apiKeys.findApiKeyByHash(hashKey(key));
  if (!record || record.revokedAt) throw new ApiError(403, 'FORBIDDEN', 'The API key is unknown or revoked.');
  return { kind: 'key', id: record.id, name: record.name };
}

function apiKeyOf(headers: ApiRequest['headers']): string | undefined {
  const bearer = /^Bearer\s+(.+)$/i.exec(headers.authorization ?? '')?.[1];
  return headers['x-api-key'] || bearer || undefined;
}

/** True when `token` is the webhook token of the connector named by `{ref}` (compared in constant time). */
async function webhookTokenMatches(
  deps: ApiDeps,
  params: Record<string, string>,
  token: string,
): Promise<boolean> {
  if (!params.ref) return false;
  const expected = (await deps.ports.connectors.getConnector(params.ref))?.webhookToken;
  if (expected === undefined) return false;
  const a = createHash('sha256').update(token).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}
