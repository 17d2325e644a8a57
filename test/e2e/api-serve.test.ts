import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { MAX_DIRECT_UPLOAD_BYTES } from '../../lambdas/core/upload-limits.ts';
import { startApiServer, type ApiServer } from '../../lambdas/local/api-server.ts';
import { createApiKey } from '../../lambdas/pipeline/api.ts';
import { executionSchema, rowResultSchema } from '../../lambdas/pipeline/api/execution-routes.ts';
import { pageSchema } from '../../lambdas/pipeline/api/pagination.ts';
import { verifyWebhookSignature } from '../../lambdas/pipeline/webhook-signing.ts';
import { csv, itemsConnector, openPipelineWorkspace, type PipelineWorkspace } from '../helpers/pipeline.ts';

/*
 * The HTTP API as `sc serve` serves it (the same function the API Lambda calls), on the local runtime,
 * over real HTTP: keys, connectors, uploads (raw body and multipart form) that run through the local
 * state machine, cancel, reports, row results, and the execution-ended webhook to a receiver that fails
 * twice.
 */

type Execution = z.output<typeof executionSchema>;

let ws: PipelineWorkspace;
let server: ApiServer;
let key: string;
let receiver: Server;
let hookUrl: string;
const received: Array<{ body: string; signature: string }> = [];
let answers: number[] = [];

beforeAll(async () => {
  ws = await openPipelineWorkspace([
    {
      apiName: 'a_items',
      name: 'Items',
      fields: [
        { name: 'name', type: 'text' },
        { name: 'qty', type: 'integer' },
      ],
    },
  ]);
  server = await startApiServer({ ports: ws.ports, apiKeys: ws.runtime.apiKeys });
  key = (await createApiKey(ws.runtime.apiKeys, 'tests', new Date())).key;
  receiver = createServer((request, response) => {
    let body = '';
    request.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
    request.on('end', () => {
      received.push({ body, signature: String(request.headers['x-smartconnector-signature']) });
      response.writeHead(answers.shift() ?? 200).end();
    });
  });
  await new Promise<void>((done) => receiver.listen(0, '127.0.0.1', done));
  hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  await ws.writeConnector('api_items', {
    definition: itemsConnector('API items', ['a_items'], {
      executionEndedWebhookUrl: hookUrl,
      webhookSecret: 'api-secret',
      chunkSize: 1,
    }),
  });
  await ws.apply('api_items');
});
afterAll(async () => {
  await server?.close();
  await new Promise((done) => receiver?.close(done));
  await ws?.close();
});

async function call(
  method: string,
  path: string,
  init: { body?: string | FormData; apiKey?: string | null } = {},
) {
  const headers: Record<string, string> = {};
  const apiKey = init.apiKey === undefined ? key : init.apiKey;
  if (apiKey !== null) headers['x-api-key'] = apiKey;
  return fetch(`${server.url}${path}`, {
    method,
    headers,
    ...(init.body === undefined ? {} : { body: init.body }),
  });
}

async function settled(id: string): Promise<Execution> {
  await ws.runtime.stateMachine.idle();
  return executionSchema.parse(await (await call('GET', `/executions/${id}`)).json());
}

describe('the HTTP API of sc serve', () => {
  it('refuses a missing key with 401 and an unknown key with 403', async () => {
    const missing = await call('GET', '/connectors', { apiKey: null });
    expect(missing.status).toBe(401);
    expect(await missing.json()).toMatchObject({ error: { code: 'UNAUTHENTICATED' } });
    expect((await call('GET', '/connectors', { apiKey: 'sc_wrong' })).status).toBe(403);
  });

  it('lists and gets connectors; unknown ones are 404', async () => {
    const list = (await (await call('GET', '/connectors')).json()) as {
      items: Array<{ apiName: string }>;
      nextCursor: string | null;
    };
    expect(list.items.map((c) => c.apiName)).toContain('api_items');
    expect(list.nextCursor).toBeNull();
    expect(await (await call('GET', '/connectors/api_items')).json()).toMatchObject({ status: 'setup' });
    const unknown = await call('GET', '/connectors/nope');
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ error: { code: 'CONNECTOR_NOT_FOUND' } });
  });

  it('queues an upload while the connector is not active and runs it on activation; the webhook retries until delivered', async () => {
    answers = [500, 503];
    const started = await call('POST', '/connectors/api_items/executions?fileName=items.csv', {
      body: csv(['name', 'qty'], ['Apple', 1], ['Pear', 2]),
    });
    expect(started.status).toBe(202);
    const queued = executionSchema.parse(await started.json());
    expect(queued).toMatchObject({ status: 'queued', trigger: 'api', connector: { apiName: 'api_items' } });
    expect((await settled(queued.id)).status).toBe('queued');

    const activated = await call('POST', '/connectors/api_items/activate');
    expect(await activated.json()).toMatchObject({ status: 'operational' });
    const ended = await settled(queued.id);
    expect(ended).toMatchObject({ status: 'succeeded', counts: { steps: [{ created: 2 }] } });
    const stored = await ws.ports.executions.get(queued.id);
    expect(stored).toMatchObject({ inputFile: { name: 'items.csv' }, webhook: { status: 'delivered' } });
    expect(received).toHaveLength(3);
    const last = received[2]!;
    expect(verifyWebhookSignature(last.body, last.signature, 'api-secret', { now: new Date() })).toEqual({
      valid: true,
    });

    const listed = pageSchema(executionSchema).parse(
      await (await call('GET', '/connectors/api_items/executions')).json(),
    );
    expect(listed.items.map((e) => e.id)).toContain(queued.id);

    const rows = pageSchema(rowResultSchema).parse(
      await (await call('GET', `/executions/${queued.id}/rows?outcome=created`)).json(),
    );
    expect(rows.items.map((r) => r.written)).toEqual([
      { name: 'Apple', qty: 1 },
      { name: 'Pear', qty: 2 },
    ]);
    const input = await call('GET', `/executions/${queued.id}/input`);
    expect(await input.text()).toBe(csv(['name', 'qty'], ['Apple', 1], ['Pear', 2]));

    const report = await call('GET', `/executions/${queued.id}/report`);
    expect(report.status).toBe(200);
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.load(await report.arrayBuffer());
    expect(workbook.worksheets.map((s) => s.name)).toContain('Summary Stats');
  });

  it('starts a dry run from a multipart form, as curl -F sends it', async () => {
    const form = new FormData();
    form.append('dryRun', 'true');
    form.append('file', new Blob([csv(['name', 'qty'], ['Quince', 7])]), 'form.csv');
    const started = await call('POST', '/connectors/api_items/executions', { body: form });
    expect(started.status).toBe(202);
    const execution = executionSchema.parse(await started.json());
    expect(execution.dryRun).toBe(true);
    expect(await settled(execution.id)).toMatchObject({
      status: 'succeeded',
      counts: { steps: [{ created: 1 }] },
    });
    expect((await ws.records('a_items')).map((r) => r.fields.name)).not.toContain('Quince');
  });

  it('serves the OpenAPI document without a key', async () => {
    const document = await call('GET', '/openapi.json', { apiKey: null });
    expect(document.status).toBe(200);
    expect(await document.json()).toMatchObject({ openapi: '3.1.0', servers: [{ url: server.url }] });
  });

  it('cancels a queued execution; cancelling it again is 409', async () => {
    await call('POST', '/connectors/api_items/deactivate');
    const started = executionSchema.parse(
      await (
        await call('POST', '/connectors/api_items/executions?fileName=later.csv', {
          body: csv(['name', 'qty'], ['Fig', 1]),
        })
      ).json(),
    );
    const cancelled = await call('POST', `/executions/${started.id}/cancel`);
    expect(cancelled.status).toBe(202);
    expect(await cancelled.json()).toMatchObject({ status: 'cancelled' });
    const again = await call('POST', `/executions/${started.id}/cancel`);
    expect(again.status).toBe(409);
    expect(await again.json()).toMatchObject({ error: { code: 'EXECUTION_ENDED' } });
    const report = await call('GET', `/executions/${started.id}/report`);
    expect(report.status).toBe(404);
    expect(await report.json()).toMatchObject({ error: { code: 'REPORT_NOT_FOUND' } });
  });

  it('says what is wrong with a bad upload', async () => {
    const noName = await call('POST', '/connectors/api_items/executions', { body: 'name\nA\n' });
    expect(noName.status).toBe(400);
    expect(await noName.json()).toMatchObject({ error: { code: 'FILE_NAME_MISSING' } });
    const empty = await call('POST', '/connectors/api_items/executions?fileName=a.csv', { body: '' });
    expect(await empty.json()).toMatchObject({ error: { code: 'EMPTY_BODY' } });
    expect((await call('GET', '/executions/no-such-id')).status).toBe(404);
    expect((await call('DELETE', '/connectors')).status).toBe(405);
    const big = await call('POST', '/connectors/api_items/executions?fileName=big.csv', {
      body: 'a'.repeat(MAX_DIRECT_UPLOAD_BYTES + 1),
    });
    expect(big.status).toBe(413);
    expect(await big.json()).toMatchObject({ error: { code: 'PAYLOAD_TOO_LARGE' } });
  });
});
