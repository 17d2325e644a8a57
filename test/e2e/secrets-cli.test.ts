import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countFiles, filesContaining, zipParts } from '../helpers/leaks.ts';
import { ROOT, sc, scJson, type ScResult } from '../helpers/cli.ts';

const SC_BIN = join(ROOT, 'bin/sc.js');

/*
 * Secrets through the real `sc` CLI: `sc secrets set|list|delete` on the workspace's git-ignored
 * secrets file, then `sc run` of connectors whose SQL reads `url(<secret>, …)` from an HTTP server in
 * this test. The secret values never reach the CLI's output (success or SQL failure), the report (every
 * part of the XLSX), the webhook payload, or any file under `.sc/`.
 */

const TOKEN = 'tok-e2e-8c41f7a2-SECRET';
const MISSING_TOKEN = 'tok-e2e-404-91b3-SECRET';
const SECRET_VALUES = [TOKEN, MISSING_TOKEN];

interface RunJson {
  id: string;
  status: string;
  reportPath: string;
  counts: { steps: Array<{ created: number }> };
}

let root: string;
let valueDir: string;
let server: Server;
let base: string;
const webhooks: string[] = [];

beforeAll(async () => {
  server = createServer((request, response) => {
    let body = '';
    request.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
    request.on('end', () => {
      const url = new URL(request.url ?? '/', 'http://localhost');
      if (url.pathname === '/hook') webhooks.push(body);
      if (url.pathname === '/export.csv' && url.searchParams.get('token') === TOKEN) {
        response.writeHead(200, { 'Content-Type': 'text/csv' }).end('name,qty\nApple,3\nBanana,5\n');
      } else response.writeHead(url.pathname === '/hook' ? 200 : 404).end();
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  root = await mkdtemp(join(tmpdir(), 'sc-secrets-e2e-'));
  valueDir = await mkdtemp(join(tmpdir(), 'sc-secret-values-'));
  await mkdir(join(root, 'objects'));
  await writeFile(
    join(root, 'objects', 'items.json'),
    JSON.stringify({
      apiName: 'items',
      name: 'Items',
      fields: [
        { name: 'name', type: 'text' },
        { name: 'qty', type: 'integer' },
      ],
    }),
  );
  await connectorFolder('url_items', 'crm_source');
  await connectorFolder('missing_items', 'crm_missing');
  await connectorFolder('unset_items', 'erp_export');
});
afterAll(async () => {
  await new Promise((done) => server?.close(done));
  await rm(root, { recursive: true, force: true });
  await rm(valueDir, { recursive: true, force: true });
});

/** A connector loading `items` from `url(<secret>, …)`; its input file only starts the run. */
async function connectorFolder(folder: string, secret: string): Promise<void> {
  const dir = join(root, folder);
  await mkdir(join(dir, 'data'), { recursive: true });
  await writeFile(join(dir, 'data', 'trigger.csv'), 'run\n1\n');
  await writeFile(
    join(dir, 'connector.sql'),
    `CREATE TABLE output.items AS SELECT name, qty FROM url(${secret}, format = 'CSVWithNames') ORDER BY name\n`,
  );
  await writeFile(
    join(dir, 'connector.json'),
    JSON.stringify({
      name: folder,
      secrets: [secret],
      variables: [
        { name: 'name', type: 'string', required: true },
        { name: 'qty', type: 'number' },
      ],
      loadSteps: [
        {
          name: 'items',
          object: 'items',
          matching: [{ field: 'name', variable: 'name' }],
          mapping: [
            { field: 'name', variable: 'name' },
            { field: 'qty', variable: 'qty' },
          ],
        },
      ],
      settings: { executionEndedWebhookUrl: `${base}/hook` },
    }),
  );
}

/** `sc run <folder> --input <folder>/data/trigger.csv` in the workspace. */
const runArgs = (folder: string) => ['run', folder, '--input', join(folder, 'data', 'trigger.csv')];
const run = (folder: string) => sc(runArgs(folder), { cwd: root });

/** `sc <args>` in the workspace with `input` on its standard input. */
function scWithStdin(args: string[], input: string): Promise<ScResult> {
  return new Promise((done) => {
    const child = execFile(
      process.execPath,
      [SC_BIN, ...args],
      { cwd: root, env: { ...process.env, SC_WORKSPACE: '' } },
      (error, stdout, stderr) => done({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
    child.stdin?.end(input);
  });
}

function expectNoSecretIn(result: ScResult): void {
  for (const value of SECRET_VALUES) {
    expect(result.stdout).not.toContain(value);
    expect(result.stderr).not.toContain(value);
  }
}

describe('sc secrets', () => {
  it('sets a secret from a file and one from standard input, lists them, never prints a value, git-ignores the file', async () => {
    const valueFile = join(valueDir, 'crm.json');
    await writeFile(valueFile, JSON.stringify({ url: `${base}/export.csv?token=${TOKEN}` }) + '\n');
    const fromFile = await sc(['secrets', 'set', 'crm_source', '--from-file', valueFile], { cwd: root });
    expect(fromFile.code).toBe(0);
    expect(fromFile.stdout).toContain('Secret crm_source set in');
    expect(fromFile.stdout).toContain('(members: url)');
    expect(fromFile.stdout).toContain('Added /secrets.local.json to');
    expectNoSecretIn(fromFile);

    const fromStdin = await scWithStdin(
      ['secrets', 'set', 'crm_missing', '--from-file', '-'],
      JSON.stringify({ url: `${base}/gone.csv?token=${MISSING_TOKEN}` }),
    );
    expect(fromStdin.code).toBe(0);
    expectNoSecretIn(fromStdin);
    expect(await readFile(join(root, '.gitignore'), 'utf8')).toContain('/secrets.local.json\n');

    const listed = await sc(['secrets', 'list'], { cwd: root });
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain('  crm_missing: url\n  crm_source: url\n');
    expect(listed.stdout).toContain('  erp_export (unset_items)');
    expectNoSecretIn(listed);
  });

  it('refuses a bad value with exit 2 and a JSON error that quotes no value', async () => {
    const result = await scJson<{ error: { code: string; message: string } }>(
      ['secrets', 'set', 'x', '--value', `{"url": "${TOKEN}`],
      { cwd: root },
    );
    expect(result.code).toBe(2);
    expect(result.json.error.code).toBe('SECRET_INVALID');
    expect(result.json.error.message).toContain('Secret "x" is not valid JSON');
    expectNoSecretIn(result);
  });
});

describe('sc run with secrets', () => {
  it('loads the rows url() reads with the secret; no value in the output, the report or the webhook', async () => {
    const result = await scJson<RunJson>(runArgs('url_items'), { cwd: root });
    expect(result.code).toBe(0);
    const { json } = result;
    expect(json.status).toBe('succeeded');
    expect(json.counts.steps[0]?.created).toBe(2);
    expectNoSecretIn(result);

    const parts = await zipParts(json.reportPath);
    expect(parts.size).toBeGreaterThan(3);
    expect([...parts.values()].some((part) => part.includes('Banana'))).toBe(true);
    for (const [, part] of parts) for (const value of SECRET_VALUES) expect(part).not.toContain(value);

    const hook = webhooks.find((body) => body.includes(json.id));
    expect(hook).toBeDefined();
    for (const value of SECRET_VALUES) expect(hook).not.toContain(value);
  });

  it('fails a url() answered 404 with the ClickHouse message, the secret URL redacted everywhere', async () => {
    const result = await run('missing_items');
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('Error [SQL_ERROR]');
    expect(result.stdout).toContain('Received error from remote server [REDACTED]');
    expectNoSecretIn(result);
    const hook = webhooks.at(-1)!;
    expect(hook).toContain('[REDACTED]');
    for (const value of SECRET_VALUES) expect(hook).not.toContain(value);
  });

  it('leaves no secret value in any file of the workspace but the secrets file', async () => {
    expect(await countFiles(join(root, '.sc'))).toBeGreaterThan(10);
    expect(await filesContaining(root, SECRET_VALUES)).toEqual(['secrets.local.json']);
  });

  it('after sc secrets delete, fails the run with SECRET_NOT_FOUND saying how to set the secret', async () => {
    const deleted = await sc(['secrets', 'delete', 'crm_missing'], { cwd: root });
    expect(deleted.code).toBe(0);
    expect(deleted.stdout).toContain('Secret crm_missing deleted');
    const result = await run('missing_items');
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('Error [SECRET_NOT_FOUND]');
    expect(result.stdout).toContain("sc secrets set crm_missing --value '<value or JSON object>'");
    expect(result.stdout).toContain('"smartconnector/crm_missing" in Secrets Manager');
    expect(result.stdout).toContain('Report: none');
  });
});
