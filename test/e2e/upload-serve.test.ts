import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_DIRECT_UPLOAD_BYTES } from '../../lambdas/core/upload-limits.ts';
import { ROOT, copyExample, sc } from '../helpers/cli.ts';

/*
 * SPEC §8 "Upload" as a client does it against a real `sc serve` child process: a file larger than the
 * direct limit is refused in the request body (413), then sent through a presigned multipart upload to
 * the embedded S3 (8 MiB parts there, so ~12 MB makes two), started with `{ "uploadId" }`, run to the
 * end with the right records, and started again without a second execution.
 */

const ROWS = 300;
let example: { dir: string; cleanup: () => Promise<void> };

beforeAll(async () => {
  example = await copyExample('catalog');
});
afterAll(async () => {
  await example?.cleanup();
});

/** The catalog export, each row padded by a `Notes` column the connector's SQL does not select. */
function catalogCsv(): Buffer {
  const notes = 'n'.repeat(40_000);
  const lines = [
    'Vendor Name,Vendor Email,Vendor Phone,SKU,Product Name,Price,Launch Date,In Stock,Category,Tags,Notes',
  ];
  for (let i = 0; i < ROWS; i++) {
    const vendor = i % 10;
    lines.push(
      `Vendor ${vendor},sales@vendor${vendor}.example,,sku-${String(i).padStart(4, '0')},Product ${i},` +
        `${(i % 50) + 0.99},2024-05-01,yes,Fruit,Organic;Local,${notes}`,
    );
  }
  return Buffer.from(lines.join('\n') + '\n');
}

interface Upload {
  uploadId: string;
  kind: string;
  headers: Record<string, string>;
  parts?: Array<{ partNumber: number; offset: number; size: number; url: string }>;
}

describe('presigned uploads under sc serve', () => {
  let child: ChildProcess | undefined;

  afterAll(async () => {
    if (child && child.exitCode === null) {
      child.kill('SIGINT');
      await new Promise((done) => child!.once('exit', done));
    }
  });

  it('runs a file over the direct limit, sent in parts to the embedded S3, exactly once', async () => {
    const created = await sc(['keys', 'create', '--name', 'uploads'], { cwd: example.dir });
    expect(created.code).toBe(0);
    const key = created.stdout.trim();
    child = spawn(process.execPath, [join(ROOT, 'bin/sc.js'), 'serve', '--port', '0'], {
      cwd: example.dir,
      env: { ...process.env, SC_WORKSPACE: '' },
    });
    let output = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    await until(() => /listening on (http:\S+)/.test(output) && /S3 drops:/.test(output));
    const api = /listening on (http:\S+)/.exec(output)![1]!;
    const request = (method: string, path: string, body?: string | Buffer, type = 'application/json') =>
      fetch(`${api}${path}`, {
        method,
        headers: { 'x-api-key': key, ...(body === undefined ? {} : { 'content-type': type }) },
        ...(body === undefined ? {} : { body }),
      });
    expect((await request('POST', '/connectors/vendor_product_import/activate')).status).toBe(200);

    const file = catalogCsv();
    expect(file.length).toBeGreaterThan(MAX_DIRECT_UPLOAD_BYTES);
    const direct = await request(
      'POST',
      '/connectors/vendor_product_import/executions?fileName=catalog.csv',
      file,
      'text/csv',
    );
    expect(direct.status).toBe(413);

    const answer = await request(
      'POST',
      '/connectors/vendor_product_import/uploads',
      JSON.stringify({ fileName: 'big-catalog.csv', size: file.length }),
    );
    expect(answer.status).toBe(201);
    const upload = (await answer.json()) as Upload;
    expect(upload.kind).toBe('multipart');
    expect(upload.parts!.length).toBeGreaterThanOrEqual(2);
    for (const part of upload.parts!) {
      const put = await fetch(part.url, {
        method: 'PUT',
        headers: upload.headers,
        body: file.subarray(part.offset, part.offset + part.size),
      });
      expect(put.status).toBe(200);
    }

    const start = () =>
      request(
        'POST',
        '/connectors/vendor_product_import/executions',
        JSON.stringify({ uploadId: upload.uploadId }),
      );
    const first = await start();
    expect(first.status).toBe(202);
    const execution = (await first.json()) as { id: string; trigger: string };
    expect(execution).toMatchObject({ id: upload.uploadId, trigger: 'api' });
    const again = await start();
    expect(again.status).toBe(202);
    expect(((await again.json()) as { id: string }).id).toBe(execution.id);

    let ended: { status: string; counts: { steps: Array<{ created: number; failed: number }> } } | undefined;
    await until(async () => {
      const got = (await (await request('GET', `/executions/${execution.id}`)).json()) as typeof ended;
      ended = got?.status === 'queued' || got?.status === 'running' ? undefined : got;
      return ended !== undefined;
    });
    expect(ended!.status).toBe('succeeded');
    expect(ended!.counts.steps.map((s) => [s.created, s.failed])).toEqual([
      [10, 0],
      [ROWS, 0],
    ]);
    // A third start, after the run, still answers the same execution.
    expect(((await (await start()).json()) as { id: string }).id).toBe(execution.id);
    const listed = (await (await request('GET', '/connectors/vendor_product_import/executions')).json()) as {
      items: Array<{ id: string }>;
    };
    expect(listed.items.map((e) => e.id)).toEqual([execution.id]);

    const products = await everyRecord(request, 'products');
    expect(products).toHaveLength(ROWS);
    expect(products.find((p) => p.fields.sku === 'SKU-0007')?.fields).toMatchObject({
      name: 'Product 7',
      price: 7.99,
      category: 'Fruit',
    });
    expect(await everyRecord(request, 'vendors')).toHaveLength(10);
  }, 180_000);
});

/** Every record of an object, page by page (`GET /objects/{apiName}/records`). */
async function everyRecord(
  request: (method: string, path: string) => Promise<Response>,
  object: string,
): Promise<Array<{ fields: Record<string, unknown> }>> {
  const records: Array<{ fields: Record<string, unknown> }> = [];
  let cursor: string | null = null;
  do {
    const query: string = cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`;
    const response = await request('GET', `/objects/${object}/records?limit=100${query}`);
    expect(response.status).toBe(200);
    const page = (await response.json()) as { items: typeof records; nextCursor: string | null };
    records.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor !== null);
  return records;
}

async function until(condition: () => boolean | Promise<boolean>, timeoutMs = 120_000): Promise<void> {
  const start = Date.now();
  while (!(await condition())) {
    if (Date.now() - start > timeoutMs) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
