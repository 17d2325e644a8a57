import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Execution } from '../../lambdas/core/model.ts';
import { startApiServer, type ApiServer } from '../../lambdas/local/api-server.ts';
import { createApiKey } from '../../lambdas/pipeline/api.ts';
import { verifyWebhookSignature } from '../../lambdas/pipeline/webhook-signing.ts';
import { csv, itemsConnector, openPipelineWorkspace, type PipelineWorkspace } from '../helpers/pipeline.ts';

/*
 * The HTTP API as `sc serve` serves it (the same function the API Lambda calls), on the local runtime:
 * keys, connectors, uploads that run through the local state machine, cancel, reports, and the
 * execution-ended webhook to a receiver that fails twice.
 */

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

async function call(method: string, path: string, init: { body?: string; apiKey?: string | null } = {}) {
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
  return (await (await call('GET', `/executions/${id}`)).json()) as Execution;
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
      connectors: Array<{ apiName: string }>;
    };
    expect(list.connectors.map((c) => c.apiName)).toContain('api_items');
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
    const queued = (await started.json()) as Execution;
    expect(queued).toMatchObject({ status: 'queued', trigger: 'api' });
    expect((await settled(queued.id)).status).toBe('queued');

    const activated = await call('POST', '/connectors/api_items/activate');
    expect(await activated.json()).toMatchObject({ status: 'operational' });
    const ended = await settled(queued.id);
    expect(ended).toMatchObject({ status: 'succeeded', inputFile: { name: 'items.csv' } });
    expect(ended.webhook?.status).toBe('delivered');
    expect(received).toHaveLength(3);
    const last = received[2]!;
    expect(verifyWebhookSignature(last.body, last.signature, 'api-secret', { now: new Date() })).toEqual({
      valid: true,
    });

    const listed = (await (await call('GET', '/connectors/api_items/executions')).json()) as {
      executions: Execution[];
    };
    expect(listed.executions.map((e) => e.id)).toContain(queued.id);

    const report = await call('GET', `/executions/${queued.id}/report`);
    expect(report.status).toBe(200);
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.load(Buffer.from(await report.arrayBuffer()) as never);
    expect(workbook.worksheets.map((s) => s.name)).toContain('Summary Stats');
  });

  it('cancels a queued execution; cancelling it again is 409', async () => {
    await call('POST', '/connectors/api_items/deactivate');
    const started = (await (
      await call('POST', '/connectors/api_items/executions?fileName=later.csv', {
        body: csv(['name', 'qty'], ['Fig', 1]),
      })
    ).json()) as Execution;
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
  });
});
