import { readFile } from 'node:fs/promises';
import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { S3BlobStore } from '../../lambdas/adapters/aws/s3-blob-store.ts';
import { MAX_DIRECT_UPLOAD_BYTES } from '../../lambdas/core/upload-limits.ts';
import { s3ClientFor, startS3SqsStandIn, type S3SqsStandIn } from '../../lambdas/local/s3-sqs-stand-in.ts';
import { createApiKey, handleApiRequest, type ApiDeps } from '../../lambdas/pipeline/api.ts';
import { executionSchema, rowResultSchema } from '../../lambdas/pipeline/api/execution-routes.ts';
import { apiErrorSchema } from '../../lambdas/pipeline/api/http.ts';
import { encodeCursor, pageSchema } from '../../lambdas/pipeline/api/pagination.ts';
import { csv, itemsConnector, openPipelineWorkspace, type PipelineWorkspace } from '../helpers/pipeline.ts';

/*
 * The execution routes through the API's request function on the local runtime, with real runs on the
 * local state machine and chDB: starting from a multipart form and from a raw body (flags, 400s, 413),
 * the SPEC shape of an execution, lists with filters and pages, per-row results with filters and pages
 * (and the unprocessed rows of a stopped run), the report and input downloads (bytes locally, a 302 to a
 * presigned S3 URL where the store can presign), and cancel.
 */

let ws: PipelineWorkspace;
let deps: ApiDeps;
let key: string;

beforeAll(async () => {
  ws = await openPipelineWorkspace([
    {
      apiName: 'ae_items',
      name: 'Items',
      fields: [
        { name: 'name', type: 'text' },
        { name: 'qty', type: 'integer' },
      ],
    },
    {
      apiName: 'ae_coded',
      name: 'Coded',
      fields: [
        { name: 'name', type: 'text' },
        { name: 'code', type: 'text', required: true },
      ],
    },
  ]);
  deps = { ports: ws.ports, apiKeys: ws.runtime.apiKeys };
  key = (await createApiKey(ws.runtime.apiKeys, 'exec tests', new Date())).key;
  await ws.writeConnector('ae_items', {
    definition: itemsConnector('AE items', ['ae_items'], { chunkSize: 2 }),
  });
  await ws.apply('ae_items');
  // Rows create records without the required `code`: each fails, and the stop rule ends the run.
  await ws.writeConnector('ae_stops', {
    definition: {
      ...itemsConnector('AE stops', ['ae_coded'], { chunkSize: 1, maxFailedRowsPercent: 0 }),
      loadSteps: [
        {
          name: 'Coded',
          object: 'ae_coded',
          matching: [{ field: 'name', variable: 'name' }],
          mapping: [{ field: 'name', variable: 'name' }],
        },
      ],
    },
  });
  await ws.apply('ae_stops');
});
afterAll(async () => {
  await ws?.close();
});

interface Answer {
  status: number;
  headers: Record<string, string>;
  bytes: Buffer;
  body: unknown;
}

async function call(
  method: string,
  path: string,
  init: { body?: Buffer | string; headers?: Record<string, string>; deps?: ApiDeps } = {},
): Promise<Answer> {
  const [pathname, search] = path.split('?');
  const response = await handleApiRequest(init.deps ?? deps, {
    method,
    path: pathname!,
    query: Object.fromEntries(new URLSearchParams(search ?? '')),
    headers: { 'x-api-key': key, ...init.headers },
    body: Buffer.from(init.body ?? ''),
  });
  const bytes = Buffer.isBuffer(response.body) ? response.body : Buffer.from(response.body);
  const isJson = response.headers['content-type'] === 'application/json';
  return {
    status: response.statusCode,
    headers: response.headers,
    bytes,
    body: isJson ? JSON.parse(bytes.toString('utf8')) : null,
  };
}

function as<T extends z.ZodType>(answer: Answer, status: number, schema: T): z.output<T> {
  expect(answer.status, JSON.stringify(answer.body)).toBe(status);
  return schema.parse(answer.body);
}

const errorOf = (answer: Answer, status: number) => as(answer, status, apiErrorSchema).error;
const pathsOf = (error: { details?: Array<{ path: string }> | undefined }) =>
  (error.details ?? []).map((d) => d.path);
const executionPage = pageSchema(executionSchema);
const rowPage = pageSchema(rowResultSchema);

/** A multipart/form-data body as a browser or curl -F sends it. */
async function multipart(fields: Record<string, string>, file?: { name: string; content: string | Buffer }) {
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) form.append(name, value);
  if (file) form.append('file', new Blob([file.content]), file.name);
  const request = new Request('http://localhost/', { method: 'POST', body: form });
  return {
    body: Buffer.from(await request.arrayBuffer()),
    headers: { 'content-type': request.headers.get('content-type')! },
  };
}

async function settled(id: string) {
  await ws.runtime.stateMachine.idle();
  return as(await call('GET', `/executions/${id}`), 200, executionSchema);
}

const FIVE_ROWS = csv(['name', 'qty'], ['Apple', 1], ['Pear', 2], ['Fig', 'x'], ['Plum', 4], ['Kiwi', 5]);
let dryRunId: string;
let liveId: string;

describe('POST /connectors/{ref}/executions', () => {
  it('starts a dry run from a multipart form, and answers 202 with the execution in the SPEC shape', async () => {
    const form = await multipart({ dryRun: 'true' }, { name: 'fruit.csv', content: FIVE_ROWS });
    const started = as(
      await call('POST', '/connectors/ae_items/executions', form),
      202,
      executionSchema.strict(),
    );
    expect(Object.keys(started).sort()).toEqual(
      [
        'id',
        'connector',
        'status',
        'dryRun',
        'trigger',
        'createdAt',
        'startedAt',
        'endedAt',
        'stage',
        'progress',
        'counts',
        'error',
      ].sort(),
    );
    expect(started).toMatchObject({
      connector: { apiName: 'ae_items', name: 'AE items', version: 1 },
      dryRun: true,
      trigger: 'api',
    });
    dryRunId = started.id;
    const ended = await settled(dryRunId);
    expect(ended).toMatchObject({
      status: 'partial_success',
      stage: 'done',
      error: null,
      counts: {
        scopes: { default: { rows: 5, valid: 4, invalid: 1 } },
        steps: [{ name: 'ae_items', object: 'ae_items', created: 4, failed: 0, unprocessed: 0 }],
      },
      progress: { rowsDone: 4, rowsTotal: 4 },
    });
    expect(ended.startedAt).not.toBeNull();
    expect(ended.endedAt).not.toBeNull();
    // The initiator is the key's name.
    expect((await ws.ports.executions.get(dryRunId))!.initiatedBy).toBe('api:exec tests');
    expect((await ws.ports.executions.get(dryRunId))!.inputFile!.name).toBe('fruit.csv');
  });

  it('starts a live run from the raw body named by ?fileName=', async () => {
    await call('POST', '/connectors/ae_items/activate');
    const started = as(
      await call('POST', '/connectors/ae_items/executions?fileName=fruit.csv&diffCheck=false', {
        body: FIVE_ROWS,
      }),
      202,
      executionSchema,
    );
    expect(started.dryRun).toBe(false);
    liveId = started.id;
    expect(await settled(liveId)).toMatchObject({ status: 'partial_success' });
    expect((await ws.records('ae_items')).map((r) => r.fields.name)).toEqual([
      'Apple',
      'Kiwi',
      'Pear',
      'Plum',
    ]);
  });

  it('says what is wrong with a bad start', async () => {
    const path = '/connectors/ae_items/executions';
    const noFile = errorOf(await call('POST', path, await multipart({ dryRun: 'true' })), 400);
    expect(pathsOf(noFile)).toEqual(['body.file']);
    const badFlag = errorOf(
      await call('POST', path, await multipart({ dryRun: 'maybe' }, { name: 'a.csv', content: 'name\nA\n' })),
      400,
    );
    expect(pathsOf(badFlag)).toEqual(['body.dryRun']);
    const noName = errorOf(await call('POST', path, { body: 'name\nA\n' }), 400);
    expect(noName.code).toBe('FILE_NAME_MISSING');
    expect(pathsOf(noName)).toEqual(['query.fileName']);
    expect(
      pathsOf(errorOf(await call('POST', `${path}?fileName=a.csv&dryRun=yes`, { body: 'x' }), 400)),
    ).toEqual(['query.dryRun']);
    expect(errorOf(await call('POST', `${path}?fileName=a.csv`), 400).code).toBe('EMPTY_BODY');
    const broken = await call('POST', path, {
      body: '--x\r\nContent-Disposition: form-data; name="file"',
      headers: { 'content-type': 'multipart/form-data' },
    });
    expect(errorOf(broken, 400).code).toBe('INVALID_MULTIPART');
    expect(
      errorOf(await call('POST', '/connectors/nope/executions?fileName=a.csv', { body: 'x' }), 404).code,
    ).toBe('CONNECTOR_NOT_FOUND');
  });

  it('answers a direct upload over the limit with 413 pointing at presigned uploads', async () => {
    const big = Buffer.alloc(MAX_DIRECT_UPLOAD_BYTES + 1, 'a');
    const raw = errorOf(
      await call('POST', '/connectors/ae_items/executions?fileName=big.csv', { body: big }),
      413,
    );
    expect(raw.code).toBe('PAYLOAD_TOO_LARGE');
    expect(raw.message).toContain('POST /connectors/ae_items/uploads');
    const form = await multipart({}, { name: 'big.csv', content: big });
    expect(errorOf(await call('POST', '/connectors/ae_items/executions', form), 413).code).toBe(
      'PAYLOAD_TOO_LARGE',
    );
  });

  it('takes a JSON start naming a presigned upload, and validates it', async () => {
    const json = { 'content-type': 'application/json' };
    const bad = errorOf(
      await call('POST', '/connectors/ae_items/executions', { body: '{}', headers: json }),
      400,
    );
    expect(pathsOf(bad)).toEqual(['body.uploadId']);
    const flag = errorOf(
      await call('POST', '/connectors/ae_items/executions', {
        body: JSON.stringify({ uploadId: 'u1', dryRun: 'yes' }),
        headers: json,
      }),
      400,
    );
    expect(pathsOf(flag)).toEqual(['body.dryRun']);
    // Starting one is upload-routes' startFromUpload (tested there); this runtime has no ingest bucket.
    const noIngest = errorOf(
      await call('POST', '/connectors/ae_items/executions', {
        body: JSON.stringify({ uploadId: '5f0c2a4e-8d1b-4c57-9a51-0a9c1f0e7b11' }),
        headers: json,
      }),
      501,
    );
    expect(noIngest.code).toBe('UPLOADS_UNAVAILABLE');
  });
});

describe('GET /connectors/{ref}/executions', () => {
  it('lists newest first, pages, and filters by status and dry run', async () => {
    const first = as(await call('GET', '/connectors/ae_items/executions?limit=1'), 200, executionPage);
    expect(first.items.map((e) => e.id)).toEqual([liveId]);
    expect(first.nextCursor).not.toBeNull();
    const second = as(
      await call('GET', `/connectors/ae_items/executions?limit=1&cursor=${first.nextCursor}`),
      200,
      executionPage,
    );
    expect(second).toEqual({ items: [expect.objectContaining({ id: dryRunId })], nextCursor: null });

    const dry = as(await call('GET', '/connectors/ae_items/executions?dryRun=true'), 200, executionPage);
    expect(dry.items.map((e) => e.id)).toEqual([dryRunId]);
    const failed = as(await call('GET', '/connectors/ae_items/executions?status=failed'), 200, executionPage);
    expect(failed.items).toEqual([]);
    expect(pathsOf(errorOf(await call('GET', '/connectors/ae_items/executions?status=done'), 400))).toEqual([
      'query.status',
    ]);
  });

  it('answers a forged cursor with 400 INVALID_CURSOR, and a well-formed position with its page', async () => {
    const connector = (await ws.ports.connectors.getConnector('ae_items'))!;
    const list = `executions:${connector.id}`;
    const stops = (await ws.ports.connectors.getConnector('ae_stops'))!;
    const page = (cursor: string) => call('GET', `/connectors/ae_items/executions?cursor=${cursor}`);
    // Each of these is a 400: not base64 JSON, another connector's list, and positions that are not a
    // bounded, well-formed string (a number, an object, empty, too long, a lone surrogate).
    const forged = [
      'garbage',
      encodeCursor(`executions:${stops.id}`, '2024-01-01T00:00:00.000Z#x'),
      encodeCursor(list, 42),
      encodeCursor(list, { gsi1sk: 'x', pk: 'E#x' }),
      encodeCursor(list, ''),
      encodeCursor(list, 'x'.repeat(257)),
      encodeCursor(list, '2024#\ud800'),
    ];
    for (const cursor of forged) {
      const error = errorOf(await page(encodeURIComponent(cursor)), 400);
      expect(error.code, cursor).toBe('INVALID_CURSOR');
      expect(pathsOf(error)).toEqual(['query.cursor']);
    }
    // Any other position is a place in the list: after everything, or before it.
    expect(as(await page(encodeCursor(list, '0')), 200, executionPage)).toEqual({
      items: [],
      nextCursor: null,
    });
    const fromTop = as(await page(encodeCursor(list, '9999-12-31T00:00:00.000Z#x')), 200, executionPage);
    expect(fromTop.items.map((e) => e.id)).toEqual([liveId, dryRunId]);
  });
});

describe('GET /executions/{id}/rows', () => {
  it('pages through every row result in step and row order', async () => {
    const rows: Array<z.output<typeof rowResultSchema>> = [];
    let cursor: string | null = null;
    do {
      const page: z.output<typeof rowPage> = as(
        await call('GET', `/executions/${liveId}/rows?limit=3${cursor ? `&cursor=${cursor}` : ''}`),
        200,
        rowPage,
      );
      expect(page.items.length).toBeLessThanOrEqual(3);
      rows.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor);
    expect(rows.map((r) => [r.row, r.outcome])).toEqual([
      [1, 'created'],
      [2, 'created'],
      [4, 'created'],
      [5, 'created'],
    ]);
    expect(rows[0]).toMatchObject({
      stepIndex: 0,
      step: 'ae_items',
      object: 'ae_items',
      matchedRule: 1,
      written: { name: 'Apple', qty: 1 },
    });
    expect(rows[0]!.recordId).toBe((await ws.records('ae_items')).find((r) => r.fields.name === 'Apple')!.id);
  });

  it('filters by step, outcome and code', async () => {
    const byName = as(
      await call('GET', `/executions/${liveId}/rows?step=ae_items&outcome=created`),
      200,
      rowPage,
    );
    expect(byName.items).toHaveLength(4);
    const byIndex = as(await call('GET', `/executions/${liveId}/rows?step=0&outcome=updated`), 200, rowPage);
    expect(byIndex).toEqual({ items: [], nextCursor: null });
    // Loading the same file again leaves every row unchanged, with its reason code.
    await call('POST', '/connectors/ae_items/deactivate');
    const again = as(
      await call('POST', '/connectors/ae_items/executions?fileName=fruit.csv&dryRun=true', {
        body: FIVE_ROWS,
      }),
      202,
      executionSchema,
    );
    await settled(again.id);
    const unchanged = as(await call('GET', `/executions/${again.id}/rows?code=NO_CHANGES`), 200, rowPage);
    expect(unchanged.items.map((r) => [r.row, r.outcome])).toEqual([
      [1, 'unchanged'],
      [2, 'unchanged'],
      [4, 'unchanged'],
      [5, 'unchanged'],
    ]);

    const step = errorOf(await call('GET', `/executions/${liveId}/rows?step=Nope`), 400);
    expect(pathsOf(step)).toEqual(['query.step']);
    expect(step.message).toContain('"ae_items"');
    expect(pathsOf(errorOf(await call('GET', `/executions/${liveId}/rows?outcome=lost`), 400))).toEqual([
      'query.outcome',
    ]);
    const foreign = as(await call('GET', `/executions/${again.id}/rows?limit=1`), 200, rowPage).nextCursor!;
    expect(errorOf(await call('GET', `/executions/${liveId}/rows?cursor=${foreign}`), 400).code).toBe(
      'INVALID_CURSOR',
    );
    expect(errorOf(await call('GET', '/executions/nope/rows'), 404).code).toBe('EXECUTION_NOT_FOUND');
  });

  it('lists the rows a stopped run never reached as unprocessed, with the stop code', async () => {
    await call('POST', '/connectors/ae_stops/activate');
    const started = as(
      await call('POST', '/connectors/ae_stops/executions?fileName=coded.csv', {
        body: csv(['name', 'qty'], ['A', 1], ['B', 2], ['C', 3]),
      }),
      202,
      executionSchema,
    );
    expect(await settled(started.id)).toMatchObject({ status: 'failed', error: { code: 'STOP_RULE' } });
    const rows = as(await call('GET', `/executions/${started.id}/rows`), 200, rowPage).items;
    expect(rows.map((r) => [r.row, r.outcome, r.code])).toEqual([
      [1, 'failed', 'REQUIRED_FIELD_MISSING'],
      [2, 'unprocessed', 'STOP_RULE'],
      [3, 'unprocessed', 'STOP_RULE'],
    ]);
    expect(rows[0]!.errors).toEqual([expect.objectContaining({ code: 'REQUIRED_FIELD_MISSING' })]);
    const failing = as(
      await call('GET', `/executions/${started.id}/rows?code=REQUIRED_FIELD_MISSING`),
      200,
      rowPage,
    );
    expect(failing.items.map((r) => r.row)).toEqual([1]);
  });

  it('is empty for an execution that never ran', async () => {
    const queued = as(
      await call('POST', '/connectors/ae_items/executions?fileName=later.csv', { body: FIVE_ROWS }),
      202,
      executionSchema,
    );
    expect(queued.status).toBe('queued');
    expect(as(await call('GET', `/executions/${queued.id}/rows`), 200, rowPage)).toEqual({
      items: [],
      nextCursor: null,
    });
    expect(as(await call('POST', `/executions/${queued.id}/cancel`), 202, executionSchema).status).toBe(
      'cancelled',
    );
    const again = errorOf(await call('POST', `/executions/${queued.id}/cancel`), 409);
    expect(again.code).toBe('EXECUTION_ENDED');
    expect(errorOf(await call('GET', `/executions/${queued.id}/report`), 404).code).toBe('REPORT_NOT_FOUND');
  });
});

describe('downloads', () => {
  let standIn: S3SqsStandIn;
  let client: S3Client;
  beforeAll(async () => {
    standIn = await startS3SqsStandIn({ buckets: ['ae-artifacts'] });
    client = s3ClientFor(standIn.endpoint);
  });
  afterAll(async () => {
    client?.destroy();
    await standIn?.stop();
  });

  it('answers the report and the input file with their bytes under sc serve', async () => {
    const execution = (await ws.ports.executions.get(liveId))!;
    const report = await call('GET', `/executions/${liveId}/report`);
    expect(report.status).toBe(200);
    expect(report.headers['content-disposition']).toBe(
      `attachment; filename="report-${liveId}.xlsx"; filename*=UTF-8''report-${liveId}.xlsx`,
    );
    expect(report.bytes.equals(await readFile(ws.ports.blobs.location(execution.reportKey!)))).toBe(true);
    const input = await call('GET', `/executions/${liveId}/input`);
    expect(input.status).toBe(200);
    expect(input.headers['content-disposition']).toBe(
      `attachment; filename="fruit.csv"; filename*=UTF-8''fruit.csv`,
    );
    expect(input.bytes.toString('utf8')).toBe(FIVE_ROWS);
    expect(errorOf(await call('GET', '/executions/nope/input'), 404).code).toBe('EXECUTION_NOT_FOUND');
  });

  it('redirects to a time-limited URL where the blob store presigns (S3)', async () => {
    const s3 = new S3BlobStore({ client, bucket: 'ae-artifacts', tmpDir: ws.ports.tmpDir });
    const execution = (await ws.ports.executions.get(liveId))!;
    await s3.putFile(execution.reportKey!, ws.ports.blobs.location(execution.reportKey!));
    await s3.put(execution.inputFile!.key, FIVE_ROWS);
    const aws = { ...deps, ports: { ...ws.ports, blobs: s3 } };
    for (const [path, expected] of [
      [`/executions/${liveId}/report`, await readFile(ws.ports.blobs.location(execution.reportKey!))],
      [`/executions/${liveId}/input`, Buffer.from(FIVE_ROWS)],
    ] as const) {
      const answer = await call('GET', path, { deps: aws });
      expect(answer.status).toBe(302);
      const location = answer.headers.location!;
      expect(location).toContain('X-Amz-Expires=');
      const downloaded = Buffer.from(await (await fetch(location)).arrayBuffer());
      expect(downloaded.equals(expected)).toBe(true);
    }
  });
});
