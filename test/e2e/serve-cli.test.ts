import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { s3ClientFor } from '../../lambdas/local/s3-sqs-stand-in.ts';
import { ROOT, copyExample, sc } from '../helpers/cli.ts';

/*
 * `sc keys create` and `sc serve` as a user runs them, on a copy of the catalog example: the API
 * answers with the key, and a file dropped on the embedded S3 becomes an execution.
 */

let example: { dir: string; cleanup: () => Promise<void> };
beforeAll(async () => {
  example = await copyExample('catalog');
});
afterAll(async () => {
  await example?.cleanup();
});

describe('sc serve', () => {
  it('serves the API with a key from sc keys create, and runs a file dropped on its S3', async () => {
    const created = await sc(['keys', 'create', '--name', 'e2e'], { cwd: example.dir });
    expect(created.code).toBe(0);
    const key = created.stdout.trim();
    expect(key).toMatch(/^sc_/);

    const child = spawn(process.execPath, [join(ROOT, 'bin/sc.js'), 'serve', '--port', '0'], {
      cwd: example.dir,
      env: { ...process.env, SC_WORKSPACE: '' },
    });
    try {
      let output = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
      await until(() => /S3 drops: .* on (http:\S+)/.test(output));
      const api = /listening on (http:\S+)/.exec(output)![1]!;
      const s3Endpoint = /S3 drops: .* on (http:\S+)/.exec(output)![1]!;
      const get = (path: string, apiKey = key) =>
        fetch(`${api}${path}`, { headers: { 'x-api-key': apiKey } });

      expect((await get('/connectors', 'sc_nope')).status).toBe(403);
      const listed = (await (await get('/connectors')).json()) as { items: Array<{ apiName: string }> };
      expect(listed.items.map((c) => c.apiName)).toContain('vendor_product_import');
      const activated = await fetch(`${api}/connectors/vendor_product_import/activate`, {
        method: 'POST',
        headers: { 'x-api-key': key },
      });
      expect(activated.status).toBe(200);

      await s3ClientFor(s3Endpoint).send(
        new PutObjectCommand({
          Bucket: 'sc-ingest',
          Key: 'drops/vendor_product_import/catalog.csv',
          Body: await readFile(join(example.dir, 'vendor_product_import/data/catalog.csv')),
        }),
      );
      let executions: Array<{ status: string; trigger: string }> = [];
      await until(async () => {
        const body = (await (await get('/connectors/vendor_product_import/executions')).json()) as {
          items: typeof executions;
        };
        executions = body.items;
        return executions.length === 1 && executions[0]!.status === 'partial_success';
      });
      expect(executions[0]).toMatchObject({ trigger: 's3', status: 'partial_success' });
    } finally {
      child.kill('SIGINT');
      await new Promise((done) => child.once('exit', done));
    }
  }, 120_000);
});

async function until(condition: () => boolean | Promise<boolean>, timeoutMs = 90_000): Promise<void> {
  const start = Date.now();
  while (!(await condition())) {
    if (Date.now() - start > timeoutMs) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
