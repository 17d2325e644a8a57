import { z } from 'zod';
import {
  CONNECTOR_TYPES,
  connectorDefinitionSchema,
  type ConnectorDefinition,
  type ConnectorDefinitionInput,
} from '../../core/connector-schema.ts';
import { activationIssues } from '../../core/definition-checks.ts';
import { DefinitionError } from '../../core/errors.ts';
import { CONNECTOR_STATUSES } from '../../core/model.ts';
import type { ConnectorRecord } from '../../ports/connector-store.ts';
import {
  createConnector,
  deleteConnector,
  saveConnectorVersion,
  type ConnectorDraft,
} from '../connectors.ts';
import { setConnectorActive } from '../control.ts';
import { connectorDocument } from '../transfer.ts';
import {
  ApiError,
  json,
  route,
  validateInput,
  type ApiDeps,
  type ApiResponse,
  type ApiRoute,
  type ErrorDetail,
} from './http.ts';
import { pageByKey, pageQuerySchema, pageSchema } from './pagination.ts';

/*
 * Connectors (SPEC §9): create, list, get, update with a JSON merge patch, delete, activate, deactivate.
 * Bodies are connector definitions in their document form (`connector.json` with the SQL inline); every
 * save goes through `pipeline/connectors.ts`, as the workspace apply does.
 */

/** The connector named by `{ref}` (id or api name), else 404. */
export async function connectorOf(deps: ApiDeps, ref: string): Promise<ConnectorRecord> {
  const connector = await deps.ports.connectors.getConnector(ref);
  if (!connector) throw new ApiError(404, 'CONNECTOR_NOT_FOUND', `No connector "${ref}".`);
  return connector;
}

/** A connector definition as the API takes it: `connector.json` with the SQL inline, never a file. */
export const connectorBodySchema = connectorDefinitionSchema
  .extend({
    sql: z.strictObject({ script: z.string() }).optional().meta({
      description: 'The SQL script, inline: `{ "script": "…" }`. Optional for spreadsheet connectors.',
    }),
  })
  .meta({
    id: 'ConnectorDefinition',
    description: 'A connector definition (docs/connector-format.md) with its SQL inline.',
  });

/** The definition the lifecycle functions take, from a validated body. */
function draftOf(body: z.output<typeof connectorBodySchema>): ConnectorDraft {
  const { sql, ...rest } = body;
  return { ...rest, sql: sql?.script ?? null };
}

const connectorSummarySchema = z
  .object({
    id: z.string(),
    apiName: z.string(),
    name: z.string(),
    type: z.enum(CONNECTOR_TYPES),
    status: z.enum(CONNECTOR_STATUSES),
    version: z.number().int().meta({ description: 'The current version, from 1.' }),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: 'ConnectorSummary' });

export const connectorSchema = connectorSummarySchema
  .extend({
    definition: connectorBodySchema,
    withheld: z.array(z.string()).meta({
      description:
        'Paths of settings left out of `definition` because they hold secrets (`settings.webhookSecret`). ' +
        'They are kept; a PATCH that does not name them leaves them as they are.',
    }),
    webhook: z
      .object({
        url: z.string().meta({ description: 'Where third parties POST (SPEC §8).' }),
        token: z
          .string()
          .meta({ description: 'Send as `?token=` or `X-Webhook-Token` instead of an API key.' }),
      })
      .optional()
      .meta({ description: 'Webhook connectors only.' }),
  })
  .meta({ id: 'Connector' });

type ConnectorSummaryView = z.input<typeof connectorSummarySchema>;
type ConnectorView = Omit<z.input<typeof connectorSchema>, 'definition'> & {
  definition: ConnectorDefinitionInput;
};

async function currentDefinition(deps: ApiDeps, connector: ConnectorRecord): Promise<ConnectorDefinition> {
  const version = await deps.ports.connectors.getVersion(connector.id, connector.version);
  if (!version) {
    throw new ApiError(
      500,
      'VERSION_MISSING',
      `Version ${connector.version} of connector "${connector.apiName}" is missing; save the connector again.`,
    );
  }
  return version.definition;
}

function summaryOf(connector: ConnectorRecord, definition: ConnectorDefinition): ConnectorSummaryView {
  const { id, apiName, name, status, version, createdAt, updatedAt } = connector;
  return { id, apiName, name, type: definition.type, status, version, createdAt, updatedAt };
}

/** `GET /connectors/{ref}`: the summary, the definition, and a webhook connector's intake URL and token. */
export async function connectorView(
  deps: ApiDeps,
  connector: ConnectorRecord,
  definition?: ConnectorDefinition,
): Promise<ConnectorView> {
  const current = definition ?? (await currentDefinition(deps, connector));
  const { document, withheld } = connectorDocument(current, { inline: true });
  const view: ConnectorView = { ...summaryOf(connector, current), definition: document, withheld };
  if (current.type === 'webhook' && connector.webhookToken !== undefined) {
    const path = `/connectors/${encodeURIComponent(connector.apiName)}/webhook`;
    view.webhook = { url: `${deps.baseUrl ?? ''}${path}`, token: connector.webhookToken };
  }
  return view;
}

/**
 * RFC 7396: members of the patch replace the target's, `null` removes one, objects merge recursively,
 * anything else (arrays included) replaces the whole value.
 */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) return patch;
  const result: Record<string, unknown> = isPlainObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = applyMergePatch(result[key], value);
  }
  return result;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A definition that fails the checks against objects: a 400 naming each bad field under `body.`. */
function asBodyError(error: unknown): unknown {
  if (!(error instanceof DefinitionError)) return error;
  const details: ErrorDetail[] = error.issues.map((issue) => ({
    path: issue.path === '' ? 'body' : `body.${issue.path}`,
    message: issue.message,
  }));
  return new ApiError(400, 'INVALID_DEFINITION', error.message, details);
}

const connectorResponse = { description: 'The connector.', schema: connectorSchema };

export const CONNECTOR_ROUTES: ApiRoute[] = [
  route({
    method: 'POST',
    path: '/connectors',
    summary: 'Create a connector',
    description:
      'The body is a connector definition with its SQL inline. The api name is derived from the name when ' +
      'absent (409 `CONFLICT` when a given one is taken). The connector starts in `setup`.',
    tag: 'connectors',
    body: connectorBodySchema,
    responses: {
      201: { description: 'Created.', schema: connectorSchema },
      409: { description: 'The api name is taken.' },
    },
    handle: async (deps, { body }) => {
      const saved = await createConnector(deps.ports, draftOf(body)).catch((error: unknown) => {
        throw asBodyError(error);
      });
      return json(201, await connectorView(deps, saved.connector, saved.version.definition));
    },
  }),
  route({
    method: 'GET',
    path: '/connectors',
    summary: 'List connectors',
    description: 'By api name. Filter with `?status=` and `?type=`.',
    tag: 'connectors',
    query: pageQuerySchema.extend({
      status: z.enum(CONNECTOR_STATUSES).optional(),
      type: z.enum(CONNECTOR_TYPES).optional(),
    }),
    responses: { 200: { description: 'A page of connectors.', schema: pageSchema(connectorSummarySchema) } },
    handle: async (deps, { query }) => {
      let connectors = (await deps.ports.connectors.listConnectors()).filter(
        (c) => query.status === undefined || c.status === query.status,
      );
      if (query.type !== undefined) {
        // The type lives in the definition, so filtering by it reads every current version.
        const typed = await Promise.all(
          connectors.map(async (c) => ({ c, type: (await currentDefinition(deps, c)).type })),
        );
        connectors = typed.filter(({ type }) => type === query.type).map(({ c }) => c);
      }
      const page = pageByKey(connectors, query, {
        name: 'connectors',
        keyOf: (c) => c.apiName,
        order: 'asc',
      });
      const items = await Promise.all(
        page.items.map(async (c) => summaryOf(c, await currentDefinition(deps, c))),
      );
      return json(200, { items, nextCursor: page.nextCursor });
    },
  }),
  route({
    method: 'GET',
    path: '/connectors/{ref}',
    summary: 'Get a connector',
    tag: 'connectors',
    responses: { 200: connectorResponse },
    handle: async (deps, { params }) =>
      json(200, await connectorView(deps, await connectorOf(deps, params.ref!))),
  }),
  route({
    method: 'PATCH',
    path: '/connectors/{ref}',
    summary: 'Update a connector',
    description:
      'A JSON merge patch (RFC 7396) on the definition as `GET` shows it: members replace, `null` removes, ' +
      'lists are replaced whole. A change makes a new immutable version; running executions keep theirs. ' +
      'The api name cannot change.',
    tag: 'connectors',
    body: z.record(z.string(), z.unknown()).meta({
      description:
        'A JSON merge patch of the connector definition, e.g. `{ "settings": { "chunkSize": 500 } }`.',
    }),
    responses: { 200: connectorResponse },
    handle: async (deps, { params, body }) => {
      const connector = await connectorOf(deps, params.ref!);
      const { document } = connectorDocument(
        await currentDefinition(deps, connector),
        { inline: true },
        { keepSecrets: true },
      );
      const patched = applyMergePatch(document, body);
      const definition = validateInput(connectorBodySchema, patched, 'body');
      const saved = await saveConnectorVersion(deps.ports, connector.id, draftOf(definition)).catch(
        (error: unknown) => {
          throw asBodyError(error);
        },
      );
      return json(200, await connectorView(deps, saved.connector, saved.version.definition));
    },
  }),
  route({
    method: 'DELETE',
    path: '/connectors/{ref}',
    summary: 'Delete a connector',
    description:
      'Deletes the connector, its versions and its stored webhook calls (pending and samples); its ended ' +
      'executions stay readable. Refused with 409 while ' +
      'any of its executions is queued or running: cancel them first.',
    tag: 'connectors',
    responses: {
      204: { description: 'Deleted.' },
      409: { description: 'An execution of the connector is queued or running.' },
    },
    handle: async (deps, { params }): Promise<ApiResponse> => {
      const connector = await connectorOf(deps, params.ref!);
      await deleteConnector(deps.ports, connector.id);
      return { statusCode: 204, headers: {}, body: '' };
    },
  }),
  route({
    method: 'POST',
    path: '/connectors/{ref}/activate',
    summary: 'Activate a connector',
    description:
      'Runs the activation checks (SPEC §7); when one fails the answer is 422 with each failed check and ' +
      'the status is unchanged. Activation starts live runs that waited in the queue.',
    tag: 'connectors',
    responses: {
      200: connectorResponse,
      422: { description: 'An activation check failed; `details` lists each.' },
    },
    handle: async (deps, { params }) => {
      const connector = await connectorOf(deps, params.ref!);
      const definition = await currentDefinition(deps, connector);
      const objects = new Map((await deps.ports.connectors.listObjects()).map((o) => [o.apiName, o]));
      const issues = activationIssues(definition, objects);
      if (issues.length > 0) {
        const failed = new DefinitionError(`Connector "${connector.apiName}"`, issues, 'cannot be activated');
        throw new ApiError(422, 'ACTIVATION_FAILED', failed.message, issues);
      }
      return json(200, await connectorView(deps, await setConnectorActive(deps.ports, connector.id, true)));
    },
  }),
  route({
    method: 'POST',
    path: '/connectors/{ref}/deactivate',
    summary: 'Deactivate a connector',
    description: 'Status `inactive`: new live runs wait in the queue; running ones are not stopped.',
    tag: 'connectors',
    responses: { 200: connectorResponse },
    handle: async (deps, { params }) => {
      const connector = await connectorOf(deps, params.ref!);
      return json(200, await connectorView(deps, await setConnectorActive(deps.ports, connector.id, false)));
    },
  }),
];
