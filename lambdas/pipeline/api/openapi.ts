import { z } from 'zod';
import { DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT } from './pagination.ts';
import { apiErrorSchema, type ApiRoute, type RouteAuth } from './http.ts';

/*
 * The OpenAPI 3.1 document of the HTTP API (SPEC §9), generated from the route declarations and their
 * zod schemas (`z.toJSONSchema`, JSON Schema 2020-12, which OpenAPI 3.1 uses as is). Schemas that carry
 * a `.meta({ id })` become components and are referenced. `GET /openapi.json` serves it; `npm run docs`
 * writes it to docs/openapi.json, and a test keeps that file fresh.
 */

type Json = Record<string, unknown>;

export const OPENAPI_VERSION = '3.1.0';

/** What each path parameter is, by name. */
const PATH_PARAMETERS: Record<string, string> = {
  ref: 'The connector id or api name.',
  id: 'The execution id (under /executions) or record id (under /objects).',
  apiName: 'The object api name.',
};

const SECURITY: Record<RouteAuth, Array<Record<string, string[]>>> = {
  key: [{ apiKey: [] }],
  none: [],
  webhook: [{ apiKey: [] }, { webhookToken: [] }, { webhookTokenHeader: [] }],
};

const ERROR_RESPONSES: Record<string, string> = {
  '400':
    'Bad input: `details` names the JSON path of each bad field (`body.settings.chunkSize`, `query.limit`).',
  '401': 'No API key: send one in `x-api-key`.',
  '403': 'The API key is unknown or revoked.',
  '404': 'No such connector, execution, object or record.',
};

/** Builds the document for `routes` (`API_ROUTES`); `serverUrl` adds a `servers` entry. */
export function openApiDocument(routes: readonly ApiRoute[], serverUrl?: string): Json {
  const components = new SchemaComponents();
  const errorRef = components.schema(apiErrorSchema);
  const paths: Record<string, Json> = {};
  const operationIds = new Set<string>();
  for (const route of routes) {
    const operationId = route.operationId ?? operationIdOf(route.summary);
    if (operationIds.has(operationId)) {
      throw new Error(`Two routes have the operationId "${operationId}"; give one an explicit operationId.`);
    }
    operationIds.add(operationId);
    (paths[route.path] ??= {})[route.method.toLowerCase()] = operation(
      route,
      operationId,
      components,
      errorRef,
    );
  }
  return {
    openapi: OPENAPI_VERSION,
    info: {
      title: 'SmartConnector API',
      version: '1',
      description:
        'Connectors, executions, uploads, webhooks, objects and records (SPEC §9). Every route but this ' +
        'document needs an API key in `x-api-key` (`sc keys create`); the webhook intake also takes the ' +
        "connector's webhook token. Lists take `?limit=&cursor=` " +
        `(default ${DEFAULT_PAGE_LIMIT}, at most ${MAX_PAGE_LIMIT}) and return \`{ items, nextCursor }\`. ` +
        'Errors are `{ error: { code, message, details } }`.',
    },
    ...(serverUrl ? { servers: [{ url: serverUrl }] } : {}),
    tags: [...new Set(routes.map((r) => r.tag))].map((name) => ({ name })),
    security: SECURITY.key,
    paths,
    components: {
      securitySchemes: {
        apiKey: {
          type: 'apiKey',
          in: 'header',
          name: 'x-api-key',
          description: 'A key from `sc keys create`.',
        },
        webhookToken: {
          type: 'apiKey',
          in: 'query',
          name: 'token',
          description:
            "The connector's webhook token (webhook intake only), for senders that cannot set headers.",
        },
        webhookTokenHeader: {
          type: 'apiKey',
          in: 'header',
          name: 'X-Webhook-Token',
          description: "The connector's webhook token (webhook intake only).",
        },
      },
      schemas: components.schemas,
    },
  };
}

function operation(route: ApiRoute, operationId: string, components: SchemaComponents, errorRef: Json): Json {
  const auth = route.auth ?? 'key';
  const pathNames = [...route.path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!);
  const parameters: Json[] = pathNames.map((name) => ({
    name,
    in: 'path',
    required: true,
    description: PATH_PARAMETERS[name] ?? name,
    schema: { type: 'string' },
  }));
  if (route.query) parameters.push(...queryParameters(components.schema(route.query)));

  const responses: Record<string, Json> = {};
  for (const [status, response] of Object.entries(route.responses ?? { 200: { description: 'OK.' } })) {
    const contentType = response.contentType ?? (response.schema ? 'application/json' : undefined);
    const schema = response.schema
      ? components.schema(response.schema)
      : Number(status) >= 400
        ? errorRef
        : contentType && contentType !== 'application/json'
          ? { type: 'string', format: 'binary' }
          : undefined;
    const type = contentType ?? (Number(status) >= 400 ? 'application/json' : undefined);
    responses[status] = {
      description: response.description,
      ...(type && schema ? { content: { [type]: { schema } } } : {}),
    };
  }
  const errors = [
    ...(route.query || route.body || route.rawBody ? ['400'] : []),
    ...(auth === 'none' ? [] : ['401', '403']),
    ...(pathNames.length > 0 ? ['404'] : []),
  ];
  for (const status of errors) {
    responses[status] ??= {
      description: ERROR_RESPONSES[status],
      content: { 'application/json': { schema: errorRef } },
    };
  }
  if (auth !== 'none') {
    responses.default = {
      description: 'Any other error, in the same shape.',
      content: { 'application/json': { schema: errorRef } },
    };
  }

  let requestBody: Json | undefined;
  if (route.body) {
    requestBody = {
      required: true,
      content: { 'application/json': { schema: components.schema(route.body) } },
    };
  } else if (route.rawBody) {
    requestBody = {
      required: true,
      description: route.rawBody.description,
      content: Object.fromEntries(
        Object.entries(route.rawBody.content).map(([type, { schema }]) => [
          type,
          schema ? { schema: components.schema(schema) } : {},
        ]),
      ),
    };
  }
  return {
    operationId,
    summary: route.summary,
    ...(route.description ? { description: route.description } : {}),
    tags: [route.tag],
    ...(auth === 'key' ? {} : { security: SECURITY[auth] }),
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(requestBody ? { requestBody } : {}),
    responses,
  };
}

/** One query parameter per property; a catch-all (`?<field>=<value>`) becomes a free-form object. */
function queryParameters(schema: Json): Json[] {
  const properties = (schema.properties ?? {}) as Record<string, Json>;
  const required = new Set((schema.required ?? []) as string[]);
  const parameters: Json[] = Object.entries(properties).map(([name, property]) => {
    const { description, ...rest } = property;
    return {
      name,
      in: 'query',
      required: required.has(name) && !('default' in rest),
      ...(description ? { description } : {}),
      schema: rest,
    };
  });
  if (schema.additionalProperties && typeof schema.additionalProperties === 'object') {
    parameters.push({
      name: 'filters',
      in: 'query',
      description: 'Any other `name=value` pair filters by a field of that api name.',
      style: 'form',
      explode: true,
      schema: { type: 'object', additionalProperties: schema.additionalProperties },
    });
  }
  return parameters;
}

/** `List a connector's executions` → `listConnectorExecutions`. */
export function operationIdOf(summary: string): string {
  const words = summary
    .replace(/'s\b/g, '')
    .split(/[^A-Za-z0-9]+/)
    .filter((w) => w !== '' && !['a', 'an', 'the', 'of'].includes(w.toLowerCase()));
  return words
    .map((w, i) => (i === 0 ? w.toLowerCase() : w[0]!.toUpperCase() + w.slice(1).toLowerCase()))
    .join('');
}

/**
 * JSON Schemas of zod schemas, the input side (what a client sends, and what it may rely on receiving),
 * with every `.meta({ id })` schema moved to `components.schemas` and referenced from there.
 */
class SchemaComponents {
  readonly schemas: Record<string, Json> = {};

  schema(schema: z.ZodType): Json {
    const converted = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Json;
    const text = JSON.stringify(converted).replaceAll('"#/$defs/', '"#/components/schemas/');
    const { $schema: _schema, $defs, ...rest } = JSON.parse(text) as Json;
    for (const [id, definition] of Object.entries(($defs ?? {}) as Record<string, Json>)) {
      this.schemas[id] ??= definition;
    }
    return rest;
  }
}
