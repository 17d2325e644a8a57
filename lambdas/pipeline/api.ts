import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { activationIssues } from '../core/definition-checks.ts';
import { DefinitionError, ScError, UsageError, errorMessage } from '../core/errors.ts';
import type { Execution } from '../core/model.ts';
import type { ApiKeyStore } from '../ports/api-key-store.ts';
import { loadExecution } from './context.ts';
import { cancelExecution, setConnectorActive } from './control.ts';
import { dispatchConnector } from './dispatch.ts';
import type { Ports } from './ports.ts';
import { registerExecution } from './register.ts';

/*
 * The HTTP API (SPEC §9), as far as the serverless issue needs it: connectors list/get/activate/
 * deactivate; executions start (a file in the body), list, get, cancel, report. One function answers a
 * plain request; the API Lambda (API Gateway events) and `sc serve` (node:http) both call it.
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
}

/** Makes a key: returns the key once (only its hash is stored). */
export async function createApiKey(apiKeys: ApiKeyStore, name: string, now: Date): Promise<string> {
  const key = `sc_${randomBytes(24).toString('base64url')}`;
  await apiKeys.createApiKey({
    id: randomUUID(),
    name,
    hash: hashKey(key),
    createdAt: now.toISOString(),
    revokedAt: null,
  });
  return key;
}

function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

type Handler = (deps: ApiDeps, request: ApiRequest, params: string[]) => Promise<ApiResponse>;

const ROUTES: Array<[method: string, pattern: RegExp, handler: Handler]> = [
  ['GET', /^\/connectors$/, listConnectors],
  ['GET', /^\/connectors\/([^/]+)$/, getConnector],
  ['POST', /^\/connectors\/([^/]+)\/(activate|deactivate)$/, activate],
  ['POST', /^\/connectors\/([^/]+)\/executions$/, startExecution],
  ['GET', /^\/connectors\/([^/]+)\/executions$/, listExecutions],
  ['GET', /^\/executions\/([^/]+)$/, getExecution],
  ['POST', /^\/executions\/([^/]+)\/cancel$/, cancel],
  ['GET', /^\/executions\/([^/]+)\/report$/, report],
];

/** Answers one request: 401 without a key, 403 with an unknown or revoked one, errors as JSON. */
export async function handleApiRequest(deps: ApiDeps, request: ApiRequest): Promise<ApiResponse> {
  try {
    await authenticate(deps.apiKeys, request.headers);
    for (const [method, pattern, handler] of ROUTES) {
      const match = pattern.exec(request.path);
      if (!match) continue;
      if (request.method !== method) continue;
      return await handler(deps, request, match.slice(1).map(decodeURIComponent));
    }
    return error(404, 'NOT_FOUND', `No route ${request.method} ${request.path}.`);
  } catch (caught) {
    if (caught instanceof ApiError) return error(caught.status, caught.code, caught.message);
    if (caught instanceof DefinitionError) {
      return json(409, { error: { code: caught.code, message: caught.message, issues: caught.issues } });
    }
    if (caught instanceof ScError) return error(statusOf(caught.code), caught.code, caught.message);
    return error(500, 'INTERNAL_ERROR', errorMessage(caught));
  }
}

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

async function authenticate(apiKeys: ApiKeyStore, headers: ApiRequest['headers']): Promise<void> {
  const bearer = /^Bearer\s+(.+)$/i.exec(headers.authorization ?? '')?.[1];
  const key = headers['x-api-key'] ?? bearer;
  if (!key) throw new ApiError(401, 'UNAUTHENTICATED', 'Send an API key in the X-Api-Key header.');
  const record = await apiKeys.findApiKeyByHash(hashKey(key));
  if (!record || record.revokedAt) throw new ApiError(403, 'FORBIDDEN', 'The API key is unknown or revoked.');
}

function statusOf(code: string): number {
  if (code.endsWith('NOT_FOUND')) return 404;
  if (code === 'CONFLICT' || code === 'EXECUTION_ENDED') return 409;
  return 400;
}

function json(statusCode: number, value: unknown): ApiResponse {
  return { statusCode, headers: { 'content-type': 'application/json' }, body: JSON.stringify(value) };
}

function error(statusCode: number, code: string, message: string): ApiResponse {
  return json(statusCode, { error: { code, message } });
}

async function connectorOf(deps: ApiDeps, ref: string) {
  const connector = await deps.ports.connectors.getConnector(ref);
  if (!connector) throw new ApiError(404, 'CONNECTOR_NOT_FOUND', `No connector "${ref}".`);
  return connector;
}

async function listConnectors(deps: ApiDeps): Promise<ApiResponse> {
  return json(200, { connectors: await deps.ports.connectors.listConnectors() });
}

async function getConnector(deps: ApiDeps, _request: ApiRequest, [ref]: string[]): Promise<ApiResponse> {
  return json(200, await connectorOf(deps, ref!));
}

async function activate(deps: ApiDeps, _request: ApiRequest, [ref, verb]: string[]): Promise<ApiResponse> {
  const connector = await connectorOf(deps, ref!);
  if (verb === 'activate') {
    const version = await deps.ports.connectors.getVersion(connector.id, connector.version);
    const objects = new Map((await deps.ports.connectors.listObjects()).map((o) => [o.apiName, o]));
    const issues = version ? activationIssues(version.definition, objects) : [];
    if (issues.length > 0)
      throw new DefinitionError(`connector ${connector.apiName}`, issues, 'cannot be activated');
  }
  return json(200, await setConnectorActive(deps.ports, connector.id, verb === 'activate'));
}

/** `POST /connectors/{ref}/executions?fileName=…&dryRun=true`, the file as the body. */
async function startExecution(deps: ApiDeps, request: ApiRequest, [ref]: string[]): Promise<ApiResponse> {
  const connector = await connectorOf(deps, ref!);
  const fileName = request.query.fileName ?? request.headers['x-file-name'];
  if (!fileName) throw new ApiError(400, 'FILE_NAME_MISSING', 'Name the uploaded file: ?fileName=<name>.');
  if (request.body.length === 0)
    throw new ApiError(400, 'EMPTY_BODY', 'Send the input file as the request body.');
  const dryRun = request.query.dryRun === 'true';
  const dir = await mkdtemp(join(deps.ports.tmpDir, 'upload-'));
  try {
    const path = join(dir, 'input');
    await writeFile(path, request.body);
    const execution = await registerExecution(deps.ports, {
      connectorRef: connector.id,
      input: { path, name: fileName },
      dryRun,
      trigger: 'api',
      initiatedBy: 'api',
    });
    await dispatchConnector(deps.ports, connector.id);
    return json(202, await loadExecution(deps.ports, execution.id));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function listExecutions(deps: ApiDeps, _request: ApiRequest, [ref]: string[]): Promise<ApiResponse> {
  const connector = await connectorOf(deps, ref!);
  return json(200, { executions: await deps.ports.executions.listByConnector(connector.id) });
}

async function executionOf(deps: ApiDeps, id: string): Promise<Execution> {
  const execution = await deps.ports.executions.get(id);
  if (!execution) throw new ApiError(404, 'EXECUTION_NOT_FOUND', `No execution ${id}.`);
  return execution;
}

async function getExecution(deps: ApiDeps, _request: ApiRequest, [id]: string[]): Promise<ApiResponse> {
  return json(200, await executionOf(deps, id!));
}

async function cancel(deps: ApiDeps, _request: ApiRequest, [id]: string[]): Promise<ApiResponse> {
  await executionOf(deps, id!);
  return json(202, await cancelExecution(deps.ports, id!));
}

/** The XLSX report: the file itself (the local runtime) or a redirect to a time-limited S3 URL. */
async function report(deps: ApiDeps, _request: ApiRequest, [id]: string[]): Promise<ApiResponse> {
  const execution = await executionOf(deps, id!);
  if (!execution.reportKey) {
    throw new UsageError(
      'REPORT_NOT_FOUND',
      `Execution ${id} has no report (yet): it is ${execution.status}.`,
    );
  }
  const { blobs } = deps.ports;
  if (blobs.presignedUrl) {
    return {
      statusCode: 302,
      headers: { location: await blobs.presignedUrl(execution.reportKey) },
      body: '',
    };
  }
  const chunks: Buffer[] = [];
  for await (const chunk of await blobs.read(execution.reportKey)) chunks.push(chunk as Buffer);
  return {
    statusCode: 200,
    headers: {
      'content-type': 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
      'content-disposition': `attachment; filename="report-${id}.xlsx"`,
    },
    body: Buffer.concat(chunks),
  };
}
