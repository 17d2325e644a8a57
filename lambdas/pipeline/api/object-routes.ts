import { z } from 'zod';
import { DefinitionError } from '../../core/errors.ts';
import { matchKey } from '../../core/match-keys.ts';
import type { StoredRecord } from '../../core/model.ts';
import {
  FIELD_TYPES,
  objectDefinitionInputSchema,
  parseObjectDefinition,
  type ObjectDefinition,
} from '../../core/object-schema.ts';
import { ApiError, json, route, type ApiDeps, type ApiRoute, type ErrorDetail } from './http.ts';
import {
  pageByKey,
  pageFromStore,
  pageQuerySchema,
  pageSchema,
  type Page,
  type PageQuery,
} from './pagination.ts';

/*
 * Objects and their records (SPEC §9): put, list and get object definitions; list records (filtered
 * by field values) and get one, in the `sc records --json` shape.
 */

export const objectSchema = z
  .object({
    apiName: z.string(),
    name: z.string(),
    fields: z.array(
      z.object({
        apiName: z.string(),
        label: z.string(),
        type: z.enum(FIELD_TYPES),
        required: z.boolean(),
        options: z.array(z.string()),
        relatedObject: z.string().optional(),
      }),
    ),
  })
  .meta({ id: 'Object' });

export const recordSchema = z
  .object({
    id: z.string(),
    archived: z.boolean(),
    createdAt: z.string(),
    updatedAt: z.string(),
    fields: z
      .record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.array(z.string())]))
      .meta({ description: 'Values by field api name; unset fields are absent.' }),
  })
  .meta({ id: 'Record' });

/** The `sc records --json` and API shape of a record: unset fields are absent. */
export function recordView(record: StoredRecord): z.output<typeof recordSchema> {
  return {
    id: record.id,
    archived: record.archived,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
    fields: record.fields,
  };
}

async function objectOf(deps: ApiDeps, apiName: string): Promise<ObjectDefinition> {
  const object = await deps.ports.connectors.getObject(apiName);
  if (!object) {
    const known = (await deps.ports.connectors.listObjects()).map((o) => o.apiName).join(', ') || '(none)';
    throw new ApiError(404, 'OBJECT_NOT_FOUND', `No object "${apiName}". Known objects: ${known}.`);
  }
  return object;
}

/** Query keys that page rather than filter. */
const PAGE_KEYS = new Set(Object.keys(pageQuerySchema.shape));

/**
 * A page of the object's records, oldest first. Unfiltered, the store pages them; filtered, the match
 * index gives the (few) records that match, which are read whole and cut, under cursors of the same list.
 */
async function pageRecords(
  deps: ApiDeps,
  object: ObjectDefinition,
  filters: Array<[string, string]>,
  query: PageQuery,
): Promise<Page<StoredRecord>> {
  const list = `records:${object.apiName}`;
  if (filters.length === 0) {
    return pageFromStore(query, list, (request) => deps.ports.records.page(object.apiName, request));
  }
  return pageByKey(await filteredRecords(deps, object, filters), query, {
    name: list,
    keyOf: (r) => `${r.createdAt}#${r.id}`,
    order: 'asc',
  });
}

/**
 * The records matching every `field=value` filter (at least one). Values compare as matching compares
 * them (text trimmed and case-insensitive, numbers numerically, phones as E.164), through the match
 * index: the first filter on a field indexes it, as the first matching rule on it does.
 */
async function filteredRecords(
  deps: ApiDeps,
  object: ObjectDefinition,
  filters: Array<[string, string]>,
): Promise<StoredRecord[]> {
  const { records } = deps.ports;
  const details: ErrorDetail[] = [];
  const lookups: Array<{ field: string; key: string | null }> = [];
  for (const [name, value] of filters) {
    const field = object.fields.find((f) => f.apiName === name);
    if (!field) {
      const fields = object.fields.map((f) => f.apiName).join(', ');
      details.push({
        path: `query.${name}`,
        message: `no field "${name}" on ${object.apiName}; its fields are ${fields}`,
      });
    } else {
      lookups.push({ field: field.apiName, key: matchKey(field, value) });
    }
  }
  if (details.length > 0) {
    throw new ApiError(
      400,
      'INVALID_REQUEST',
      details.map((d) => `${d.path}: ${d.message}`).join('; '),
      details,
    );
  }
  // A blank value matches nothing, as in matching.
  if (lookups.some((l) => l.key === null)) return [];
  await records.ensureIndexed(object, [...new Set(lookups.map((l) => l.field))]);
  let ids: string[] | null = null;
  for (const { field, key } of lookups) {
    const found = new Set((await records.findIdsByKeys(object.apiName, field, [key!])).get(key!) ?? []);
    ids = ids === null ? [...found] : ids.filter((id) => found.has(id));
  }
  return [...(await records.getMany(object.apiName, ids ?? [])).values()];
}

export const OBJECT_ROUTES: ApiRoute[] = [
  route({
    method: 'PUT',
    path: '/objects/{apiName}',
    summary: 'Create or replace an object',
    description:
      'The body is an object definition (`objects/<apiName>.json`). Fields may be a list or a map keyed by ' +
      'api name; a required text field `name` is added when absent. 201 when the object is new.',
    tag: 'objects',
    body: objectDefinitionInputSchema,
    responses: {
      200: { description: 'Replaced.', schema: objectSchema },
      201: { description: 'Created.', schema: objectSchema },
    },
    handle: async (deps, { params, body }) => {
      const apiName = params.apiName!;
      if (body.apiName !== undefined && body.apiName !== apiName) {
        throw new ApiError(
          400,
          'INVALID_REQUEST',
          `The body names object "${body.apiName}", the path "${apiName}".`,
          [{ path: 'body.apiName', message: `must be "${apiName}" (the path) or absent` }],
        );
      }
      let object: ObjectDefinition;
      try {
        object = parseObjectDefinition({ ...body, apiName }, `object ${apiName}`);
      } catch (error) {
        if (!(error instanceof DefinitionError)) throw error;
        const details = error.issues.map((i) => ({
          path: i.path ? `body.${i.path}` : 'body',
          message: i.message,
        }));
        throw new ApiError(400, 'INVALID_DEFINITION', error.message, details);
      }
      const existed = (await deps.ports.connectors.getObject(apiName)) !== null;
      await deps.ports.connectors.putObject(object);
      return json(existed ? 200 : 201, object);
    },
  }),
  route({
    method: 'GET',
    path: '/objects',
    summary: 'List objects',
    description: 'By api name.',
    tag: 'objects',
    query: pageQuerySchema,
    responses: { 200: { description: 'A page of objects.', schema: pageSchema(objectSchema) } },
    handle: async (deps, { query }) =>
      json(
        200,
        pageByKey(await deps.ports.connectors.listObjects(), query, {
          name: 'objects',
          keyOf: (o) => o.apiName,
          order: 'asc',
        }),
      ),
  }),
  route({
    method: 'GET',
    path: '/objects/{apiName}',
    summary: 'Get an object',
    tag: 'objects',
    responses: { 200: { description: 'The object.', schema: objectSchema } },
    handle: async (deps, { params }) => json(200, await objectOf(deps, params.apiName!)),
  }),
  route({
    method: 'GET',
    path: '/objects/{apiName}/records',
    summary: "List an object's records",
    description:
      'Oldest first, archived records included. Filter with `?<field api name>=<value>` (several filters ' +
      'must all hold); values compare as matching compares them: text trimmed and case-insensitively, ' +
      'numbers numerically, phones as E.164.',
    tag: 'objects',
    query: pageQuerySchema.catchall(z.string()),
    responses: { 200: { description: 'A page of records.', schema: pageSchema(recordSchema) } },
    handle: async (deps, { params, query }) => {
      const object = await objectOf(deps, params.apiName!);
      const filters = Object.entries(query).filter(
        (entry): entry is [string, string] => !PAGE_KEYS.has(entry[0]) && typeof entry[1] === 'string',
      );
      const page = await pageRecords(deps, object, filters, query);
      return json(200, { items: page.items.map(recordView), nextCursor: page.nextCursor });
    },
  }),
  route({
    method: 'GET',
    path: '/objects/{apiName}/records/{id}',
    summary: 'Get a record',
    tag: 'objects',
    responses: { 200: { description: 'The record.', schema: recordSchema } },
    handle: async (deps, { params }) => {
      const object = await objectOf(deps, params.apiName!);
      const record = (await deps.ports.records.getMany(object.apiName, [params.id!])).get(params.id!);
      if (!record) throw new ApiError(404, 'RECORD_NOT_FOUND', `No ${object.apiName} record ${params.id}.`);
      return json(200, recordView(record));
    },
  }),
];
