import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectorExportSchema } from '../../lambdas/pipeline/transfer.ts';
import { createApiKey, handleApiRequest, type ApiDeps } from '../../lambdas/pipeline/api.ts';
import { zipParts } from '../helpers/leaks.ts';
import { csvInput, openPipelineWorkspace, type PipelineWorkspace } from '../helpers/pipeline.ts';

/*
 * Export, import, duplicate and the dev package through the API's request function (as the API Lambda and
 * `sc serve` call it), on the local runtime: the happy paths, 404, the import conflict and its rename,
 * bad import bodies (400 with the JSON path), an import whose activation checks fail here, and what a dev
 * package holds.
 */

let ws: PipelineWorkspace;
let deps: ApiDeps;
let key: string;
const SECRET = 'hush-9f8e7d';
const SQL =
  'CREATE TABLE output.vendors ENGINE = Memory AS SELECT trim(name) AS name, email FROM input.page_idx_0';

beforeAll(async () => {
  ws = await openPipelineWorkspace([
    {
      apiName: 'tr_vendors',
      name: 'Vendors',
      fields: [
        { name: 'name', type: 'text' },
        { name: 'email', type: 'email' },
        { name: 'country', type: 'relationship', relatedObject: 'tr_countries' },
      ],
    },
    { apiName: 'tr_countries', name: 'Countries', fields: [{ name: 'code', type: 'text' }] },
    { apiName: 'tr_other', name: 'Other', fields: [] },
  ]);
  deps = { ports: ws.ports, apiKeys: ws.runtime.apiKeys };
  key = (await createApiKey(ws.runtime.apiKeys, 'tests', new Date())).key;
  await ws.writeConnector('tr_vendor_import', {
    definition: {
      name: 'Vendor import',
      apiName: 'tr_vendor_import',
      secrets: ['crm_source'],
      variables: [
        { name: 'name', type: 'string', required: true },
        { name: 'email', type: 'email' },
      ],
      loadSteps: [
        {
          name: 'Vendors',
          object: 'tr_vendors',
          matching: [{ field: 'name', variable: 'name' }],
          mapping: [
            { field: 'name', variable: 'name' },
            { field: 'email', variable: 'email', conflict: 'overwrite' },
          ],
        },
      ],
      settings: { webhookSecret: SECRET, chunkSize: 50 },
    },
    sql: SQL,
  });
  await ws.apply('tr_vendor_import');
});
afterAll(async () => {
  await ws?.close();
});

async function call(method: string, path: string, body?: unknown) {
  const [pathname, search] = path.split('?');
  const response = await handleApiRequest(deps, {
    method,
    path: pathname!,
    query: Object.fromEntries(new URLSearchParams(search ?? '')),
    headers: { 'x-api-key': key },
    body: Buffer.from(body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body)),
  });
  const bytes = Buffer.isBuffer(response.body) ? response.body : Buffer.from(response.body);
  const isJson = response.headers['content-type'] === 'application/json';
  return {
    status: response.statusCode,
    headers: response.headers,
    bytes,
    json: (isJson ? JSON.parse(bytes.toString('utf8')) : null) as unknown,
  };
}

interface ErrorBody {
  code: string;
  message: string;
  details?: Array<{ path: string; message: string }>;
}
const errorOf = (response: { json: unknown }) => (response.json as { error: ErrorBody }).error;
const detailPaths = (response: { json: unknown }) => (errorOf(response).details ?? []).map((d) => d.path);

interface TransferBody {
  connector: { apiName: string; name: string; status: string; definition: Record<string, unknown> };
  renamedFrom?: string;
  activation: { ready: boolean; issues: Array<{ path: string; message: string }> };
}
const transferOf = (response: { json: unknown }) => response.json as TransferBody;
const definitionOf = (response: { json: unknown }) =>
  (response.json as { definition: Record<string, unknown> & { settings: Record<string, unknown> } })
    .definition;

/** The export of the source connector, typed so tests can change it before importing it. */
async function exported() {
  return connectorExportSchema.parse((await call('GET', '/connectors/tr_vendor_import/export')).json);
}

describe('export', () => {
  it('answers the current version as an export document with the SQL inline and no secret value', async () => {
    const response = await call('GET', '/connectors/tr_vendor_import/export');
    expect(response.status).toBe(200);
    expect(response.headers['content-disposition']).toBe(
      'attachment; filename="tr_vendor_import.connector.json"; filename*=UTF-8\'\'tr_vendor_import.connector.json',
    );
    expect(connectorExportSchema.safeParse(response.json).success).toBe(true);
    expect(response.json).toMatchObject({
      format: 'smartconnector.connector-export',
      formatVersion: 1,
      source: { apiName: 'tr_vendor_import', version: 1, status: 'setup' },
      withheld: ['settings.webhookSecret'],
      connector: {
        name: 'Vendor import',
        apiName: 'tr_vendor_import',
        sql: { script: SQL },
        secrets: ['crm_source'],
      },
    });
    const token = (await ws.ports.connectors.getConnector('tr_vendor_import'))!.webhookToken!;
    expect(token.length).toBeGreaterThan(10);
    const text = response.bytes.toString('utf8');
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain(token);
  });

  it('answers 404 for an unknown connector', async () => {
    const response = await call('GET', '/connectors/nope/export');
    expect(response.status).toBe(404);
    expect(errorOf(response).code).toBe('CONNECTOR_NOT_FOUND');
  });
});

describe('import', () => {
  it('refuses a taken api name with 409 CONFLICT and says how to import anyway', async () => {
    const response = await call('POST', '/connectors/import', await exported());
    expect(response.status).toBe(409);
    expect(errorOf(response).code).toBe('CONFLICT');
    expect(errorOf(response).message).toMatch(/onConflict=rename/);
  });

  it('imports under the first free api name with ?onConflict=rename, in setup, the same definition', async () => {
    const response = await call('POST', '/connectors/import?onConflict=rename', await exported());
    expect(response.status).toBe(201);
    expect(response.json).toMatchObject({
      connector: { apiName: 'tr_vendor_import_2', name: 'Vendor import', status: 'setup', version: 1 },
      renamedFrom: 'tr_vendor_import',
      activation: { ready: true, issues: [] },
      withheld: ['settings.webhookSecret'],
    });
    const original = await call('GET', '/connectors/tr_vendor_import');
    const copy = await call('GET', '/connectors/tr_vendor_import_2');
    const { webhookSecret: _, ...settings } = definitionOf(original).settings;
    expect(definitionOf(copy)).toEqual({
      ...definitionOf(original),
      apiName: 'tr_vendor_import_2',
      settings,
    });
    const second = await call('POST', '/connectors/import?onConflict=rename', await exported());
    expect(transferOf(second).connector.apiName).toBe('tr_vendor_import_3');
  });

  it('imports under the export api name where it is free', async () => {
    const document = await exported();
    document.connector.apiName = 'tr_fresh';
    const response = await call('POST', '/connectors/import', document);
    expect(response.status).toBe(201);
    expect(transferOf(response).connector).toMatchObject({ apiName: 'tr_fresh', status: 'setup' });
    expect(response.json).not.toHaveProperty('renamedFrom');
  });

  it('imports a connector whose activation checks fail here, in setup, listing each failed check', async () => {
    const document = await exported();
    document.connector.apiName = 'tr_incomplete';
    document.connector.variables = [];
    document.connector.loadSteps[0]!.mapping = [];
    document.connector.loadSteps[0]!.matching = [];
    const response = await call('POST', '/connectors/import', document);
    expect(response.status).toBe(201);
    expect(transferOf(response).connector.status).toBe('setup');
    expect(transferOf(response).activation.ready).toBe(false);
    const paths = transferOf(response).activation.issues.map((i) => i.path);
    expect(paths).toEqual(expect.arrayContaining(['variables', 'loadSteps[0].mapping']));
    const activate = await call('POST', '/connectors/tr_incomplete/activate');
    expect(activate.status).toBe(422);
    expect((await call('GET', '/connectors/tr_incomplete')).json).toMatchObject({ status: 'setup' });
  });

  it('refuses a connector naming an object this environment lacks with 400 and the path; nothing is created', async () => {
    const document = await exported();
    document.connector.apiName = 'tr_elsewhere';
    document.connector.loadSteps[0]!.object = 'tr_missing';
    const response = await call('POST', '/connectors/import', document);
    expect(response.status).toBe(400);
    expect(errorOf(response).code).toBe('INVALID_DEFINITION');
    expect(detailPaths(response)).toContain('body.connector.loadSteps[0].object');
    expect((await call('GET', '/connectors/tr_elsewhere')).status).toBe(404);
  });

  it.each([
    ['a bare definition', () => ({ name: 'Bare' }), 'body.format'],
    ['a newer format', async () => ({ ...(await exported()), formatVersion: 2 }), 'body.formatVersion'],
    [
      'a bad setting',
      async () => {
        const document = await exported();
        document.connector.settings.chunkSize = 0;
        return document;
      },
      'body.connector.settings.chunkSize',
    ],
    [
      'SQL as a file',
      async () => {
        const document = await exported();
        return { ...document, connector: { ...document.connector, sql: { file: 'connector.sql' } } };
      },
      'body.connector.sql',
    ],
  ])('answers 400 INVALID_REQUEST for %s, naming the JSON path', async (_, make, path) => {
    const response = await call('POST', '/connectors/import', await make());
    expect(response.status).toBe(400);
    expect(errorOf(response).code).toBe('INVALID_REQUEST');
    expect(detailPaths(response)).toContain(path);
  });

  it('answers 400 for a body that is not JSON, and for an unknown onConflict', async () => {
    const notJson = await call('POST', '/connectors/import', '{"format":');
    expect(notJson.status).toBe(400);
    expect(errorOf(notJson).code).toBe('INVALID_JSON');
    const badQuery = await call('POST', '/connectors/import?onConflict=merge', await exported());
    expect(badQuery.status).toBe(400);
    expect(detailPaths(badQuery)).toEqual(['query.onConflict']);
  });
});

describe('duplicate', () => {
  it('copies the current version as "<name> (copy)" in setup, with its own api name and webhook token', async () => {
    const response = await call('POST', '/connectors/tr_vendor_import/duplicate');
    expect(response.status).toBe(201);
    expect(response.json).toMatchObject({
      connector: { name: 'Vendor import (copy)', apiName: 'vendor_import_copy', status: 'setup', version: 1 },
      activation: { ready: true, issues: [] },
      withheld: [],
    });
    const source = await ws.ports.connectors.getConnector('tr_vendor_import');
    const copy = await ws.ports.connectors.getConnector('vendor_import_copy');
    expect(copy!.webhookToken).toBeDefined();
    expect(copy!.webhookToken).not.toBe(source!.webhookToken);
    const original = definitionOf(await call('GET', '/connectors/tr_vendor_import'));
    const copied = definitionOf(await call('GET', '/connectors/vendor_import_copy'));
    expect(copied).toEqual({ ...original, name: 'Vendor import (copy)', apiName: 'vendor_import_copy' });
  });

  it('takes a name and an api name; a taken api name is 409', async () => {
    const named = await call('POST', '/connectors/tr_vendor_import/duplicate', {
      name: 'Vendors v2',
      apiName: 'tr_vendors_v2',
    });
    expect(named.status).toBe(201);
    expect(transferOf(named).connector).toMatchObject({ name: 'Vendors v2', apiName: 'tr_vendors_v2' });
    const taken = await call('POST', '/connectors/tr_vendor_import/duplicate', { apiName: 'tr_vendors_v2' });
    expect(taken.status).toBe(409);
    expect(errorOf(taken).code).toBe('CONFLICT');
  });

  it('answers 404 for an unknown connector and 400 for a bad body', async () => {
    expect((await call('POST', '/connectors/nope/duplicate')).status).toBe(404);
    const bad = await call('POST', '/connectors/tr_vendor_import/duplicate', { name: '', colour: 'red' });
    expect(bad.status).toBe(400);
    expect(detailPaths(bad)).toEqual(expect.arrayContaining(['body.name', 'body']));
  });
});

describe('the dev package', () => {
  let executionId: string;

  beforeAll(async () => {
    // The workspace's secrets file (the local Secrets Manager): the SQL's named collection needs a value.
    await writeFile(
      join(ws.dir, 'secrets.local.json'),
      JSON.stringify({ crm_source: 'https://crm.example' }),
    );
    const run = await ws.run(
      'tr_vendor_import',
      csvInput(
        'vendors march.csv',
        ['name', 'email'],
        [' Acme ', 'sales@acme.example'],
        ['Globex', 'hi@globex.example'],
      ),
    );
    expect(run.execution.status, JSON.stringify(run.execution.error)).toBe('succeeded');
    executionId = run.execution.id;
  });

  async function packageParts(path: string) {
    const response = await call('GET', path);
    expect(response.status, response.bytes.toString('utf8')).toBe(200);
    expect(response.headers['content-type']).toBe('application/zip');
    const file = join(ws.dir, 'package.zip');
    await writeFile(file, response.bytes);
    return { response, parts: await zipParts(file) };
  }

  it('holds connector.json (SQL in connector.sql), the SQL, the objects it needs, the input and a README', async () => {
    const { response, parts } = await packageParts(
      `/connectors/tr_vendor_import/dev-package?sourceExecutionId=${executionId}`,
    );
    expect(response.headers['content-disposition']).toBe(
      'attachment; filename="tr_vendor_import-dev-package.zip"; filename*=UTF-8\'\'tr_vendor_import-dev-package.zip',
    );
    expect([...parts.keys()].sort()).toEqual([
      'README.md',
      'connector.json',
      'connector.sql',
      'data/vendors march.csv',
      'objects/tr_countries.json',
      'objects/tr_vendors.json',
    ]);
    const connector = JSON.parse(parts.get('connector.json')!);
    expect(connector).toMatchObject({ apiName: 'tr_vendor_import', sql: { file: 'connector.sql' } });
    expect(connector.settings).not.toHaveProperty('webhookSecret');
    expect(parts.get('connector.sql')).toBe(SQL);
    expect(parts.get('data/vendors march.csv')).toContain(' Acme ,sales@acme.example');
    expect(JSON.parse(parts.get('objects/tr_vendors.json')!)).toMatchObject({
      apiName: 'tr_vendors',
      fields: { country: { type: 'relationship', relatedObject: 'tr_countries' } },
    });
    const readme = parts.get('README.md')!;
    expect(readme).toContain("sc run . --input 'data/vendors march.csv'");
    expect(readme).toContain(`the input of execution ${executionId}`);
    expect(readme).toContain('`crm_source`');
    for (const part of parts.values()) expect(part).not.toContain(SECRET);
  });

  it("takes the latest execution's input without sourceExecutionId", async () => {
    const { parts } = await packageParts('/connectors/tr_vendor_import/dev-package');
    expect(parts.has('data/vendors march.csv')).toBe(true);
  });

  it('has no input for a connector that never ran, and says so', async () => {
    const { parts } = await packageParts('/connectors/tr_fresh/dev-package');
    expect([...parts.keys()].some((k) => k.startsWith('data/'))).toBe(false);
    expect(parts.get('README.md')).toContain('no input file');
  });

  it("answers 404 for an unknown execution and 409 for another connector's", async () => {
    const unknown = await call('GET', '/connectors/tr_vendor_import/dev-package?sourceExecutionId=nope');
    expect(unknown.status).toBe(404);
    expect(errorOf(unknown).code).toBe('EXECUTION_NOT_FOUND');
    const other = await call('GET', `/connectors/tr_fresh/dev-package?sourceExecutionId=${executionId}`);
    expect(other.status).toBe(409);
    expect(errorOf(other).code).toBe('EXECUTION_OF_ANOTHER_CONNECTOR');
    expect(errorOf(other).message).toContain('tr_vendor_import');
    expect((await call('GET', '/connectors/nope/dev-package')).status).toBe(404);
  });
});
