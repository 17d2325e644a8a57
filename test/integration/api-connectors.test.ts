import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { ConnectorDefinitionInput } from '../../lambdas/core/connector-schema.ts';
import { createApiKey, handleApiRequest, type ApiDeps } from '../../lambdas/pipeline/api.ts';
import { connectorSchema } from '../../lambdas/pipeline/api/connector-routes.ts';
import { executionSchema } from '../../lambdas/pipeline/api/execution-routes.ts';
import { apiErrorSchema } from '../../lambdas/pipeline/api/http.ts';
import { pageSchema } from '../../lambdas/pipeline/api/pagination.ts';
import { deleteConnector, saveConnectorVersion } from '../../lambdas/pipeline/connectors.ts';
import { csv, itemsConnector, openPipelineWorkspace, type PipelineWorkspace } from '../helpers/pipeline.ts';

/*
 * The connector routes through the API's request function (as the API Lambda and `sc serve` call it) on
 * the local runtime, and the lifecycle functions behind them (pipeline/connectors.ts): create with a
 * derived or given api name, list with filters and pages, get (webhook URL and token), merge-patch
 * updates and versions, activation (422 with each failed check), delete (409 while a run is queued).
 */

let ws: PipelineWorkspace;
let deps: ApiDeps;
let key: string;

const SQL = 'CREATE TABLE output.default ENGINE = Memory AS SELECT * FROM input.page_idx_0';

beforeAll(async () => {
  ws = await openPipelineWorkspace([
    {
      apiName: 'ac_items',
      name: 'Items',
      fields: [
        { name: 'name', type: 'text' },
        { name: 'qty', type: 'integer' },
      ],
    },
  ]);
  deps = { ports: ws.ports, apiKeys: ws.runtime.apiKeys, baseUrl: 'https://api.example.test' };
  key = (await createApiKey(ws.runtime.apiKeys, 'tests', new Date())).key;
});
afterAll(async () => {
  await ws?.close();
});

interface Answer {
  status: number;
  body: unknown;
  headers: Record<string, string>;
}

async function call(method: string, path: string, body?: unknown): Promise<Answer> {
  const [pathname, search] = path.split('?');
  const response = await handleApiRequest(deps, {
    method,
    path: pathname!,
    query: Object.fromEntries(new URLSearchParams(search ?? '')),
    headers: { 'x-api-key': key, 'content-type': 'application/json' },
    body: Buffer.from(body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body)),
  });
  const text = Buffer.isBuffer(response.body) ? response.body.toString('utf8') : response.body;
  return {
    status: response.statusCode,
    body: text === '' ? null : JSON.parse(text),
    headers: response.headers,
  };
}

/** The answer's body, checked against the schema the OpenAPI document gives for it. */
function as<T extends z.ZodType>(answer: Answer, status: number, schema: T): z.output<T> {
  expect(answer.status, JSON.stringify(answer.body)).toBe(status);
  return schema.parse(answer.body);
}

function errorOf(answer: Answer, status: number) {
  return as(answer, status, apiErrorSchema).error;
}

const pathsOf = (error: { details?: Array<{ path: string }> | undefined }) =>
  (error.details ?? []).map((d) => d.path);
const connectorPage = pageSchema(
  connectorSchema.pick({ id: true, apiName: true, name: true, type: true, status: true, version: true }),
);

const items = (name: string, settings: ConnectorDefinitionInput['settings'] = {}) =>
  itemsConnector(name, ['ac_items'], settings);

describe('POST /connectors', () => {
  it('creates a connector in setup with a derived api name, made unique', async () => {
    const first = as(
      await call('POST', '/connectors', { ...items('Stock Import'), sql: { script: SQL } }),
      201,
      connectorSchema,
    );
    expect(first).toMatchObject({
      apiName: 'stock_import',
      name: 'Stock Import',
      type: 'spreadsheet',
      status: 'setup',
      version: 1,
      definition: { name: 'Stock Import', apiName: 'stock_import', sql: { script: SQL } },
      withheld: [],
    });
    expect(first.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(first.webhook).toBeUndefined();

    const second = as(await call('POST', '/connectors', items('Stock import!')), 201, connectorSchema);
    expect(second.apiName).toBe('stock_import_2');
    expect(second.definition.sql).toBeUndefined();
  });

  it('refuses a taken api name with 409, and a definition that names an unknown object with 400 and its path', async () => {
    const taken = errorOf(
      await call('POST', '/connectors', { ...items('Other'), apiName: 'stock_import' }),
      409,
    );
    expect(taken.code).toBe('CONFLICT');
    expect(taken.message).toContain('stock_import');

    const unknown = errorOf(await call('POST', '/connectors', itemsConnector('Ghosts', ['ac_ghosts'])), 400);
    expect(unknown.code).toBe('INVALID_DEFINITION');
    expect(pathsOf(unknown)).toContain('body.loadSteps[0].object');
    expect((await call('GET', '/connectors/ghosts')).status).toBe(404);
  });

  it('answers a schema error with 400 naming the JSON path, and a SQL file with a pointer to inline SQL', async () => {
    const bad = errorOf(await call('POST', '/connectors', items('Bad', { chunkSize: 0 })), 400);
    expect(bad.code).toBe('INVALID_REQUEST');
    expect(pathsOf(bad)).toContain('body.settings.chunkSize');

    const file = errorOf(
      await call('POST', '/connectors', { ...items('Filed'), sql: { file: 'connector.sql' } }),
      400,
    );
    expect(pathsOf(file)).toContain('body.sql');

    expect(errorOf(await call('POST', '/connectors', '{"name": '), 400).code).toBe('INVALID_JSON');
  });

  it('gives a webhook connector its intake URL and token, and withholds its secret setting', async () => {
    as(
      await call('POST', '/connectors', {
        ...items('Hook intake'),
        type: 'webhook',
        sql: { script: 'CREATE TABLE output.default ENGINE = Memory AS SELECT 1 AS name' },
        settings: { webhookSecret: 'not-for-display' },
      }),
      201,
      connectorSchema,
    );
    const got = as(await call('GET', '/connectors/hook_intake'), 200, connectorSchema);
    expect(got.webhook).toEqual({
      url: 'https://api.example.test/connectors/hook_intake/webhook',
      token: expect.stringMatching(/^[A-Za-z0-9_-]{32}$/),
    });
    expect(got.webhook!.token).toBe((await ws.ports.connectors.getConnector('hook_intake'))!.webhookToken);
    expect(got.definition.settings.webhookSecret).toBeUndefined();
    expect(got.withheld).toEqual(['settings.webhookSecret']);
  });
});

describe('GET /connectors', () => {
  it('pages through every connector by api name, and filters by status and type', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: z.output<typeof connectorPage> = as(
        await call('GET', `/connectors?limit=2${cursor ? `&cursor=${cursor}` : ''}`),
        200,
        connectorPage,
      );
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items.map((c) => c.apiName));
      cursor = page.nextCursor;
      pages++;
    } while (cursor);
    const all = (await ws.ports.connectors.listConnectors()).map((c) => c.apiName).sort();
    expect(seen).toEqual(all);
    expect(pages).toBe(Math.ceil(all.length / 2));

    const webhooks = as(await call('GET', '/connectors?type=webhook'), 200, connectorPage);
    expect(webhooks).toEqual({
      items: [expect.objectContaining({ apiName: 'hook_intake', type: 'webhook', status: 'setup' })],
      nextCursor: null,
    });
    expect(as(await call('GET', '/connectors?status=operational'), 200, connectorPage).items).toEqual([]);
  });

  it('refuses a bad filter, limit or cursor with 400 naming the query field', async () => {
    expect(pathsOf(errorOf(await call('GET', '/connectors?status=sleeping'), 400))).toEqual(['query.status']);
    expect(pathsOf(errorOf(await call('GET', '/connectors?limit=0'), 400))).toEqual(['query.limit']);
    expect(pathsOf(errorOf(await call('GET', '/connectors?limit=many'), 400))).toEqual(['query.limit']);
    const cursor = errorOf(await call('GET', '/connectors?cursor=not-a-cursor'), 400);
    expect(cursor.code).toBe('INVALID_CURSOR');
    expect(pathsOf(cursor)).toEqual(['query.cursor']);
    // A cursor another list made is not one of this list.
    const objects = as(await call('GET', '/objects?limit=1'), 200, pageSchema(z.unknown()));
    const foreign = objects.nextCursor ?? Buffer.from('{"list":"objects","at":"x"}').toString('base64url');
    expect(errorOf(await call('GET', `/connectors?cursor=${foreign}`), 400).code).toBe('INVALID_CURSOR');
  });
});

describe('PATCH /connectors/{ref}', () => {
  it('applies a JSON merge patch as a new version; the same patch again changes nothing', async () => {
    const before = as(await call('GET', '/connectors/stock_import'), 200, connectorSchema);
    const patched = as(
      await call('PATCH', '/connectors/stock_import', {
        description: 'Nightly stock',
        settings: { chunkSize: 250 },
        sql: null,
      }),
      200,
      connectorSchema,
    );
    expect(patched).toMatchObject({
      version: before.version + 1,
      definition: { description: 'Nightly stock' },
    });
    // Members merge (the other settings stay); `null` removed the SQL; what the patch does not name stays.
    expect(patched.definition.settings).toMatchObject({ chunkSize: 250, maxConcurrentExecutions: 1 });
    expect(patched.definition.sql).toBeUndefined();
    expect(patched.definition.variables).toEqual(before.definition.variables);

    const again = as(
      await call('PATCH', '/connectors/stock_import', { settings: { chunkSize: 250 } }),
      200,
      connectorSchema,
    );
    expect(again.version).toBe(patched.version);

    const renamed = as(
      await call('PATCH', '/connectors/stock_import', { name: 'Stock (renamed)' }),
      200,
      connectorSchema,
    );
    expect(renamed).toMatchObject({
      name: 'Stock (renamed)',
      apiName: 'stock_import',
      version: patched.version + 1,
    });
    const stored = await ws.ports.connectors.getVersion(renamed.id, renamed.version);
    expect(stored!.definition.name).toBe('Stock (renamed)');
    // The earlier version is immutable.
    expect((await ws.ports.connectors.getVersion(renamed.id, 1))!.definition.sql).toBe(SQL);
  });

  it('replaces a list whole, and keeps a withheld secret the patch does not name', async () => {
    const patched = as(
      await call('PATCH', '/connectors/hook_intake', {
        variables: [{ name: 'name', type: 'string', required: true }],
        loadSteps: [{ name: 'Items', object: 'ac_items', mapping: [{ field: 'name', variable: 'name' }] }],
      }),
      200,
      connectorSchema,
    );
    expect(patched.definition.variables).toEqual([
      expect.objectContaining({ name: 'name', type: 'string', required: true }),
    ]);
    const version = await ws.ports.connectors.getVersion(patched.id, patched.version);
    expect(version!.definition.settings.webhookSecret).toBe('not-for-display');
  });

  it('refuses a bad patch with 400 naming the path, and a changed api name', async () => {
    const bad = errorOf(
      await call('PATCH', '/connectors/stock_import', { settings: { chunkSize: 'big' } }),
      400,
    );
    expect(pathsOf(bad)).toEqual(['body.settings.chunkSize']);
    const unknownVariable = errorOf(
      await call('PATCH', '/connectors/stock_import', {
        loadSteps: [{ name: 'Items', object: 'ac_items', mapping: [{ field: 'name', variable: 'nope' }] }],
      }),
      400,
    );
    expect(pathsOf(unknownVariable)[0]).toMatch(/^body\.loadSteps\[0\]\.mapping\[0\]/);
    const rename = errorOf(await call('PATCH', '/connectors/stock_import', { apiName: 'stock_moved' }), 400);
    expect(pathsOf(rename)).toEqual(['body.apiName']);
    expect(pathsOf(errorOf(await call('PATCH', '/connectors/stock_import', [1, 2]), 400))).toEqual(['body']);
    expect(errorOf(await call('PATCH', '/connectors/nope', {}), 404).code).toBe('CONNECTOR_NOT_FOUND');
  });
});

describe('activate and deactivate', () => {
  it('answers a failed activation with 422 and each failed check, leaving the status unchanged', async () => {
    as(await call('POST', '/connectors', { name: 'Empty shell' }), 201, connectorSchema);
    const refused = errorOf(await call('POST', '/connectors/empty_shell/activate'), 422);
    expect(refused.code).toBe('ACTIVATION_FAILED');
    expect(pathsOf(refused)).toEqual(expect.arrayContaining(['variables', 'loadSteps']));
    expect(as(await call('GET', '/connectors/empty_shell'), 200, connectorSchema).status).toBe('setup');
  });

  it('activates and deactivates', async () => {
    const on = as(await call('POST', '/connectors/stock_import/activate'), 200, connectorSchema);
    expect(on).toMatchObject({ apiName: 'stock_import', status: 'operational' });
    expect(as(await call('GET', '/connectors?status=operational'), 200, connectorPage).items).toEqual([
      expect.objectContaining({ apiName: 'stock_import' }),
    ]);
    expect(as(await call('POST', '/connectors/stock_import/deactivate'), 200, connectorSchema).status).toBe(
      'inactive',
    );
  });
});

describe('DELETE /connectors/{ref}', () => {
  it('is refused with 409 while an execution is queued, then deletes; the api name is free again', async () => {
    const created = as(await call('POST', '/connectors', items('Doomed')), 201, connectorSchema);
    const started = await handleApiRequest(deps, {
      method: 'POST',
      path: '/connectors/doomed/executions',
      query: { fileName: 'a.csv' },
      headers: { 'x-api-key': key },
      body: Buffer.from(csv(['name', 'qty'], ['Apple', 1])),
    });
    expect(started.statusCode).toBe(202);
    const execution = executionSchema.parse(JSON.parse(String(started.body)));
    expect(execution.status).toBe('queued');

    const refused = errorOf(await call('DELETE', '/connectors/doomed'), 409);
    expect(refused.code).toBe('CONFLICT');
    expect(refused.message).toContain(execution.id);

    expect((await call('POST', `/executions/${execution.id}/cancel`)).status).toBe(202);
    const deleted = await call('DELETE', '/connectors/doomed');
    expect(deleted.status).toBe(204);
    expect(deleted.body).toBeNull();
    expect(errorOf(await call('GET', '/connectors/doomed'), 404).code).toBe('CONNECTOR_NOT_FOUND');
    expect(await ws.ports.connectors.getVersion(created.id, 1)).toBeNull();
    // Its ended execution stays readable.
    expect(as(await call('GET', `/executions/${execution.id}`), 200, executionSchema).status).toBe(
      'cancelled',
    );
    expect((await call('DELETE', '/connectors/doomed')).status).toBe(404);

    const again = as(await call('POST', '/connectors', items('Doomed')), 201, connectorSchema);
    expect(again).toMatchObject({ apiName: 'doomed', version: 1 });
    expect(again.id).not.toBe(created.id);
  });
});

describe('the lifecycle functions', () => {
  it('save a new version only when the definition changes, and never move the api name', async () => {
    const ports = { connectors: ws.ports.connectors, clock: ws.ports.clock };
    const connector = (await ws.ports.connectors.getConnector('doomed'))!;
    const draft = (await ws.ports.connectors.getVersion(connector.id, 1))!.definition;
    expect((await saveConnectorVersion(ports, connector.id, draft)).version.version).toBe(1);
    const changed = await saveConnectorVersion(ports, connector.id, { ...draft, description: 'changed' });
    expect(changed.version.version).toBe(2);
    expect(changed.connector.version).toBe(2);
    await expect(
      saveConnectorVersion(ports, connector.id, { ...draft, apiName: 'elsewhere' }),
    ).rejects.toMatchObject({
      code: 'INVALID_DEFINITION',
      issues: [expect.objectContaining({ path: 'apiName' })],
    });
  });

  it('refuse to delete an unknown connector', async () => {
    await expect(
      deleteConnector({ connectors: ws.ports.connectors, executions: ws.ports.executions }, 'no_such'),
    ).rejects.toMatchObject({ code: 'CONNECTOR_NOT_FOUND' });
  });
});
