import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConnectorDefinitionInput } from '../../lambdas/core/connector-schema.ts';
import { ScError } from '../../lambdas/core/errors.ts';
import type { Execution } from '../../lambdas/core/model.ts';
import { MAX_WEBHOOK_BODY_BYTES } from '../../lambdas/core/upload-limits.ts';
import { WEBHOOK_SAMPLE_LIMIT } from '../../lambdas/core/webhook-intake.ts';
import {
  createApiKey,
  handleApiRequest,
  type ApiDeps,
  type ApiResponse,
} from '../../lambdas/pipeline/api.ts';
import { artifacts, webhookBlobs } from '../../lambdas/pipeline/artifacts.ts';
import { deleteConnector } from '../../lambdas/pipeline/connectors.ts';
import { setConnectorActive } from '../../lambdas/pipeline/control.ts';
import type { Ports } from '../../lambdas/pipeline/ports.ts';
import { tickConnector } from '../../lambdas/pipeline/schedule-tick.ts';
import {
  MAX_CALLS_PER_WINDOW,
  flushWebhookWindow,
  receiveWebhook,
  replayWebhookSamples,
  webhookWindowExecutionId,
} from '../../lambdas/pipeline/webhooks.ts';
import type { ConnectorRecord } from '../../lambdas/ports/connector-store.ts';
import type { BlobStore } from '../../lambdas/ports/blob-store.ts';
import type { ExecutionStore } from '../../lambdas/ports/execution-store.ts';
import type { Orchestrator } from '../../lambdas/ports/orchestrator.ts';
import { ROOT } from '../helpers/cli.ts';
import { itemsConnector, openPipelineWorkspace, type PipelineWorkspace } from '../helpers/pipeline.ts';

/*
 * Webhook connectors through the HTTP API function and the local runtime (DynamoDB stand-in, blobs on
 * disk, the local state machine, chDB): intake → flush → execution → records, the intake's refusals,
 * samples and replay, and the batching guarantees (a repeated window, a call arriving during a flush,
 * flushes that crash half way, two flushes at once).
 */

let ws: PipelineWorkspace;
let deps: ApiDeps;
let apiKey: string;

const ORDERS = 'wh_orders';
const PROBES = 'wh_probes';

/** Orders from JSON, form and query-string calls; other bodies are left out, never fatal. */
const ORDERS_SQL = `
CREATE TABLE output.orders ENGINE = MergeTree ORDER BY tuple() AS
SELECT
    coalesce(nullIf(body.order_id::String, ''), nullIf(body.id::String, '')) AS name,
    nullIf(body.qty::String, '') AS qty
FROM input.webhooks
WHERE body_format IN ('json', 'form', 'query')
ORDER BY received_at, receipt_id;
`;

/** Every column of input.webhooks, with its type, as text: one row per call. */
const PROBE_SQL = `
CREATE TABLE output.probe ENGINE = MergeTree ORDER BY tuple() AS
SELECT
    receipt_id AS name,
    toTypeName(received_at) AS received_at_type,
    toString(received_at) AS received_at_text,
    toTypeName(body) AS body_type,
    toString(body) AS body_text,
    toTypeName(headers) AS headers_type,
    headers['x-source'] AS x_source,
    mapContains(headers, 'x-api-key') OR mapContains(headers, 'x-webhook-token') AS has_credential,
    querystring,
    body_format,
    raw_body,
    (SELECT count() FROM input.webhooks_raw) AS raw_rows
FROM input.webhooks
ORDER BY received_at, receipt_id;
`;

function webhookConnector(
  name: string,
  object: string,
  settings: ConnectorDefinitionInput['settings'] = {},
): ConnectorDefinitionInput {
  return { ...itemsConnector(name, [object], { cadence: 'rate(1 minute)', ...settings }), type: 'webhook' };
}

beforeAll(async () => {
  const fields = [
    { name: 'name', label: 'Name', type: 'text', required: true },
    { name: 'qty', label: 'Qty', type: 'integer' },
  ] as const;
  ws = await openPipelineWorkspace([
    { apiName: ORDERS, name: 'Webhook orders', fields: [...fields] },
    { apiName: PROBES, name: 'Webhook probes', fields: [...fields] },
    { apiName: 'wh_items', name: 'Webhook items', fields: [...fields] },
  ]);
  deps = { ports: ws.ports, apiKeys: ws.runtime.apiKeys };
  apiKey = (await createApiKey(ws.runtime.apiKeys, 'webhook tests', new Date())).key;
}, 120_000);

afterAll(async () => {
  await ws?.close();
});

/** Writes and applies a connector folder; activates it unless told otherwise. */
async function connector(
  folder: string,
  definition: ConnectorDefinitionInput,
  sql: string | undefined,
  options: { activate?: boolean } = {},
): Promise<ConnectorRecord> {
  await ws.writeConnector(folder, { definition, ...(sql === undefined ? {} : { sql }) });
  const { connector: applied } = await ws.apply(folder);
  if (options.activate === false) return applied;
  return setConnectorActive(ws.ports, applied.id, true);
}

interface Call {
  method?: string;
  path?: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

function api(ref: string, call: Call = {}): Promise<ApiResponse> {
  return handleApiRequest(deps, {
    method: call.method ?? 'POST',
    path: call.path ?? `/connectors/${ref}/webhook`,
    query: call.query ?? {},
    headers: call.headers ?? {},
    body: Buffer.isBuffer(call.body) ? call.body : Buffer.from(call.body ?? '', 'utf8'),
  });
}

/** Posts a call with the connector's token in the query string. */
async function post(target: ConnectorRecord, call: Call = {}): Promise<string> {
  const response = await api(target.apiName, {
    ...call,
    query: { token: target.webhookToken!, ...call.query },
  });
  expect(response.statusCode, String(response.body)).toBe(202);
  return (bodyOf(response) as { receiptId: string }).receiptId;
}

const postJson = (target: ConnectorRecord, value: unknown, headers: Record<string, string> = {}) =>
  post(target, { headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(value) });

function bodyOf(response: ApiResponse): unknown {
  return JSON.parse(String(response.body));
}

function errorOf(response: ApiResponse): { code: string; message: string; details?: unknown } {
  return (bodyOf(response) as { error: { code: string; message: string } }).error;
}

/** The receipt ids in an execution's input file, in order. */
async function receiptsOf(execution: Execution): Promise<string[]> {
  const text = await ws.ports.blobs.readText(execution.inputFile!.key);
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => (JSON.parse(line) as { receipt_id: string }).receipt_id);
}

async function finished(id: string): Promise<Execution> {
  await ws.runtime.stateMachine.idle();
  return (await ws.ports.executions.get(id))!;
}

async function pendingKeys(target: ConnectorRecord): Promise<string[]> {
  return ws.ports.blobs.list(webhookBlobs.folder(target.id, 'pending'));
}

/** A window that has closed on every call posted so far. */
const windowAfterNow = () => new Date(Date.now() + 1);

/** The same ports, with some blob store, execution store or orchestrator methods replaced. */
function portsWith(overrides: {
  blobs?: Partial<BlobStore>;
  executions?: Partial<ExecutionStore>;
  orchestrator?: Partial<Orchestrator>;
}): Ports {
  const wrap = <T extends object>(target: T, replaced: Partial<T> = {}): T =>
    new Proxy(target, {
      get: (object, property) => {
        const own = (replaced as Record<PropertyKey, unknown>)[property];
        if (own !== undefined) return own;
        const value = Reflect.get(object, property) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(object) : value;
      },
    });
  return {
    ...ws.ports,
    blobs: wrap(ws.ports.blobs, overrides.blobs),
    executions: wrap(ws.ports.executions, overrides.executions),
    orchestrator: wrap(ws.ports.orchestrator, overrides.orchestrator),
  };
}

describe('intake → flush → execution → records', () => {
  it('batches a window of JSON, form and query-string calls into one execution that loads them', async () => {
    const hook = await connector('orders-hook', webhookConnector('Orders hook', ORDERS), ORDERS_SQL);
    const receipts = [
      await postJson(hook, { order_id: 'A-1', qty: 2 }),
      await post(hook, {
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'x-webhook-token': hook.webhookToken!,
        },
        body: 'order_id=A-2&qty=5',
      }),
      await post(hook, { query: { id: 'A-3', qty: '7' } }),
      // Not JSON, not a form: kept in the batch, left out by the SQL, fatal for nothing.
      await post(hook, { headers: { 'content-type': 'text/plain' }, body: 'hello' }),
    ];
    // An API key works as well as the token.
    const byKey = await api(hook.apiName, {
      headers: { 'x-api-key': apiKey, 'content-type': 'application/json' },
      body: '{"order_id": "A-4"}',
    });
    expect(byKey.statusCode).toBe(202);
    expect(bodyOf(byKey)).toEqual({ receiptId: expect.any(String), sample: false });
    receipts.push((bodyOf(byKey) as { receiptId: string }).receiptId);
    expect(await pendingKeys(hook)).toHaveLength(5);

    const windowEnd = windowAfterNow();
    const execution = await flushWebhookWindow(ws.ports, hook.id, windowEnd);
    expect(execution).toMatchObject({
      id: webhookWindowExecutionId(hook.id, windowEnd),
      trigger: 'webhook',
      dryRun: false,
      inputFile: { table: 'webhooks_raw', name: expect.stringMatching(/^webhooks-\d{8}T\d{6}Z\.jsonl$/) },
    });
    expect(await receiptsOf(execution!)).toEqual(receipts);
    expect(await pendingKeys(hook)).toEqual([]);
    expect(await ws.ports.blobs.list(webhookBlobs.batches(hook.id))).toEqual([]);

    const ended = await finished(execution!.id);
    expect(ended.status).toBe('succeeded');
    expect(ended.counts.scopes.orders).toMatchObject({ rows: 4, valid: 4 });
    const orders = await ws.records(ORDERS);
    expect(orders.map((r) => [r.fields.name, r.fields.qty])).toEqual([
      ['A-1', 2],
      ['A-2', 5],
      ['A-3', 7],
      ['A-4', undefined],
    ]);
  });

  it('gives SQL input.webhooks_raw and the typed view input.webhooks', async () => {
    const probe = await connector('probe-hook', webhookConnector('Probe hook', PROBES), PROBE_SQL);
    // Sent as text: an integer beyond 2^53 keeps every digit from the sender to SQL.
    const first = await post(probe, {
      headers: { 'content-type': 'application/json', 'x-source': 'shop', 'x-api-key': apiKey },
      body: '{"order": {"id": 12345678901234567890}, "tags": ["a", "b"]}',
    });
    const form = await post(probe, {
      query: { channel: 'web' },
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'tag=a&tag=b&name=Ann+Lee',
    });
    // Valid JSON the JSON type cannot hold (a duplicate key) reads as {} and fails nothing.
    const duplicate = await post(probe, {
      headers: { 'content-type': 'application/json' },
      body: '{"a": 1, "a": 2}',
    });
    const binary = await post(probe, { body: Buffer.from([0xff, 0x00, 0xfe]) });

    const execution = await flushWebhookWindow(ws.ports, probe.id, windowAfterNow());
    const ended = await finished(execution!.id);
    expect(ended.status, JSON.stringify(ended.error)).toBe('succeeded');
    const rows = (await ws.ports.blobs.readText(artifacts.sqlScope(ended.id, 'probe')))
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(rows.map((row) => row.name)).toEqual([first, form, duplicate, binary]);
    for (const row of rows) {
      expect(row).toMatchObject({
        received_at_type: "DateTime64(3, 'UTC')",
        body_type: 'JSON',
        headers_type: 'Map(String, String)',
        has_credential: 0,
        raw_rows: 4,
      });
      expect(row.received_at_text).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}$/);
    }
    expect(rows[0]).toMatchObject({
      body_text: '{"order":{"id":12345678901234567890},"tags":["a","b"]}',
      x_source: 'shop',
      body_format: 'json',
      querystring: '',
    });
    expect(rows[1]).toMatchObject({
      body_text: '{"name":"Ann Lee","tag":["a","b"]}',
      body_format: 'form',
      querystring: 'channel=web',
      raw_body: 'tag=a&tag=b&name=Ann+Lee',
    });
    expect(rows[2]).toMatchObject({ body_text: '{}', body_format: 'json', raw_body: '{"a": 1, "a": 2}' });
    expect(rows[3]).toMatchObject({ body_text: '{}', body_format: 'binary', raw_body: '/wD+' });
  });

  it('runs the example connector on its sample payload', async () => {
    const folder = join(ROOT, 'examples/catalog/supplier_stock_webhook');
    await ws.addObjects(
      await Promise.all(
        ['vendors', 'products'].map(async (name) =>
          JSON.parse(await readFile(join(ROOT, 'examples/catalog/objects', `${name}.json`), 'utf8')),
        ),
      ),
    );
    const example = await connector(
      'supplier_stock_webhook',
      JSON.parse(await readFile(join(folder, 'connector.json'), 'utf8')) as ConnectorDefinitionInput,
      await readFile(join(folder, 'connector.sql'), 'utf8'),
    );
    const sample = await readFile(join(folder, 'data/product-update.json'), 'utf8');
    await post(example, { headers: { 'content-type': 'application/json' }, body: sample });
    // A later call about one SKU wins; another event is ignored.
    const later = JSON.parse(sample) as { products: Array<Record<string, unknown>> };
    later.products = [{ sku: 'GV-CAR-02', name: 'Carrots', price: 2.25, in_stock: true }];
    await postJson(example, later);
    await postJson(example, { event: 'supplier.deleted', supplier: { name: 'Nobody' } });

    const execution = await flushWebhookWindow(ws.ports, example.id, windowAfterNow());
    const ended = await finished(execution!.id);
    expect(ended.status, JSON.stringify(ended.error)).toBe('succeeded');
    const vendors = await ws.records('vendors');
    expect(vendors.map((v) => v.fields)).toEqual([
      { name: 'Green Valley Farm', email: 'orders@greenvalley.example', phone: '+14155550100' },
    ]);
    const products = await ws.records('products');
    expect(
      products.map((p) => [p.fields.sku, p.fields.name, p.fields.price, p.fields.in_stock, p.fields.vendor]),
    ).toEqual([
      ['GV-CAR-02', 'Carrots', 2.25, true, vendors[0]!.id],
      ['GV-APL-01', 'Honeycrisp apples', 3.49, true, vendors[0]!.id],
      ['GV-MLK-03', 'Whole milk', 2.15, true, vendors[0]!.id],
    ]);
  });
});

describe('the intake refuses', () => {
  let hook: ConnectorRecord;
  beforeAll(async () => {
    hook = await connector('refusals-hook', webhookConnector('Refusals hook', 'wh_items'), ORDERS_SQL);
  });

  it('a body over the limit with 413, storing nothing', async () => {
    const response = await api(hook.apiName, {
      query: { token: hook.webhookToken! },
      headers: { 'content-type': 'text/plain' },
      body: Buffer.alloc(MAX_WEBHOOK_BODY_BYTES + 1, 0x61),
    });
    expect(response.statusCode).toBe(413);
    expect(errorOf(response)).toMatchObject({
      code: 'WEBHOOK_BODY_TOO_LARGE',
      message: expect.stringContaining(`at most ${MAX_WEBHOOK_BODY_BYTES} bytes`),
    });
    expect(await pendingKeys(hook)).toEqual([]);
    // Exactly the limit is fine.
    await post(hook, {
      headers: { 'content-type': 'text/plain' },
      body: Buffer.alloc(MAX_WEBHOOK_BODY_BYTES, 0x61),
    });
    expect(await pendingKeys(hook)).toHaveLength(1);
  });

  it('a body declared JSON that does not parse with 400, storing nothing', async () => {
    const before = await pendingKeys(hook);
    const response = await api(hook.apiName, {
      query: { token: hook.webhookToken! },
      headers: { 'content-type': 'application/json' },
      body: '{"order_id": "A-1",',
    });
    expect(response.statusCode).toBe(400);
    expect(errorOf(response)).toMatchObject({
      code: 'INVALID_JSON_BODY',
      message: expect.stringContaining('Send valid JSON'),
    });
    expect(await pendingKeys(hook)).toEqual(before);
  });

  it('a call without a token or key with 401, and a wrong token or key with 403', async () => {
    const other = await connector('other-hook', webhookConnector('Other hook', 'wh_items'), ORDERS_SQL);
    const cases: Array<[Call, number]> = [
      [{}, 401],
      [{ query: { token: 'not-the-token' } }, 403],
      [{ headers: { 'x-webhook-token': 'not-the-token' } }, 403],
      [{ query: { token: other.webhookToken! } }, 403],
      [{ headers: { 'x-api-key': 'sc_unknown' } }, 403],
    ];
    const before = await pendingKeys(hook);
    for (const [call, status] of cases) {
      const response = await api(hook.apiName, { ...call, body: '{}' });
      expect(response.statusCode, JSON.stringify(call)).toBe(status);
    }
    expect(await pendingKeys(hook)).toEqual(before);
  });

  it('a connector that is not a webhook connector with 409, and an unknown one with 404', async () => {
    const sheet = await connector('sheet', itemsConnector('Sheet', ['wh_items']), undefined);
    const response = await api(sheet.apiName, { headers: { 'x-api-key': apiKey }, body: '{}' });
    expect(response.statusCode).toBe(409);
    expect(errorOf(response)).toMatchObject({
      code: 'NOT_A_WEBHOOK_CONNECTOR',
      message: expect.stringContaining('is a spreadsheet connector'),
    });
    const unknown = await api('no_such_connector', { headers: { 'x-api-key': apiKey }, body: '{}' });
    expect(unknown.statusCode).toBe(404);
  });
});

describe('samples of an inactive connector', () => {
  let hook: ConnectorRecord;
  beforeAll(async () => {
    hook = await connector('samples-hook', webhookConnector('Samples hook', ORDERS), ORDERS_SQL, {
      activate: false,
    });
  });

  const samples = (query: Record<string, string> = {}, key = apiKey) =>
    api(hook.apiName, {
      method: 'GET',
      path: `/connectors/${hook.apiName}/webhook-samples`,
      query,
      headers: { 'x-api-key': key },
    });
  const replay = (body: unknown) =>
    api(hook.apiName, {
      path: `/connectors/${hook.apiName}/webhook-samples/replay`,
      headers: { 'x-api-key': apiKey, 'content-type': 'application/json' },
      body: body === undefined ? '' : JSON.stringify(body),
    });

  it('keeps calls as samples, lists them newest first page by page, and never batches them', async () => {
    // A connector in setup keeps samples, as one deactivated does.
    expect(hook.status).toBe('setup');
    const first = await api(hook.apiName, {
      query: { token: hook.webhookToken! },
      headers: { 'content-type': 'application/json', 'x-api-key-not': 'kept' },
      body: '{"order_id": "S-1", "qty": 1}',
    });
    expect(first.statusCode).toBe(202);
    expect(bodyOf(first)).toMatchObject({ sample: true });
    await setConnectorActive(ws.ports, hook.id, false);
    await post(hook, {
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'order_id=S-2',
    });
    await post(hook, { query: { order_id: 'S-3', token: hook.webhookToken! } });

    expect(await flushWebhookWindow(ws.ports, hook.id, windowAfterNow())).toBeNull();
    expect(await ws.ports.executions.listByConnector(hook.id)).toEqual([]);

    const page1 = bodyOf(await samples({ limit: '2' })) as {
      items: Array<Record<string, unknown>>;
      nextCursor: string | null;
    };
    expect(page1.items.map((item) => item.bodyFormat)).toEqual(['query', 'form']);
    expect(page1.items[0]).toMatchObject({ querystring: 'order_id=S-3', body: '', bodyTruncated: false });
    expect(page1.nextCursor).toEqual(expect.any(String));
    const page2 = bodyOf(await samples({ limit: '2', cursor: page1.nextCursor! })) as typeof page1;
    expect(page2.nextCursor).toBeNull();
    expect(page2.items).toEqual([
      {
        receiptId: (bodyOf(first) as { receiptId: string }).receiptId,
        receivedAt: expect.stringMatching(/Z$/),
        contentType: 'application/json',
        querystring: '',
        headers: { 'content-type': 'application/json', 'x-api-key-not': 'kept' },
        body: '{"order_id": "S-1", "qty": 1}',
        bodyEncoding: 'utf8',
        bodyFormat: 'json',
        bodyLength: 29,
        bodyTruncated: false,
      },
    ]);
  });

  it('answers 400 for a bad page query or cursor, and 403 for the webhook token', async () => {
    expect(errorOf(await samples({ limit: '0' }))).toMatchObject({
      code: 'INVALID_REQUEST',
      details: [{ path: 'query.limit' }],
    });
    expect(errorOf(await samples({ cursor: 'nope' }))).toMatchObject({ code: 'INVALID_CURSOR' });
    const byToken = await api(hook.apiName, {
      method: 'GET',
      path: `/connectors/${hook.apiName}/webhook-samples`,
      query: { token: hook.webhookToken! },
    });
    expect(byToken.statusCode).toBe(401);
  });

  it('replays chosen samples, then all, into executions of their own; samples stay', async () => {
    const listed = bodyOf(await samples()) as { items: Array<{ receiptId: string }> };
    const [newest] = listed.items;
    const one = await replay({ receiptIds: [newest!.receiptId], dryRun: true });
    expect(one.statusCode).toBe(202);
    const dry = bodyOf(one) as { id: string; trigger: string; dryRun: boolean };
    expect(dry).toMatchObject({ trigger: 'replay', dryRun: true });
    const dryEnded = await finished(dry.id);
    expect(dryEnded).toMatchObject({ status: 'succeeded', initiatedBy: 'api:webhook tests' });
    expect(await receiptsOf(dryEnded)).toEqual([newest!.receiptId]);
    expect(await ws.records(ORDERS)).not.toContainEqual(
      expect.objectContaining({ fields: expect.objectContaining({ name: 'S-3' }) }),
    );

    // A live replay of an inactive connector waits in the queue, and runs once it is activated.
    const all = bodyOf(await replay(undefined)) as { id: string; status: string };
    expect(all.status).toBe('queued');
    await setConnectorActive(ws.ports, hook.id, true);
    const live = await finished(all.id);
    expect(live.status).toBe('succeeded');
    expect(await receiptsOf(live)).toEqual(listed.items.map((item) => item.receiptId).reverse());
    const names = (await ws.records(ORDERS)).map((r) => r.fields.name);
    expect(names).toEqual(expect.arrayContaining(['S-1', 'S-2', 'S-3']));

    expect((bodyOf(await samples()) as { items: unknown[] }).items).toHaveLength(3);
  });

  it('refuses unknown receipt ids (404), an empty list (400), and a connector with no samples (409)', async () => {
    const unknown = await replay({ receiptIds: ['nope'] });
    expect(unknown.statusCode).toBe(404);
    expect(errorOf(unknown)).toMatchObject({
      code: 'WEBHOOK_SAMPLE_NOT_FOUND',
      message: expect.stringContaining('no sample nope'),
    });
    const empty = await replay({ receiptIds: [] });
    expect(empty.statusCode).toBe(400);
    expect(errorOf(empty)).toMatchObject({ details: [{ path: 'body.receiptIds' }] });
    const wrongType = await replay({ dryRun: 'yes' });
    expect(errorOf(wrongType)).toMatchObject({ details: [{ path: 'body.dryRun' }] });

    const bare = await connector('bare-hook', webhookConnector('Bare hook', 'wh_items'), ORDERS_SQL);
    const none = await api(bare.apiName, {
      path: `/connectors/${bare.apiName}/webhook-samples/replay`,
      headers: { 'x-api-key': apiKey },
    });
    expect(none.statusCode).toBe(409);
    expect(errorOf(none)).toMatchObject({ code: 'NO_WEBHOOK_SAMPLES' });
  });

  it(`keeps the newest ${WEBHOOK_SAMPLE_LIMIT} samples`, async () => {
    const capped = await connector('capped-hook', webhookConnector('Capped hook', 'wh_items'), ORDERS_SQL, {
      activate: false,
    });
    const receipts: string[] = [];
    for (let i = 0; i < WEBHOOK_SAMPLE_LIMIT + 2; i++) {
      receipts.push(
        (
          await receiveWebhook(ws.ports, capped, {
            query: { n: String(i) },
            headers: {},
            body: Buffer.alloc(0),
          })
        ).receiptId,
      );
    }
    // The answer says the call is a sample, not batched, and that older samples are deleted.
    const last = await api(capped.apiName, { query: { token: capped.webhookToken!, n: 'last' } });
    expect(last.statusCode).toBe(202);
    const receipt = bodyOf(last) as { receiptId: string; sample: boolean; note: string };
    expect(receipt).toEqual({ receiptId: expect.any(String), sample: true, note: expect.any(String) });
    expect(receipt.note).toContain(
      'Connector capped_hook is not active (status setup): the call was kept as a sample',
    );
    expect(receipt.note).toContain(
      `Only the newest ${WEBHOOK_SAMPLE_LIMIT} samples are kept: older ones are deleted as new ones arrive.`,
    );
    receipts.push(receipt.receiptId);
    const kept = await ws.ports.blobs.list(webhookBlobs.folder(capped.id, 'samples'));
    expect(kept).toHaveLength(WEBHOOK_SAMPLE_LIMIT);
    const keptIds = new Set(kept.map((key) => /-([^/]+)\.json$/.exec(key)![1]));
    expect(receipts.slice(0, 3).filter((id) => keptIds.has(id))).toEqual([]);
    expect(receipts.slice(3).every((id) => keptIds.has(id))).toBe(true);
  });
});

describe('replaying the same samples again', () => {
  let hook: ConnectorRecord;
  let receiptIds: string[];
  beforeAll(async () => {
    hook = await connector('replayed-hook', webhookConnector('Replayed hook', 'wh_items'), ORDERS_SQL, {
      activate: false,
    });
    receiptIds = [];
    for (const id of ['P-1', 'P-2']) {
      receiptIds.push(
        (await receiveWebhook(ws.ports, hook, { query: { id }, headers: {}, body: Buffer.alloc(0) }))
          .receiptId,
      );
    }
  });

  const replay = (body: unknown) =>
    api(hook.apiName, {
      path: `/connectors/${hook.apiName}/webhook-samples/replay`,
      headers: { 'x-api-key': apiKey, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const replays = async () =>
    (await ws.ports.executions.listByConnector(hook.id)).filter((e) => e.trigger === 'replay');

  it('makes one execution when a replay is retried after its dispatch failed', async () => {
    // Step Functions does not answer: the execution is registered and queued, the client sees an error.
    const failing = portsWith({
      orchestrator: {
        start: async () => {
          throw new Error('Step Functions did not answer');
        },
      },
    });
    await expect(
      replayWebhookSamples(failing, hook.id, { receiptIds, dryRun: true, initiatedBy: 'api:webhook tests' }),
    ).rejects.toThrow('Step Functions did not answer');
    const [registered] = await replays();
    expect(registered).toMatchObject({ status: 'queued', dryRun: true });

    // The client retries (the samples named in another order): the same execution, dispatched now.
    const retry = await replay({ receiptIds: [...receiptIds].reverse(), dryRun: true });
    expect(retry.statusCode).toBe(202);
    expect(bodyOf(retry)).toMatchObject({ id: registered!.id });
    const ended = await finished(registered!.id);
    expect(ended.status, JSON.stringify(ended.error)).toBe('succeeded');
    expect(await receiptsOf(ended)).toEqual(receiptIds);
    expect(await replays()).toHaveLength(1);
  });

  it('makes a new execution once the first has ended, and for other samples or another dryRun', async () => {
    const [first] = await replays();
    const again = bodyOf(await replay({ receiptIds, dryRun: true })) as { id: string };
    expect(again.id).not.toBe(first!.id);
    expect((await finished(again.id)).status).toBe('succeeded');

    // A live replay waits in the queue (the connector is in setup); repeating it answers the same run.
    const live = bodyOf(await replay({ receiptIds })) as { id: string; status: string };
    expect(live.status).toBe('queued');
    expect(bodyOf(await replay({ receiptIds }))).toMatchObject({ id: live.id, status: 'queued' });
    const one = bodyOf(await replay({ receiptIds: receiptIds.slice(0, 1) })) as { id: string };
    expect(new Set([first!.id, again.id, live.id, one.id]).size).toBe(4);
    expect(await replays()).toHaveLength(4);
  });

  it('makes a new execution for a new version of the connector', async () => {
    // The live replay of the test before, still queued.
    const before = bodyOf(await replay({ receiptIds })) as { id: string; status: string };
    expect(before.status).toBe('queued');
    expect(await replays()).toHaveLength(4);
    const patched = await api(hook.apiName, {
      method: 'PATCH',
      path: `/connectors/${hook.apiName}`,
      headers: { 'x-api-key': apiKey, 'content-type': 'application/json' },
      body: JSON.stringify({ description: 'SQL fixed' }),
    });
    expect(patched.statusCode).toBe(200);
    const after = bodyOf(await replay({ receiptIds })) as { id: string };
    expect(after.id).not.toBe(before.id);
    expect((await ws.ports.executions.get(after.id))?.connectorVersion).toBe(2);
    expect(await replays()).toHaveLength(5);
  });
});

describe('a webhook connector that changes or is deleted', () => {
  const patch = (target: ConnectorRecord, body: unknown) =>
    api(target.apiName, {
      method: 'PATCH',
      path: `/connectors/${target.apiName}`,
      headers: { 'x-api-key': apiKey, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const stored = (target: ConnectorRecord) => ws.ports.blobs.list(`webhooks/${target.id}/`);

  it('flushes its pending calls when its type changes, into a run of the webhook version that got them', async () => {
    const hook = await connector('retyped-hook', webhookConnector('Retyped hook', ORDERS), ORDERS_SQL);
    const receipts = [
      await postJson(hook, { order_id: 'T-1', qty: 1 }),
      await postJson(hook, { order_id: 'T-2' }),
    ];
    const changed = await patch(hook, { type: 'scheduler' });
    expect(changed.statusCode, String(changed.body)).toBe(200);
    expect(await pendingKeys(hook)).toEqual([]);
    const [execution] = await ws.ports.executions.listByConnector(hook.id);
    expect(execution).toMatchObject({ trigger: 'webhook', connectorVersion: 1, dryRun: false });
    expect(await receiptsOf(execution!)).toEqual(receipts);
    const ended = await finished(execution!.id);
    expect(ended.status, JSON.stringify(ended.error)).toBe('succeeded');
    expect((await ws.records(ORDERS)).map((r) => r.fields.name)).toEqual(
      expect.arrayContaining(['T-1', 'T-2']),
    );
    // A scheduler connector takes no webhook call.
    const refused = await api(hook.apiName, { query: { token: hook.webhookToken! }, body: '' });
    expect(refused.statusCode).toBe(409);
    expect(await stored(hook)).toEqual([]);
  });

  it('flushes its pending calls when its folder is saved as another type (sc run, sc serve)', async () => {
    const definition = webhookConnector('Refoldered hook', ORDERS);
    const hook = await connector('refoldered-hook', definition, ORDERS_SQL);
    const receipts = [await postJson(hook, { order_id: 'F-1' }), await postJson(hook, { order_id: 'F-2' })];
    await ws.writeConnector('refoldered-hook', {
      definition: { ...definition, type: 'scheduler' },
      sql: ORDERS_SQL,
    });
    const { version } = await ws.apply('refoldered-hook');
    expect(version.version).toBe(2);
    expect(await pendingKeys(hook)).toEqual([]);
    const [execution] = await ws.ports.executions.listByConnector(hook.id);
    expect(execution).toMatchObject({ trigger: 'webhook', connectorVersion: 1 });
    expect(await receiptsOf(execution!)).toEqual(receipts);
  });

  it('flushes its pending calls when its cadence is removed, then keeps calls as samples, saying why', async () => {
    const hook = await connector(
      'uncadenced-hook',
      webhookConnector('Uncadenced hook', 'wh_items', { maxConcurrentExecutions: 0 }),
      ORDERS_SQL,
    );
    const receipt = await postJson(hook, { order_id: 'U-1' });
    expect((await patch(hook, { settings: { cadence: null } })).statusCode).toBe(200);
    expect(await pendingKeys(hook)).toEqual([]);
    const [execution] = await ws.ports.executions.listByConnector(hook.id);
    expect(execution).toMatchObject({ trigger: 'webhook', connectorVersion: 1, status: 'queued' });
    expect(await receiptsOf(execution!)).toEqual([receipt]);

    const later = await api(hook.apiName, { query: { token: hook.webhookToken!, order_id: 'U-2' } });
    expect(later.statusCode).toBe(202);
    expect(bodyOf(later)).toEqual({
      receiptId: expect.any(String),
      sample: true,
      note: expect.stringContaining(
        'Connector uncadenced_hook has no cadence, so no window batches its calls: the call was kept as a sample.',
      ),
    });
    expect(await pendingKeys(hook)).toEqual([]);
    expect(await ws.ports.blobs.list(webhookBlobs.folder(hook.id, 'samples'))).toHaveLength(1);
  });

  it('keeps its pending calls when its cadence changes: the first tick of the new cadence takes them', async () => {
    const hook = await connector(
      'recadenced-hook',
      webhookConnector('Recadenced hook', 'wh_items', { maxConcurrentExecutions: 0 }),
      ORDERS_SQL,
    );
    const receipt = await postJson(hook, { order_id: 'C-1' });
    expect((await patch(hook, { settings: { cadence: 'rate(5 minutes)' } })).statusCode).toBe(200);
    expect(await pendingKeys(hook)).toHaveLength(1);
    expect(await ws.ports.executions.listByConnector(hook.id)).toEqual([]);
    const tick = await tickConnector(ws.ports, hook.id, new Date(Date.now() + 1000), { log: () => {} });
    expect(tick).toMatchObject({ outcome: 'flushed', executionId: expect.any(String) });
    const [execution] = await ws.ports.executions.listByConnector(hook.id);
    expect(execution).toMatchObject({ connectorVersion: 2 });
    expect(await receiptsOf(execution!)).toEqual([receipt]);
    expect(await pendingKeys(hook)).toEqual([]);
  });

  it('removes its pending calls and samples when it is deleted', async () => {
    const hook = await connector('doomed-hook', webhookConnector('Doomed hook', 'wh_items'), ORDERS_SQL);
    await postJson(hook, { order_id: 'D-1' });
    await setConnectorActive(ws.ports, hook.id, false);
    await postJson(hook, { order_id: 'D-2' });
    expect(await stored(hook)).toHaveLength(2);
    const deleted = await api(hook.apiName, {
      method: 'DELETE',
      path: `/connectors/${hook.apiName}`,
      headers: { 'x-api-key': apiKey },
    });
    expect(deleted.statusCode).toBe(204);
    expect(await stored(hook)).toEqual([]);
  });

  it('keeps no call stored while its connector is deleted, and answers 404', async () => {
    const hook = await connector(
      'vanishing-hook',
      webhookConnector('Vanishing hook', 'wh_items'),
      ORDERS_SQL,
    );
    // The delete removes the connector and clears its calls just before this call's blob is written.
    const racing = portsWith({
      blobs: {
        put: async (key: string, body: string | Uint8Array) => {
          if (key.includes('/pending/')) await deleteConnector(ws.ports, hook.id);
          return ws.ports.blobs.put(key, body);
        },
      },
    });
    const answer = await handleApiRequest(
      { ports: racing, apiKeys: ws.runtime.apiKeys },
      {
        method: 'POST',
        path: `/connectors/${hook.apiName}/webhook`,
        query: { id: 'V-1' },
        headers: { 'x-api-key': apiKey },
        body: Buffer.alloc(0),
      },
    );
    expect(answer.statusCode).toBe(404);
    expect(errorOf(answer)).toMatchObject({
      code: 'CONNECTOR_NOT_FOUND',
      message: expect.stringContaining('was deleted while the call was received; the call was not kept'),
    });
    expect(await stored(hook)).toEqual([]);
  });
});

describe('batching guarantees', () => {
  let hook: ConnectorRecord;
  beforeAll(async () => {
    // Paused (limit 0): its executions stay queued, since what matters here is what each one holds.
    hook = await connector(
      'guarantees-hook',
      webhookConnector('Guarantees hook', 'wh_items', { maxConcurrentExecutions: 0 }),
      ORDERS_SQL,
    );
  });

  const all = async () => ws.ports.executions.listByConnector(hook.id);

  it('makes nothing new when the same window is flushed again, and nothing for an empty window', async () => {
    const receipt = await postJson(hook, { order_id: 'G-1' });
    const windowEnd = windowAfterNow();
    const first = await flushWebhookWindow(ws.ports, hook.id, windowEnd);
    // A call that arrives after the first flush is not pulled into the flushed window by a repeat.
    const late = await postJson(hook, { order_id: 'G-2' });
    const again = await flushWebhookWindow(ws.ports, hook.id, windowEnd);
    expect(again?.id).toBe(first!.id);
    expect(await receiptsOf(again!)).toEqual([receipt]);
    expect(await all()).toHaveLength(1);
    const next = await flushWebhookWindow(ws.ports, hook.id, windowAfterNow());
    expect(await receiptsOf(next!)).toEqual([late]);
    expect(await flushWebhookWindow(ws.ports, hook.id, windowAfterNow())).toBeNull();
    expect(await all()).toHaveLength(2);
  });

  it('leaves a call stored while a flush runs for the next window', async () => {
    const before = await postJson(hook, { order_id: 'G-3' });
    let during: string | undefined;
    const ports = portsWith({
      blobs: {
        // The flush has listed the pending calls and is reading them when another call arrives.
        readText: async (key: string) => {
          if (during === undefined && key.includes('/pending/')) {
            during = (
              await receiveWebhook(ws.ports, hook, {
                query: { order_id: 'G-4' },
                headers: {},
                body: Buffer.alloc(0),
              })
            ).receiptId;
          }
          return ws.ports.blobs.readText(key);
        },
      },
    });
    // Its window ends well after the call arrived: still, the flush did not list it.
    const flushed = await flushWebhookWindow(ports, hook.id, new Date(Date.now() + 60_000));
    expect(await receiptsOf(flushed!)).toEqual([before]);
    expect(await pendingKeys(hook)).toEqual([expect.stringContaining(during!)]);
    const next = await flushWebhookWindow(ws.ports, hook.id, new Date(Date.now() + 120_000));
    expect(await receiptsOf(next!)).toEqual([during]);
    expect(await pendingKeys(hook)).toEqual([]);
  });

  it('recovers a flush that crashed after registering: the calls stay in that execution only', async () => {
    const receipts = [await postJson(hook, { order_id: 'G-5' }), await postJson(hook, { order_id: 'G-6' })];
    const crashing = portsWith({
      blobs: {
        delete: async (key: string) => {
          if (key.includes('/pending/')) throw new Error('the process died');
          return ws.ports.blobs.delete(key);
        },
      },
    });
    const windowEnd = windowAfterNow();
    await expect(flushWebhookWindow(crashing, hook.id, windowEnd)).rejects.toThrow('the process died');
    const crashed = (await ws.ports.executions.get(webhookWindowExecutionId(hook.id, windowEnd)))!;
    expect(await receiptsOf(crashed)).toEqual(receipts);
    expect(await pendingKeys(hook)).toHaveLength(2);

    // The next window's flush finishes the claim first: the calls are not taken again.
    const late = await postJson(hook, { order_id: 'G-7' });
    const next = await flushWebhookWindow(ws.ports, hook.id, windowAfterNow());
    expect(await receiptsOf(next!)).toEqual([late]);
    expect(await pendingKeys(hook)).toEqual([]);
    expect(await ws.ports.blobs.list(webhookBlobs.batches(hook.id))).toEqual([]);
    // A retry of the crashed window finds its execution.
    expect((await flushWebhookWindow(ws.ports, hook.id, windowEnd))?.id).toBe(crashed.id);
  });

  it('recovers a flush that crashed before registering: its calls go to the next flush', async () => {
    const receipts = [await postJson(hook, { order_id: 'G-8' })];
    const crashing = portsWith({
      executions: {
        create: async () => {
          throw new Error('the process died');
        },
      },
    });
    const windowEnd = windowAfterNow();
    await expect(flushWebhookWindow(crashing, hook.id, windowEnd)).rejects.toThrow('the process died');
    expect(await ws.ports.executions.get(webhookWindowExecutionId(hook.id, windowEnd))).toBeNull();
    expect(await ws.ports.blobs.list(webhookBlobs.batches(hook.id))).toHaveLength(1);

    const retried = await flushWebhookWindow(ws.ports, hook.id, windowEnd);
    expect(await receiptsOf(retried!)).toEqual(receipts);
    expect(await pendingKeys(hook)).toEqual([]);
    expect(await ws.ports.blobs.list(webhookBlobs.batches(hook.id))).toEqual([]);
  });

  it('takes a registration answered CONFLICT as its own when the stored item is its own (an SDK retry)', async () => {
    const receipts = [await postJson(hook, { order_id: 'G-R1' }), await postJson(hook, { order_id: 'G-R2' })];
    // The put reaches the table, its reply is lost, the SDK sends it again and the condition fails.
    let puts = 0;
    const retried = portsWith({
      executions: {
        create: async (execution: Execution) => {
          await ws.ports.executions.create(execution);
          if (puts++ === 0) throw new ScError('CONFLICT', `Execution ${execution.id} already exists.`);
        },
      },
    });
    const windowEnd = windowAfterNow();
    const execution = await flushWebhookWindow(retried, hook.id, windowEnd);
    expect(execution?.id).toBe(webhookWindowExecutionId(hook.id, windowEnd));
    expect(await receiptsOf(execution!)).toEqual(receipts);
    // Its calls are taken: no later window gets them again.
    expect(await pendingKeys(hook)).toEqual([]);
    expect(await ws.ports.blobs.list(webhookBlobs.batches(hook.id))).toEqual([]);
    expect(await flushWebhookWindow(ws.ports, hook.id, windowAfterNow())).toBeNull();
  });

  it('leaves its calls pending when another flush registered the window with an input of its own', async () => {
    const receipts = [await postJson(hook, { order_id: 'G-R3' })];
    const windowEnd = windowAfterNow();
    const id = webhookWindowExecutionId(hook.id, windowEnd);
    // A flush that took over a stale lease from a live one: the live one registers the window between
    // this flush's check for the execution and its own create.
    const rivalKey = `executions/${id}/input/rival/webhooks.jsonl`;
    await ws.ports.blobs.put(rivalKey, 'the rival input\n');
    const racing = portsWith({
      executions: {
        create: async (execution: Execution) => {
          await ws.ports.executions.create({
            ...execution,
            inputFile: { ...execution.inputFile!, key: rivalKey },
          });
          await ws.ports.executions.create(execution);
        },
      },
    });
    const found = await flushWebhookWindow(racing, hook.id, windowEnd);
    expect(found?.inputFile?.key).toBe(rivalKey);
    // Its calls stay for the next window, its own input file is gone, and the rival's is untouched.
    expect(await pendingKeys(hook)).toHaveLength(1);
    expect(await ws.ports.blobs.list(`executions/${id}/input/`)).toEqual([rivalKey]);
    expect(await ws.ports.blobs.readText(rivalKey)).toBe('the rival input\n');
    expect(await ws.ports.blobs.list(webhookBlobs.batches(hook.id))).toEqual([]);
    const next = await flushWebhookWindow(ws.ports, hook.id, windowAfterNow());
    expect(await receiptsOf(next!)).toEqual(receipts);
    expect(await pendingKeys(hook)).toEqual([]);
  });

  it("drops a leftover claim whose execution holds another attempt's input, keeping its calls", async () => {
    await postJson(hook, { order_id: 'G-R4' });
    const registered = (await flushWebhookWindow(ws.ports, hook.id, windowAfterNow()))!;
    const receipt = await postJson(hook, { order_id: 'G-R5' });
    const [key] = await pendingKeys(hook);
    // Left by a flush that died after losing the registration of that window to another flush.
    await ws.ports.blobs.put(
      webhookBlobs.batch(hook.id, registered.id),
      JSON.stringify({
        executionId: registered.id,
        keys: [key],
        inputKey: `executions/${registered.id}/input/lost/webhooks.jsonl`,
      }),
    );
    const next = await flushWebhookWindow(ws.ports, hook.id, windowAfterNow());
    expect(await receiptsOf(next!)).toEqual([receipt]);
    expect(await ws.ports.blobs.list(webhookBlobs.batches(hook.id))).toEqual([]);
  });

  it('takes at most maxCalls calls per window, oldest first; the rest wait for the next windows', async () => {
    expect(MAX_CALLS_PER_WINDOW).toBe(5000);
    const receipts: string[] = [];
    for (let i = 0; i < 5; i++) receipts.push(await postJson(hook, { order_id: `G-M${i}` }));
    const end = Date.now() + 1;
    const windows: string[][] = [];
    for (let i = 0; ; i++) {
      const execution = await flushWebhookWindow(ws.ports, hook.id, new Date(end + i), { maxCalls: 2 });
      if (!execution) break;
      windows.push(await receiptsOf(execution));
    }
    expect(windows).toEqual([receipts.slice(0, 2), receipts.slice(2, 4), receipts.slice(4)]);
    expect(await pendingKeys(hook)).toEqual([]);
  });

  it('refuses a maxCalls that is not a whole number of at least 1, taking nothing', async () => {
    await postJson(hook, { order_id: 'G-M9' });
    for (const maxCalls of [0, -1, 1.5, Number.NaN]) {
      await expect(
        flushWebhookWindow(ws.ports, hook.id, windowAfterNow(), { maxCalls }),
      ).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
        message: expect.stringContaining('maxCalls must be a whole number of at least 1'),
      });
    }
    expect(await pendingKeys(hook)).toHaveLength(1);
    expect(await flushWebhookWindow(ws.ports, hook.id, windowAfterNow())).not.toBeNull();
  });

  it('puts each call in one execution when two windows flush at once', async () => {
    const receipts: string[] = [];
    for (let i = 0; i < 6; i++) receipts.push(await postJson(hook, { order_id: `G-C${i}` }));
    const [a, b] = await Promise.all([
      flushWebhookWindow(ws.ports, hook.id, new Date(Date.now() + 1_000)),
      flushWebhookWindow(ws.ports, hook.id, new Date(Date.now() + 2_000)),
    ]);
    const taken = [...(a ? await receiptsOf(a) : []), ...(b ? await receiptsOf(b) : [])];
    expect(taken.sort()).toEqual([...receipts].sort());
    expect(await pendingKeys(hook)).toEqual([]);
  });
});
