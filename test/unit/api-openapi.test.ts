import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { API_ROUTES } from '../../lambdas/pipeline/api/all-routes.ts';
import { openApiDocument, operationIdOf } from '../../lambdas/pipeline/api/openapi.ts';

/*
 * The OpenAPI document generated from the route declarations: 3.1, every route with its method,
 * parameters, security and responses, every `$ref` resolving, and docs/openapi.json fresh.
 */

const ROOT = join(import.meta.dirname, '../..');
type Json = Record<string, unknown>;

const document = openApiDocument(API_ROUTES) as Json & {
  paths: Record<string, Record<string, Json>>;
  components: { schemas: Record<string, Json>; securitySchemes: Record<string, Json> };
};

function operationOf(
  method: string,
  path: string,
): Json & { parameters?: Json[]; responses: Record<string, Json> } {
  const operation = document.paths[path]?.[method.toLowerCase()];
  expect(operation, `${method} ${path} is in the document`).toBeDefined();
  return operation as Json & { parameters?: Json[]; responses: Record<string, Json> };
}

/** Every `$ref` value anywhere in a JSON value. */
function refsIn(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(refsIn);
  if (value && typeof value === 'object') {
    return Object.entries(value).flatMap(([key, v]) =>
      key === '$ref' && typeof v === 'string' ? [v] : refsIn(v),
    );
  }
  return [];
}

describe('the OpenAPI document', () => {
  it('is OpenAPI 3.1 with the API key scheme, the webhook token alternative and the error schema', () => {
    expect(document.openapi).toBe('3.1.0');
    expect(document.info).toMatchObject({ title: 'SmartConnector API' });
    expect(document.security).toEqual([{ apiKey: [] }]);
    expect(document.components.securitySchemes).toMatchObject({
      apiKey: { type: 'apiKey', in: 'header', name: 'x-api-key' },
      webhookToken: { type: 'apiKey', in: 'query', name: 'token' },
      webhookTokenHeader: { type: 'apiKey', in: 'header', name: 'X-Webhook-Token' },
    });
    expect(document.components.schemas.Error).toMatchObject({
      type: 'object',
      required: ['error'],
      properties: { error: { required: ['code', 'message'] } },
    });
  });

  it('has every route, each with a unique operationId, its path parameters and its security', () => {
    const ids = new Set<string>();
    for (const route of API_ROUTES) {
      const operation = operationOf(route.method, route.path);
      expect(ids.has(String(operation.operationId))).toBe(false);
      ids.add(String(operation.operationId));
      expect(operation.summary).toBe(route.summary);
      expect(operation.tags).toEqual([route.tag]);
      const names = [...route.path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
      const pathParameters = (operation.parameters ?? []).filter((p) => p.in === 'path');
      expect(pathParameters.map((p) => p.name)).toEqual(names);
      expect(pathParameters.every((p) => p.required === true)).toBe(true);

      const auth = route.auth ?? 'key';
      if (auth === 'none') expect(operation.security).toEqual([]);
      if (auth === 'webhook') expect(operation.security).toContainEqual({ webhookToken: [] });
      if (auth === 'key') expect(operation.security).toBeUndefined();
      if (auth !== 'none')
        expect(Object.keys(operation.responses)).toEqual(expect.arrayContaining(['401', '403']));
      if (route.query || route.body) expect(operation.responses['400']).toBeDefined();
      expect(Object.keys(operation.responses).some((s) => /^2\d\d$|^3\d\d$/.test(s))).toBe(true);
    }
    const count = Object.values(document.paths).reduce((n, item) => n + Object.keys(item).length, 0);
    expect(count).toBe(API_ROUTES.length);
  });

  it('documents pagination on every list, and the SPEC routes it owns', () => {
    const list = operationOf('GET', '/connectors/{ref}/executions');
    expect(list.parameters!.map((p) => p.name)).toEqual(['ref', 'limit', 'cursor', 'status', 'dryRun']);
    const page = (list.responses['200'] as { content: Record<string, { schema: Json }> }).content[
      'application/json'
    ]!.schema;
    expect(page).toMatchObject({
      required: ['items', 'nextCursor'],
      properties: { items: { type: 'array', items: { $ref: '#/components/schemas/Execution' } } },
    });
    const records = operationOf('GET', '/objects/{apiName}/records');
    expect(records.parameters).toContainEqual(
      expect.objectContaining({ name: 'filters', in: 'query', style: 'form', explode: true }),
    );
    const start = operationOf('POST', '/connectors/{ref}/executions');
    expect(Object.keys((start.requestBody as { content: Json }).content)).toEqual([
      'multipart/form-data',
      'application/json',
      'application/octet-stream',
    ]);
    const create = operationOf('POST', '/connectors');
    expect(create.requestBody).toMatchObject({
      content: { 'application/json': { schema: { $ref: '#/components/schemas/ConnectorDefinition' } } },
    });
    expect(operationOf('GET', '/openapi.json').security).toEqual([]);
  });

  it('resolves every $ref to a component', () => {
    const refs = refsIn(document);
    expect(refs.length).toBeGreaterThan(10);
    for (const ref of refs) {
      expect(ref).toMatch(/^#\/components\/schemas\//);
      expect(document.components.schemas[ref.slice('#/components/schemas/'.length)], ref).toBeDefined();
    }
  });

  it('adds the server URL it is served from', () => {
    expect(openApiDocument(API_ROUTES, 'https://api.example.test').servers).toEqual([
      { url: 'https://api.example.test' },
    ]);
    expect(document.servers).toBeUndefined();
  });

  it('equals docs/openapi.json (run `npm run docs` after changing a route)', () => {
    const committed = JSON.parse(readFileSync(join(ROOT, 'docs/openapi.json'), 'utf8')) as unknown;
    expect(committed).toEqual(JSON.parse(JSON.stringify(document)));
  });
});

describe('operationIdOf', () => {
  it.each([
    ['List connectors', 'listConnectors'],
    ["List a connector's executions", 'listConnectorExecutions'],
    ["Download an execution's XLSX report", 'downloadExecutionXlsxReport'],
    ['Get the OpenAPI document', 'getOpenapiDocument'],
    ['Create or replace an object', 'createOrReplaceObject'],
  ])('%s → %s', (summary, id) => {
    expect(operationIdOf(summary)).toBe(id);
  });
});
