import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, copyExample } from '../helpers/cli.ts';

/*
 * SPEC §8 "Webhook" under `sc serve`, as a third party calls it: 1,000 calls at concurrency 20 to the
 * example webhook connector (examples/catalog/supplier_stock_webhook), each naming its own product. The
 * cadence runner closes a window every minute (`rate(1 minute)`); every accepted call must end up in
 * exactly one execution's input, and every product in the store.
 */

const CALLS = 1000;
const CONCURRENCY = 20;
const CONNECTOR = 'supplier_stock_webhook';

let example: { dir: string; cleanup: () => Promise<void> };
let child: ChildProcess;
let api: string;
let key: string;

beforeAll(async () => {
  example = await copyExample('catalog');
  child = spawn(process.execPath, [join(ROOT, 'bin/sc.js'), 'serve', '--port', '0'], {
    cwd: example.dir,
    env: { ...process.env, SC_WORKSPACE: '' },
  });
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  await until(
    () => /listening on (http:\S+)/.test(output) && /API key .*: (sc_\S+)/.test(output),
    60_000,
    () => output,
  );
  api = /listening on (http:\S+)/.exec(output)![1]!;
  key = /API key .*: (sc_\S+)/.exec(output)![1]!;
});

afterAll(async () => {
  if (child && child.exitCode === null) {
    child.kill('SIGINT');
    await new Promise((done) => child.once('exit', done));
  }
  await example?.cleanup();
});

async function call(path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${api}${path}`, { ...init, headers: { 'x-api-key': key, ...init.headers } });
}

interface ExecutionView {
  id: string;
  status: string;
  trigger: string;
  counts: { steps: Array<{ name: string; created: number }> };
}

describe('a webhook connector under sc serve', () => {
  it(`batches ${CALLS} calls sent ${CONCURRENCY} at a time into executions, losing and repeating none`, async () => {
    const activated = await call(`/connectors/${CONNECTOR}/activate`, { method: 'POST' });
    expect(activated.status).toBe(200);
    const { token } = (
      (await (await call(`/connectors/${CONNECTOR}`)).json()) as { webhook: { token: string } }
    ).webhook;

    // Third parties post with the token alone, as they would from a system that cannot set headers.
    const receipts = new Set<string>();
    let next = 0;
    const worker = async () => {
      for (let i = next++; i < CALLS; i = next++) {
        const response = await fetch(`${api}/connectors/${CONNECTOR}/webhook?token=${token}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            event: 'products.updated',
            supplier: { name: 'Green Valley Farm', email: 'orders@greenvalley.example' },
            products: [
              { sku: `e2e-${i}`, name: `Product ${i}`, price: (i % 50) + 0.5, in_stock: i % 2 === 0 },
            ],
          }),
        });
        expect(response.status).toBe(202);
        receipts.add(((await response.json()) as { receiptId: string }).receiptId);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    expect(receipts.size).toBe(CALLS);

    // Wait for the windows to close and their executions to end; read each ended one's input once.
    const inputs = new Map<string, string[]>();
    let executions: ExecutionView[] = [];
    await until(
      async () => {
        executions = await listExecutions();
        for (const execution of executions) {
          if (
            inputs.has(execution.id) ||
            !['succeeded', 'partial_success', 'failed'].includes(execution.status)
          )
            continue;
          const text = await (await call(`/executions/${execution.id}/input`)).text();
          inputs.set(
            execution.id,
            text
              .split('\n')
              .filter((line) => line !== '')
              .map((line) => (JSON.parse(line) as { receipt_id: string }).receipt_id),
          );
        }
        const landed = [...inputs.values()].reduce((n, ids) => n + ids.length, 0);
        return landed >= CALLS && inputs.size === executions.length;
      },
      150_000,
      () => JSON.stringify(executions.map((e) => [e.id, e.status])),
    );

    const landed = [...inputs.values()].flat();
    expect(landed).toHaveLength(CALLS);
    expect(new Set(landed)).toEqual(receipts);
    for (const execution of executions) {
      expect(execution).toMatchObject({ trigger: 'webhook', status: 'succeeded' });
    }
    const created = executions.reduce(
      (n, e) => n + e.counts.steps.find((s) => s.name === 'Products')!.created,
      0,
    );
    expect(created).toBe(CALLS);
  }, 180_000);
});

async function listExecutions(): Promise<ExecutionView[]> {
  const all: ExecutionView[] = [];
  let cursor: string | null = null;
  do {
    const query: string = cursor ? `?cursor=${encodeURIComponent(cursor)}` : '';
    const page = (await (await call(`/connectors/${CONNECTOR}/executions${query}`)).json()) as {
      items: ExecutionView[];
      nextCursor: string | null;
    };
    all.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return all;
}

async function until(
  condition: () => boolean | Promise<boolean>,
  timeoutMs: number,
  describeState: () => string,
): Promise<void> {
  const start = Date.now();
  while (!(await condition())) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out; last state: ${describeState()}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}
