import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createApiKey, handleApiRequest, type ApiDeps } from '../../lambdas/pipeline/api.ts';
import { API_ROUTES } from '../../lambdas/pipeline/api/all-routes.ts';
import { apiErrorSchema, type ApiRoute } from '../../lambdas/pipeline/api/http.ts';
import { openPipelineWorkspace, type PipelineWorkspace } from '../helpers/pipeline.ts';

/*
 * Every route of API_ROUTES, table-driven: 401 without a key, 403 with a wrong or a revoked key (and,
 * for the webhook intake, a wrong webhook token), a valid key gets past the check, and every route that
 * declares a query or body schema answers bad input with 400 naming the JSON path of the bad field.
 * New routes join these tests by being in API_ROUTES.
 */

let ws: PipelineWorkspace;
let deps: ApiDeps;
let key: string;
let revokedKey: string;
let token: string;
const HOOK = 'auth_hook';

beforeAll(async () => {
  ws = await openPipelineWorkspace([{ apiName: 'auth_items', name: 'Items', fields: [] }]);
  deps = { ports: ws.ports, apiKeys: ws.runtime.apiKeys };
  key = (await createApiKey(ws.runtime.apiKeys, 'valid', new Date())).key;
  const revoked = await createApiKey(ws.runtime.apiKeys, 'revoked', new Date());
  revokedKey = revoked.key;
  await ws.runtime.apiKeys.revokeApiKey(revoked.id);
  await ws.writeConnector(HOOK, {
    definition: { name: 'Auth hook', apiName: HOOK, type: 'webhook' },
    sql: 'CREATE TABLE output.default ENGINE = Memory AS SELECT 1 AS one',
  });
  token = (await ws.apply(HOOK)).connector.webhookToken!;
});
afterAll(async () => {
  await ws?.close();
});

/** The route's path with its parameters filled: the webhook connector, else names that do not exist. */
function pathOf(route: ApiRoute, ref = HOOK): string {
  return route.path
    .replace('{ref}', ref)
    .replace('{id}', 'no-such-id')
    .replace('{apiName}', 'no_such_object');
}

async function call(
  route: ApiRoute,
  init: {
    headers?: Record<string, string>;
    query?: Record<string, string>;
    body?: string;
    path?: string;
  } = {},
) {
  const response = await handleApiRequest(deps, {
    method: route.method,
    path: init.path ?? pathOf(route),
    query: init.query ?? {},
    headers: { 'content-type': 'application/json', ...init.headers },
    body: Buffer.from(init.body ?? ''),
  });
  const text = Buffer.isBuffer(response.body) ? response.body.toString('utf8') : response.body;
  const isJson = response.headers['content-type'] === 'application/json' && text !== '';
  return { status: response.statusCode, body: isJson ? (JSON.parse(text) as unknown) : null };
}

const errorCode = (answer: { body: unknown }) => apiErrorSchema.parse(answer.body).error.code;
const name = (route: ApiRoute) => `${route.method} ${route.path}`;
const guarded = API_ROUTES.filter((r) => (r.auth ?? 'key') !== 'none');

describe('every route needs a key', () => {
  it('has routes to check', () => {
    expect(guarded.length).toBeGreaterThan(20);
    expect(API_ROUTES.filter((r) => r.auth === 'none').map(name)).toEqual(['GET /openapi.json']);
  });

  it.each(guarded.map((route) => [name(route), route] as const))(
    '%s: 401 without a key',
    async (_, route) => {
      const answer = await call(route);
      expect(answer.status).toBe(401);
      expect(errorCode(answer)).toBe('UNAUTHENTICATED');
    },
  );

  it.each(guarded.map((route) => [name(route), route] as const))(
    '%s: 403 with a wrong or revoked key',
    async (_, route) => {
      for (const wrong of ['sc_not_a_key', revokedKey]) {
        const answer = await call(route, { headers: { 'x-api-key': wrong } });
        expect(answer.status).toBe(403);
        expect(errorCode(answer)).toBe('FORBIDDEN');
      }
    },
  );

  it.each(guarded.map((route) => [name(route), route] as const))(
    '%s: a valid key gets past the check',
    async (_, route) => {
      const answer = await call(route, {
        headers: { 'x-api-key': key },
        path: pathOf(route, 'no_such_connector'),
      });
      expect([401, 403]).not.toContain(answer.status);
    },
  );

  it('also takes a bearer token', async () => {
    const route = API_ROUTES.find((r) => r.method === 'GET' && r.path === '/connectors')!;
    expect((await call(route, { headers: { authorization: `Bearer ${key}` } })).status).toBe(200);
  });

  it('serves the OpenAPI document without a key', async () => {
    const route = API_ROUTES.find((r) => r.path === '/openapi.json')!;
    const answer = await call(route);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ openapi: '3.1.0' });
  });
});

describe('webhook routes take the connector token instead of a key', () => {
  const webhookRoutes = API_ROUTES.filter((r) => r.auth === 'webhook');

  it('has the intake among them', () => {
    expect(webhookRoutes.map(name)).toContain('POST /connectors/{ref}/webhook');
  });

  it.each(webhookRoutes.map((route) => [name(route), route] as const))(
    '%s: 403 with a wrong token, in the query or the header; the right one gets past the check',
    async (_, route) => {
      const inQuery = await call(route, { query: { token: 'wrong-token' } });
      expect(inQuery.status).toBe(403);
      expect(errorCode(inQuery)).toBe('FORBIDDEN');
      const inHeader = await call(route, { headers: { 'x-webhook-token': 'wrong-token' } });
      expect(inHeader.status).toBe(403);
      // Another connector's token is no token for this one.
      const elsewhere = await call(route, { query: { token }, path: pathOf(route, 'no_such_connector') });
      expect(elsewhere.status).toBe(403);
      const right = await call(route, { query: { token }, body: '{"ok":true}' });
      expect([401, 403]).not.toContain(right.status);
      const header = await call(route, { headers: { 'x-webhook-token': token }, body: '{"ok":true}' });
      expect([401, 403]).not.toContain(header.status);
    },
  );
});

type JsonSchema = Record<string, unknown>;

/** A query value the property refuses, or undefined when it takes any string. */
function badQueryValue(property: JsonSchema): string | undefined {
  if (Array.isArray(property.enum) || 'const' in property) return '__not_one_of_them__';
  if (property.type === 'integer' || property.type === 'number') return 'not-a-number';
  if (typeof property.minLength === 'number' && property.minLength > 0) return '';
  return undefined;
}

/** A JSON value of the wrong type for the property, or undefined when it takes anything. */
function badBodyValue(property: JsonSchema): unknown {
  const types = [property.type].flat();
  if (types.includes('string') || 'const' in property || Array.isArray(property.enum)) return 12345;
  if (types.some((t) => ['integer', 'number', 'boolean', 'array', 'object'].includes(String(t))))
    return 'wrong';
  return undefined;
}

function jsonSchemaOf(schema: z.ZodType): JsonSchema {
  return z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any', reused: 'inline' }) as JsonSchema;
}

describe('bad input is a 400 naming the JSON path', () => {
  const withQuery = API_ROUTES.filter((r) => r.query);
  const withBody = API_ROUTES.filter((r) => r.body);

  it.each(withQuery.map((route) => [name(route), route] as const))(
    '%s: a bad query field',
    async (_, route) => {
      const properties = Object.entries(
        (jsonSchemaOf(route.query!).properties ?? {}) as Record<string, JsonSchema>,
      );
      const bad = properties
        .map(([field, property]) => [field, badQueryValue(property)] as const)
        .find(([field, value]) => value !== undefined && field !== 'cursor');
      expect(bad, `${name(route)} has no query field a value can be wrong for`).toBeDefined();
      const [field, value] = bad!;
      const answer = await call(route, { headers: { 'x-api-key': key }, query: { [field]: value! } });
      expect(answer.status).toBe(400);
      const error = apiErrorSchema.parse(answer.body).error;
      expect(error.code).toBe('INVALID_REQUEST');
      expect(error.details?.map((d) => d.path)).toContain(`query.${field}`);
    },
  );

  it.each(withBody.map((route) => [name(route), route] as const))(
    '%s: a bad body field',
    async (_, route) => {
      const schema = jsonSchemaOf(route.body!);
      const properties = Object.entries((schema.properties ?? {}) as Record<string, JsonSchema>);
      const bad = properties
        .map(([field, property]) => [field, badBodyValue(property)] as const)
        .find(([, v]) => v !== undefined);
      const [path, body] = bad ? [`body.${bad[0]}`, { [bad[0]]: bad[1] }] : ['body', 12345];
      const answer = await call(route, { headers: { 'x-api-key': key }, body: JSON.stringify(body) });
      expect(answer.status).toBe(400);
      const error = apiErrorSchema.parse(answer.body).error;
      expect(error.details?.map((d) => d.path)).toContain(path);
      expect(error.message).toContain(path);

      const notJson = await call(route, { headers: { 'x-api-key': key }, body: '{oops' });
      expect(notJson.status).toBe(400);
      expect(errorCode(notJson)).toBe('INVALID_JSON');
    },
  );
});

describe('routing', () => {
  it('answers an unknown path with 404 and a known path with the wrong method with 405', async () => {
    const get = API_ROUTES.find((r) => r.path === '/connectors' && r.method === 'GET')!;
    const unknown = await call(get, { path: '/nowhere', headers: { 'x-api-key': key } });
    expect(unknown.status).toBe(404);
    expect(errorCode(unknown)).toBe('NOT_FOUND');
    const wrong = await handleApiRequest(deps, {
      method: 'PUT',
      path: '/connectors',
      query: {},
      headers: { 'x-api-key': key },
      body: Buffer.alloc(0),
    });
    expect(wrong.statusCode).toBe(405);
    expect(wrong.headers.allow!.split(', ').sort()).toEqual(['GET', 'POST']);
    expect(JSON.parse(String(wrong.body))).toMatchObject({ error: { code: 'METHOD_NOT_ALLOWED' } });
    const badPercent = await call(get, { path: '/connectors/%E0%A4%A', headers: { 'x-api-key': key } });
    expect(badPercent.status).toBe(400);
    expect(errorCode(badPercent)).toBe('INVALID_PATH');
  });
});
