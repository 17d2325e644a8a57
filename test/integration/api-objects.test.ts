import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { createApiKey, handleApiRequest, type ApiDeps } from '../../lambdas/pipeline/api.ts';
import { apiErrorSchema } from '../../lambdas/pipeline/api/http.ts';
import { objectSchema, recordSchema } from '../../lambdas/pipeline/api/object-routes.ts';
import { encodeCursor, pageSchema } from '../../lambdas/pipeline/api/pagination.ts';
import { openPipelineWorkspace, storedRecord, type PipelineWorkspace } from '../helpers/pipeline.ts';

/*
 * Objects and records through the API's request function on the local runtime: put (create, replace,
 * bad bodies with their JSON paths), list and get objects; list records in pages, filtered by field
 * values compared as matching compares them; get one record.
 */

let ws: PipelineWorkspace;
let deps: ApiDeps;
let key: string;

beforeAll(async () => {
  ws = await openPipelineWorkspace([
    {
      apiName: 'ao_fruit',
      name: 'Fruit',
      fields: [
        { name: 'name', type: 'text' },
        { name: 'qty', type: 'integer' },
        { name: 'phone', type: 'phone' },
      ],
    },
  ]);
  deps = { ports: ws.ports, apiKeys: ws.runtime.apiKeys };
  key = (await createApiKey(ws.runtime.apiKeys, 'object tests', new Date())).key;
  await ws.writeRecords('ao_fruit', [
    storedRecord(
      'ao_fruit',
      'r1',
      { name: 'Apple', qty: 1, phone: '+14155550100' },
      { at: '2024-01-01T00:00:01.000Z' },
    ),
    storedRecord('ao_fruit', 'r2', { name: 'Pear', qty: 2 }, { at: '2024-01-01T00:00:02.000Z' }),
    storedRecord(
      'ao_fruit',
      'r3',
      { name: 'apple ', qty: 3 },
      { at: '2024-01-01T00:00:03.000Z', archived: true },
    ),
    storedRecord('ao_fruit', 'r4', { name: 'Fig', qty: 1 }, { at: '2024-01-01T00:00:04.000Z' }),
    storedRecord('ao_fruit', 'r5', { name: 'Plum' }, { at: '2024-01-01T00:00:05.000Z' }),
  ]);
});
afterAll(async () => {
  await ws?.close();
});

interface Answer {
  status: number;
  body: unknown;
}

async function call(method: string, path: string, body?: unknown): Promise<Answer> {
  const [pathname, search] = path.split('?');
  const response = await handleApiRequest(deps, {
    method,
    path: pathname!,
    query: Object.fromEntries(new URLSearchParams(search ?? '')),
    headers: { 'x-api-key': key },
    body: Buffer.from(body === undefined ? '' : JSON.stringify(body)),
  });
  return { status: response.statusCode, body: JSON.parse(String(response.body)) };
}

function as<T extends z.ZodType>(answer: Answer, status: number, schema: T): z.output<T> {
  expect(answer.status, JSON.stringify(answer.body)).toBe(status);
  return schema.parse(answer.body);
}

const errorOf = (answer: Answer, status: number) => as(answer, status, apiErrorSchema).error;
const pathsOf = (error: { details?: Array<{ path: string }> | undefined }) =>
  (error.details ?? []).map((d) => d.path);
const recordPage = pageSchema(recordSchema);
const ids = async (query: string) =>
  as(await call('GET', `/objects/ao_fruit/records${query}`), 200, recordPage).items.map((r) => r.id);

describe('objects', () => {
  it('creates an object with PUT (201), replaces it (200), and reads it back', async () => {
    const created = as(
      await call('PUT', '/objects/ao_crates', {
        name: 'Crates',
        fields: {
          size: { type: 'dropdown', options: ['S', 'L'] },
          fruit: { type: 'relationship', relatedObject: 'ao_fruit' },
        },
      }),
      201,
      objectSchema,
    );
    expect(created).toEqual({
      apiName: 'ao_crates',
      name: 'Crates',
      fields: [
        { apiName: 'name', label: 'Name', type: 'text', required: true, options: [] },
        { apiName: 'size', label: 'size', type: 'dropdown', required: false, options: ['S', 'L'] },
        {
          apiName: 'fruit',
          label: 'fruit',
          type: 'relationship',
          required: false,
          options: [],
          relatedObject: 'ao_fruit',
        },
      ],
    });
    const replaced = as(
      await call('PUT', '/objects/ao_crates', {
        apiName: 'ao_crates',
        name: 'Boxes',
        fields: [{ name: 'size', type: 'text' }],
      }),
      200,
      objectSchema,
    );
    expect(replaced.name).toBe('Boxes');
    expect(as(await call('GET', '/objects/ao_crates'), 200, objectSchema)).toEqual(replaced);
    expect(await ws.ports.connectors.getObject('ao_crates')).toEqual(replaced);
  });

  it('answers a bad object with 400 naming the JSON path of each bad field', async () => {
    const type = errorOf(
      await call('PUT', '/objects/ao_bad', { name: 'Bad', fields: [{ name: 'x', type: 'colour' }] }),
      400,
    );
    expect(type.code).toBe('INVALID_REQUEST');
    expect(pathsOf(type)).toEqual(['body.fields[0].type']);
    const options = errorOf(
      await call('PUT', '/objects/ao_bad', { name: 'Bad', fields: [{ name: 'x', type: 'radio' }] }),
      400,
    );
    expect(options.code).toBe('INVALID_DEFINITION');
    expect(pathsOf(options)).toEqual(['body.fields[0].options']);
    const moved = errorOf(
      await call('PUT', '/objects/ao_bad', { apiName: 'ao_other', name: 'Bad', fields: [] }),
      400,
    );
    expect(pathsOf(moved)).toEqual(['body.apiName']);
    expect(await ws.ports.connectors.getObject('ao_bad')).toBeNull();
  });

  it('lists objects in pages by api name; an unknown object is 404', async () => {
    const page = pageSchema(objectSchema);
    const first = as(await call('GET', '/objects?limit=1'), 200, page);
    expect(first.items.map((o) => o.apiName)).toEqual(['ao_crates']);
    const second = as(await call('GET', `/objects?limit=1&cursor=${first.nextCursor}`), 200, page);
    expect(second).toEqual({ items: [expect.objectContaining({ apiName: 'ao_fruit' })], nextCursor: null });
    const unknown = errorOf(await call('GET', '/objects/ao_nope'), 404);
    expect(unknown.code).toBe('OBJECT_NOT_FOUND');
    expect(unknown.message).toContain('ao_fruit');
  });
});

describe('records', () => {
  it('lists every record oldest first, archived ones too, in pages', async () => {
    expect(await ids('')).toEqual(['r1', 'r2', 'r3', 'r4', 'r5']);
    const first = as(await call('GET', '/objects/ao_fruit/records?limit=2'), 200, recordPage);
    expect(first.items.map((r) => r.id)).toEqual(['r1', 'r2']);
    const second = as(
      await call('GET', `/objects/ao_fruit/records?limit=2&cursor=${first.nextCursor}`),
      200,
      recordPage,
    );
    expect(second.items.map((r) => r.id)).toEqual(['r3', 'r4']);
    const third = as(
      await call('GET', `/objects/ao_fruit/records?limit=2&cursor=${second.nextCursor}`),
      200,
      recordPage,
    );
    expect(third).toEqual({ items: [expect.objectContaining({ id: 'r5' })], nextCursor: null });
  });

  it('answers a forged cursor with 400 INVALID_CURSOR, and a well-formed position with its page', async () => {
    const list = 'records:ao_fruit';
    const forged = [
      'garbage',
      encodeCursor('records:ao_crates', '2024-01-01T00:00:02.000Z#r2'),
      encodeCursor(list, 7),
      encodeCursor(list, ''),
      encodeCursor(list, 'x'.repeat(257)),
      encodeCursor(list, '\udc00'),
    ];
    for (const cursor of forged) {
      const error = errorOf(
        await call('GET', `/objects/ao_fruit/records?cursor=${encodeURIComponent(cursor)}`),
        400,
      );
      expect(error.code, cursor).toBe('INVALID_CURSOR');
      expect(pathsOf(error)).toEqual(['query.cursor']);
    }
    // A position between records starts after it: r3 and on.
    const between = encodeCursor(list, '2024-01-01T00:00:02.500Z');
    expect(await ids(`?cursor=${between}`)).toEqual(['r3', 'r4', 'r5']);
    // A cursor of the unfiltered list carries on a filtered one: the same list, the same order.
    const first = as(await call('GET', '/objects/ao_fruit/records?limit=1'), 200, recordPage);
    expect(await ids(`?name=apple&cursor=${first.nextCursor}`)).toEqual(['r3']);
  });

  it('filters by field values as matching compares them', async () => {
    expect(await ids('?name=APPLE')).toEqual(['r1', 'r3']);
    expect(await ids('?qty=1.0')).toEqual(['r1', 'r4']);
    expect(await ids('?name=apple&qty=3')).toEqual(['r3']);
    expect(await ids('?phone=%2B1%20415%20555%200100')).toEqual(['r1']);
    expect(await ids('?name=Quince')).toEqual([]);
    expect(await ids('?name=')).toEqual([]);
    expect(await ids('?name=apple&limit=1')).toEqual(['r1']);
  });

  it('answers an unknown field or a bad limit with 400 naming the query field', async () => {
    const unknown = errorOf(await call('GET', '/objects/ao_fruit/records?colour=red'), 400);
    expect(pathsOf(unknown)).toEqual(['query.colour']);
    expect(unknown.message).toContain('name, qty, phone');
    expect(pathsOf(errorOf(await call('GET', '/objects/ao_fruit/records?limit=-1'), 400))).toEqual([
      'query.limit',
    ]);
    expect(errorOf(await call('GET', '/objects/ao_nope/records'), 404).code).toBe('OBJECT_NOT_FOUND');
  });

  it('gets one record in the sc records --json shape', async () => {
    expect(as(await call('GET', '/objects/ao_fruit/records/r3'), 200, recordSchema.strict())).toEqual({
      id: 'r3',
      archived: true,
      createdAt: '2024-01-01T00:00:03.000Z',
      updatedAt: '2024-01-01T00:00:03.000Z',
      fields: { name: 'apple ', qty: 3 },
    });
    expect(errorOf(await call('GET', '/objects/ao_fruit/records/r9'), 404).code).toBe('RECORD_NOT_FOUND');
  });
});
