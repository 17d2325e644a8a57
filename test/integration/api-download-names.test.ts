import { validateHeaderValue } from 'node:http';
import type { S3Client } from '@aws-sdk/client-s3';
import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3BlobStore } from '../../lambdas/adapters/aws/s3-blob-store.ts';
import { s3ClientFor, startS3SqsStandIn, type S3SqsStandIn } from '../../lambdas/local/s3-sqs-stand-in.ts';
import { createApiKey, handleApiRequest, type ApiDeps } from '../../lambdas/pipeline/api.ts';
import { executionSchema } from '../../lambdas/pipeline/api/execution-routes.ts';
import { attachmentDisposition } from '../../lambdas/pipeline/api/http.ts';
import { csv, itemsConnector, openPipelineWorkspace, type PipelineWorkspace } from '../helpers/pipeline.ts';

/*
 * Downloads of inputs and reports whose file names are not ASCII, through the API's dispatcher: the name
 * an upload gives (multipart form or `?fileName=`) is kept exactly, and the download answers with a
 * Content-Disposition Node accepts, holding an ASCII `filename` and the exact name as `filename*`
 * (RFC 6266, RFC 5987) — as the bytes under `sc serve`, and signed into the presigned URL in AWS.
 */

let ws: PipelineWorkspace;
let deps: ApiDeps;
let key: string;
let standIn: S3SqsStandIn;
let client: S3Client;

beforeAll(async () => {
  ws = await openPipelineWorkspace([
    {
      apiName: 'dn_items',
      name: 'Items',
      fields: [
        { name: 'name', type: 'text' },
        { name: 'qty', type: 'integer' },
      ],
    },
  ]);
  deps = { ports: ws.ports, apiKeys: ws.runtime.apiKeys };
  key = (await createApiKey(ws.runtime.apiKeys, 'download names', new Date())).key;
  await ws.writeConnector('dn_items', { definition: itemsConnector('DN items', ['dn_items'], {}) });
  await ws.apply('dn_items');
  standIn = await startS3SqsStandIn({ buckets: ['dn-artifacts'] });
  client = s3ClientFor(standIn.endpoint);
});
afterAll(async () => {
  client?.destroy();
  await standIn?.stop();
  await ws?.close();
});

interface Answer {
  status: number;
  headers: Record<string, string>;
  bytes: Buffer;
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
  return { status: response.statusCode, headers: response.headers, bytes };
}

/** A dry run started from a multipart form as a browser or `curl -F` sends it (the name as raw UTF-8). */
async function startFromForm(fileName: string, content: Buffer): Promise<string> {
  const form = new FormData();
  form.append('dryRun', 'true');
  form.append('file', new Blob([content]), fileName);
  const request = new Request('http://localhost/', { method: 'POST', body: form });
  const answer = await call('POST', '/connectors/dn_items/executions', {
    body: Buffer.from(await request.arrayBuffer()),
    headers: { 'content-type': request.headers.get('content-type')! },
  });
  expect(answer.status, answer.bytes.toString('utf8')).toBe(202);
  return executionSchema.parse(JSON.parse(answer.bytes.toString('utf8'))).id;
}

/** The two names of a Content-Disposition: the `filename` fallback and the decoded `filename*`. */
function namesIn(disposition: string): { fallback: string; name: string } {
  const match = /^attachment; filename="([^"]*)"; filename\*=UTF-8''([A-Za-z0-9!#$&+\-.^_`|~%]+)$/.exec(
    disposition,
  );
  if (!match) throw new Error(`not an attachment with both names: ${disposition}`);
  return { fallback: match[1]!, name: decodeURIComponent(match[2]!) };
}

/** Asserts `disposition` is a header Node sends, naming `fileName` exactly and in printable ASCII. */
function expectNames(disposition: string | undefined, fileName: string, fallback: string): void {
  if (disposition === undefined) throw new Error('no Content-Disposition');
  expect(() => validateHeaderValue('content-disposition', disposition)).not.toThrow();
  expect(namesIn(disposition)).toEqual({ fallback, name: fileName });
}

async function xlsx(rows: Array<Array<string | number>>): Promise<Buffer> {
  const workbook = new ExcelJS.Workbook();
  workbook.addWorksheet('Items').addRows(rows);
  return Buffer.from(await workbook.xlsx.writeBuffer());
}

describe('downloads of files named outside ASCII', () => {
  let xlsxId: string;
  let xlsxBytes: Buffer;

  it('names an XLSX input uploaded as "Überblick März.xlsx" in both forms, and serves its bytes', async () => {
    xlsxBytes = await xlsx([
      ['name', 'qty'],
      ['Äpfel', 3],
    ]);
    xlsxId = await startFromForm('Überblick März.xlsx', xlsxBytes);
    expect((await ws.ports.executions.get(xlsxId))?.inputFile?.name).toBe('Überblick März.xlsx');
    const input = await call('GET', `/executions/${xlsxId}/input`);
    expect(input.status).toBe(200);
    expect(input.headers['content-disposition']).toBe(
      `attachment; filename="_berblick M_rz.xlsx"; filename*=UTF-8''%C3%9Cberblick%20M%C3%A4rz.xlsx`,
    );
    expectNames(input.headers['content-disposition'], 'Überblick März.xlsx', '_berblick M_rz.xlsx');
    expect(input.bytes.equals(xlsxBytes)).toBe(true);
  });

  it('names a CSV sent as a raw body with ?fileName=数据.csv, one "_" per character', async () => {
    const content = csv(['name', 'qty'], ['数据', 1]);
    const started = await call(
      'POST',
      `/connectors/dn_items/executions?dryRun=true&fileName=${encodeURIComponent('数据.csv')}`,
      { body: content, headers: { 'content-type': 'text/csv' } },
    );
    expect(started.status, started.bytes.toString('utf8')).toBe(202);
    const id = executionSchema.parse(JSON.parse(started.bytes.toString('utf8'))).id;
    const input = await call('GET', `/executions/${id}/input`);
    expect(input.status).toBe(200);
    expect(input.headers['content-disposition']).toBe(
      `attachment; filename="__.csv"; filename*=UTF-8''%E6%95%B0%E6%8D%AE.csv`,
    );
    expect(input.bytes.toString('utf8')).toBe(content);
  });

  it('keeps quotes, backslashes, percent signs, brackets and emoji apart in both names', async () => {
    // Sent as ?fileName=: a form sends " as %22 (HTML's form encoding) and cuts a name at a backslash.
    const fileName = `Q3 "final" 100% (v2)*\\ it's 📈.csv`;
    const started = await call(
      'POST',
      `/connectors/dn_items/executions?dryRun=true&fileName=${encodeURIComponent(fileName)}`,
      { body: csv(['name', 'qty'], ['A', 1]), headers: { 'content-type': 'text/csv' } },
    );
    expect(started.status, started.bytes.toString('utf8')).toBe(202);
    const id = executionSchema.parse(JSON.parse(started.bytes.toString('utf8'))).id;
    const input = await call('GET', `/executions/${id}/input`);
    expect(input.status).toBe(200);
    // One "_" per character (the emoji is one, not two UTF-16 units); ' ( ) * percent-encoded.
    expectNames(input.headers['content-disposition'], fileName, `Q3 _final_ 100_ (v2)*_ it's _.csv`);
    expect(input.headers['content-disposition']).toContain(
      `filename*=UTF-8''Q3%20%22final%22%20100%25%20%28v2%29%2A%5C%20it%27s%20%F0%9F%93%88.csv`,
    );
  });

  it('names the report of that run in both forms too (report names are ASCII: report-<id>.xlsx)', async () => {
    await ws.runtime.stateMachine.idle();
    const execution = (await ws.ports.executions.get(xlsxId))!;
    expect(execution.status).toBe('succeeded');
    const report = await call('GET', `/executions/${xlsxId}/report`);
    expect(report.status).toBe(200);
    expectNames(report.headers['content-disposition'], `report-${xlsxId}.xlsx`, `report-${xlsxId}.xlsx`);
    expect(report.bytes.subarray(0, 2).toString('latin1')).toBe('PK');
  });

  it('signs the same Content-Disposition into the presigned URL where the store is S3 (AWS), dev packages too', async () => {
    const s3 = new S3BlobStore({ client, bucket: 'dn-artifacts', tmpDir: ws.ports.tmpDir });
    try {
      const execution = (await ws.ports.executions.get(xlsxId))!;
      await s3.put(execution.inputFile!.key, xlsxBytes);
      await s3.putFile(execution.reportKey!, ws.ports.blobs.location(execution.reportKey!));
      const aws = { ...deps, ports: { ...ws.ports, blobs: s3 } };
      for (const [path, fileName] of [
        [`/executions/${xlsxId}/input`, 'Überblick März.xlsx'],
        [`/executions/${xlsxId}/report`, `report-${xlsxId}.xlsx`],
        ['/connectors/dn_items/dev-package', 'dn_items-dev-package.zip'],
      ] as const) {
        const answer = await call('GET', path, { deps: aws });
        expect(answer.status).toBe(302);
        const url = new URL(answer.headers.location!);
        // S3 answers the URL with its response-content-disposition as the Content-Disposition header.
        expect(url.searchParams.get('response-content-disposition')).toBe(attachmentDisposition(fileName));
        expect(url.searchParams.get('X-Amz-SignedHeaders')).toBe('host');
        expect((await fetch(url)).status).toBe(200);
      }
    } finally {
      await s3.dispose();
    }
  });
});
