import { readFile, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecretsManagerSecretStore } from '../../lambdas/adapters/aws/secrets-manager-secret-store.ts';
import { FileSecretStore, SECRETS_FILE_NAME } from '../../lambdas/adapters/local/file-secret-store.ts';
import type { Execution } from '../../lambdas/core/model.ts';
import {
  secretsManagerClientFor,
  startSecretsManagerStandIn,
  type SecretsManagerStandIn,
} from '../../lambdas/local/secrets-manager-stand-in.ts';
import type { SecretStore } from '../../lambdas/ports/secret-store.ts';
import { countFiles, filesContaining, zipParts } from '../helpers/leaks.ts';
import {
  csvInput,
  itemsConnector,
  openPipelineWorkspace,
  type PipelineWorkspace,
} from '../helpers/pipeline.ts';

/*
 * Secrets in SQL (SPEC §4), through whole local runs: a connector's SQL reads `url(<secret>, …)` from an
 * HTTP server in this test, the secret holding the URL with its token (or the token in a header). The
 * records load; and no secret value is in the execution record, the events, the report (every part of
 * the XLSX), the webhook payload, the emails, or any file under `.sc/` — on success and when the SQL
 * fails with a ClickHouse message that quotes the URL.
 */

const TOKEN = 'tok-4b1d9e0c77-SECRET';
const HEADER_TOKEN = 'hdr-93ad51f0e2-SECRET';
const MISSING_TOKEN = 'tok-404f00d-SECRET';
const GARBAGE_TOKEN = 'tok-6a7b8c9d-SECRET';
const AWS_TOKEN = 'tok-aws-55e1c3-SECRET';
/** Every secret value this file uses, and the parts that make them unique. */
const SECRET_VALUES = [TOKEN, HEADER_TOKEN, MISSING_TOKEN, GARBAGE_TOKEN, AWS_TOKEN];

const ITEMS = 'name,qty\nApple,3\nBanana,5\n';

let ws: PipelineWorkspace;
let server: Server;
let base: string;
let secrets: FileSecretStore;
/** Every request the server got: path with query, and the Authorization header. */
const requests: Array<{ url: string; authorization: string | undefined }> = [];
const webhooks: string[] = [];

function serve(request: IncomingMessage, body: string): { status: number; text: string } {
  const url = new URL(request.url ?? '/', base);
  if (url.pathname === '/hook') {
    webhooks.push(body);
    return { status: 200, text: '' };
  }
  requests.push({ url: `${url.pathname}${url.search}`, authorization: request.headers.authorization });
  const token = url.searchParams.get('token');
  if (url.pathname === '/export.csv' && (token === TOKEN || token === AWS_TOKEN))
    return { status: 200, text: ITEMS };
  if (url.pathname === '/header-export.csv' && request.headers.authorization === `Bearer ${HEADER_TOKEN}`) {
    return { status: 200, text: ITEMS };
  }
  if (url.pathname === '/garbage' && token === GARBAGE_TOKEN)
    return { status: 200, text: '{not json at all' };
  return { status: url.pathname === '/export.csv' ? 403 : 404, text: 'no' };
}

beforeAll(async () => {
  server = createServer((request, response) => {
    let body = '';
    request.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
    request.on('end', () => {
      const { status, text } = serve(request, body);
      response.writeHead(status, { 'Content-Type': 'text/csv' }).end(text);
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  ws = await openPipelineWorkspace([
    {
      apiName: 's_items',
      name: 'Items',
      fields: [
        { name: 'name', type: 'text' },
        { name: 'qty', type: 'integer' },
      ],
    },
  ]);
  secrets = new FileSecretStore(join(ws.dir, SECRETS_FILE_NAME));
  await secrets.set('crm_source', JSON.stringify({ url: `${base}/export.csv?token=${TOKEN}` }));
  await secrets.set(
    'crm_headers',
    JSON.stringify({
      url: `${base}/header-export.csv`,
      'headers.header.name': 'Authorization',
      'headers.header.value': `Bearer ${HEADER_TOKEN}`,
    }),
  );
  await secrets.set('crm_missing', JSON.stringify({ url: `${base}/missing.csv?token=${MISSING_TOKEN}` }));
  await secrets.set('crm_garbage', JSON.stringify({ url: `${base}/garbage?token=${GARBAGE_TOKEN}` }));
});
afterAll(async () => {
  await ws?.close();
  await new Promise((done) => server?.close(done));
});

/**
 * A connector folder whose SQL loads `s_items` from `url(<secret>, format = <format>)`, notifying a
 * webhook and a mailbox when it ends. The input file only starts the run.
 */
async function urlConnector(folder: string, secret: string, format = 'CSVWithNames'): Promise<void> {
  const definition = itemsConnector(`Items from ${secret}`, ['s_items'], {
    executionEndedWebhookUrl: `${base}/hook`,
    notificationEmail: 'ops@example.com',
  });
  await ws.writeConnector(folder, {
    definition: {
      ...definition,
      // Record events too, so they can be searched.
      loadSteps: definition.loadSteps!.map((step) => ({
        ...step,
        triggers: { onCreate: true, onUpdate: true },
      })),
      secrets: [secret],
    },
    sql: `CREATE TABLE output.items AS SELECT name, qty FROM url(${secret}, format = '${format}') ORDER BY name`,
  });
}

const trigger = csvInput('trigger.csv', ['run'], [1]);

/** Everything a run leaves that a person or a system reads, as one text. */
async function whatARunShows(execution: Execution): Promise<string> {
  const stored = await ws.ports.executions.get(execution.id);
  const parts = execution.reportKey
    ? await zipParts(ws.ports.blobs.location(execution.reportKey))
    : new Map();
  return [
    JSON.stringify(stored),
    JSON.stringify(await ws.events(execution.id)),
    ...parts.values(),
    ...webhooks.filter((body) => body.includes(execution.id)),
  ].join('\n');
}

function expectNoSecretIn(text: string): void {
  for (const value of SECRET_VALUES) expect(text).not.toContain(value);
}

describe('a secret in SQL, from the workspace secrets file', () => {
  it('loads the rows url() reads through the named collection, the token only in the secret', async () => {
    await urlConnector('from_url', 'crm_source');
    const { execution } = await ws.run('from_url', trigger);
    expect(execution.status).toBe('succeeded');
    expect((await ws.records('s_items')).map((r) => r.fields)).toEqual([
      { name: 'Apple', qty: 3 },
      { name: 'Banana', qty: 5 },
    ]);
    expect(requests.map((r) => r.url)).toContain(`/export.csv?token=${TOKEN}`);

    // What is searched holds the run: the report's sheets, the events, the webhook.
    const parts = await zipParts(ws.ports.blobs.location(execution.reportKey!));
    expect([...parts.keys()]).toContain('xl/workbook.xml');
    expect([...parts.values()].some((part) => part.includes('Banana'))).toBe(true);
    expect(await ws.events(execution.id)).toHaveLength(2);
    expect(webhooks.some((body) => body.includes(execution.id))).toBe(true);
    expectNoSecretIn(await whatARunShows(execution));
  });

  it('sends header members with the request (headers.header.name / .value)', async () => {
    await urlConnector('from_header', 'crm_headers');
    const { execution } = await ws.run('from_header', trigger);
    expect(execution.status).toBe('succeeded');
    expect(execution.counts.scopes.items?.rows).toBe(2);
    expect(requests.at(-1)).toEqual({ url: '/header-export.csv', authorization: `Bearer ${HEADER_TOKEN}` });
    expectNoSecretIn(await whatARunShows(execution));
  });

  it('fails a url() the server answers 404 with the ClickHouse message, the URL redacted', async () => {
    await urlConnector('from_missing', 'crm_missing');
    const { execution } = await ws.run('from_missing', trigger);
    expect(execution.status).toBe('failed');
    expect(execution.error?.code).toBe('SQL_ERROR');
    // ClickHouse quotes the URL it failed on; the message keeps everything else.
    expect(execution.error?.message).toContain('Received error from remote server [REDACTED]');
    expect(execution.error?.message).toContain('HTTP status code: 404');
    expect(execution.reportKey).toBeNull();
    expectNoSecretIn(await whatARunShows(execution));
    expect(webhooks.some((body) => body.includes(execution.id) && body.includes('[REDACTED]'))).toBe(true);
  });

  it('fails on data url() cannot parse, the URL in the message redacted', async () => {
    await urlConnector('from_garbage', 'crm_garbage', 'JSONEachRow');
    const { execution } = await ws.run('from_garbage', trigger);
    expect(execution.status).toBe('failed');
    expect(execution.error?.code).toBe('SQL_ERROR');
    expect(execution.error?.message).toContain('JSONEachRow');
    expect(execution.error?.message).toContain('[REDACTED]');
    expectNoSecretIn(await whatARunShows(execution));
  });

  it('fails a run whose secret is not set with SECRET_NOT_FOUND before any SQL runs', async () => {
    await urlConnector('from_unset', 'erp_export');
    const before = requests.length;
    const { execution } = await ws.run('from_unset', trigger);
    expect(execution.status).toBe('failed');
    expect(execution.error?.code).toBe('SECRET_NOT_FOUND');
    expect(execution.error?.message).toContain('"erp_export"');
    expect(execution.error?.message).toContain("sc secrets set erp_export --value '<value or JSON object>'");
    expect(execution.error?.message).toContain('"smartconnector/erp_export" in Secrets Manager');
    expect(requests.length).toBe(before);
    expect(execution.sqlOutputKey).toBeNull();
    expect(execution.reportKey).toBeNull();
  });

  it('fails a run whose secret was written malformed by hand with SECRET_INVALID, naming the secret only', async () => {
    const path = join(ws.dir, SECRETS_FILE_NAME);
    const file = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
    await writeFile(
      path,
      JSON.stringify({ ...file, crm_nested: { url: `${base}/export.csv`, auth: { token: TOKEN } } }),
    );
    try {
      await urlConnector('from_nested', 'crm_nested');
      const before = requests.length;
      const { execution } = await ws.run('from_nested', trigger);
      expect(execution.status).toBe('failed');
      expect(execution.error?.code).toBe('SECRET_INVALID');
      expect(execution.error?.message).toContain('Secret "crm_nested" has member "auth" holding an object');
      expect(requests.length).toBe(before);
      expectNoSecretIn(await whatARunShows(execution));
    } finally {
      await secrets.delete('crm_nested');
    }
  });
});

describe('a secret in SQL, from Secrets Manager (the ports of the RunSql Lambda)', () => {
  let secretsManager: SecretsManagerStandIn;
  let local: SecretStore;

  beforeAll(async () => {
    secretsManager = await startSecretsManagerStandIn({
      secrets: {
        'smartconnector/crm_source': JSON.stringify({ url: `${base}/export.csv?token=${AWS_TOKEN}` }),
      },
    });
    local = ws.ports.secrets;
    // The runtime's state machine runs its tasks with these very ports, so the swap reaches RunSql.
    ws.ports.secrets = new SecretsManagerSecretStore({
      client: secretsManagerClientFor(secretsManager.endpoint),
    });
  });
  afterAll(async () => {
    if (local) ws.ports.secrets = local;
    await secretsManager?.stop();
  });

  it('reads smartconnector/<name> and loads the same rows', async () => {
    await urlConnector('from_aws', 'crm_source');
    const { execution } = await ws.run('from_aws', trigger);
    expect(execution.status).toBe('succeeded');
    expect(execution.counts.scopes.items?.rows).toBe(2);
    expect(requests.map((r) => r.url)).toContain(`/export.csv?token=${AWS_TOKEN}`);
    expectNoSecretIn(await whatARunShows(execution));
  });

  it('fails with SECRET_NOT_FOUND naming the Secrets Manager secret to create', async () => {
    await urlConnector('from_aws_unset', 'erp_export');
    const { execution } = await ws.run('from_aws_unset', trigger);
    expect(execution.error?.code).toBe('SECRET_NOT_FOUND');
    expect(execution.error?.message).toContain('"smartconnector/erp_export"');
  });
});

describe('local state', () => {
  it('holds no secret value in any file under .sc/ (the secrets file is outside it)', async () => {
    await ws.runtime.stateMachine.idle();
    expect(await countFiles(ws.workspace.stateDir)).toBeGreaterThan(10);
    expect(await filesContaining(ws.workspace.stateDir, SECRET_VALUES)).toEqual([]);
    // The search does find what is there: the secrets file holds the local values.
    expect(await filesContaining(ws.dir, SECRET_VALUES)).toEqual([SECRETS_FILE_NAME]);
  });
});
