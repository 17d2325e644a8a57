import { readdir, readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { SqsWorkQueue } from '../../lambdas/adapters/aws/sqs-work-queue.ts';
import { sqsClientFor, startS3SqsStandIn } from '../../lambdas/local/s3-sqs-stand-in.ts';
import { pumpQueue } from '../../lambdas/local/sqs-pump.ts';
import {
  continueWebhookDelivery,
  notifyExecutionEnded,
  type WebhookRetryMessage,
} from '../../lambdas/pipeline/notify.ts';
import type { Ports } from '../../lambdas/pipeline/ports.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyWebhookSignature } from '../../lambdas/pipeline/webhook-signing.ts';
import { csvInput, openPipelineWorkspace, type PipelineWorkspace } from '../helpers/pipeline.ts';

/*
 * The end of a run (SPEC §7): the execution-ended webhook, delivered with retries to a local receiver and
 * recorded on the execution, and the notification emails, written to the local outbox.
 */

interface Received {
  headers: IncomingMessage['headers'];
  body: string;
}

let ws: PipelineWorkspace;
let receiver: Server;
let url: string;
const received: Received[] = [];
/** The receiver's answers, in order; 200 once they run out. */
let answers: Array<{ status: number; headers?: Record<string, string> }> = [];

beforeAll(async () => {
  ws = await openPipelineWorkspace([
    { apiName: 'n_items', name: 'Items', fields: [{ name: 'name', type: 'text' }] },
  ]);
  receiver = createServer((request, response) => {
    let body = '';
    request.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
    request.on('end', () => {
      received.push({ headers: request.headers, body });
      const answer = answers.shift() ?? { status: 200 };
      response.writeHead(answer.status, answer.headers).end();
    });
  });
  await new Promise<void>((done) => receiver.listen(0, '127.0.0.1', done));
  url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks/sc`;
});
afterAll(async () => {
  await new Promise((done) => receiver.close(done));
  await ws.close();
});

describe('when a run ends', () => {
  it('POSTs the signed webhook, retrying a receiver that fails twice, and records every attempt', async () => {
    received.length = 0;
    answers = [{ status: 500 }, { status: 503, headers: { 'Retry-After': '1' } }];
    await ws.writeConnector('notify', {
      definition: {
        name: 'Notify',
        variables: [
          { name: 'name', type: 'string', required: true },
          { name: 'qty', type: 'number' },
        ],
        loadSteps: [{ name: 'Items', object: 'n_items', mapping: [{ field: 'name', variable: 'name' }] }],
        settings: {
          executionEndedWebhookUrl: url,
          webhookSecret: 'shh-its-a-secret',
          notificationEmail: 'Ops@Example.com',
          errorNotificationEmail: 'oncall@example.com',
        },
      },
    });
    const { execution } = await ws.run(
      'notify',
      csvInput('items.csv', ['name', 'qty'], ['Apple', 1], ['Pear', 'lots']),
    );
    expect(execution.status).toBe('partial_success');

    expect(received).toHaveLength(3);
    const last = received[2]!;
    const payload = JSON.parse(last.body) as Record<string, unknown>;
    expect(payload).toMatchObject({
      event: 'execution.ended',
      executionId: execution.id,
      connectorApiName: 'notify',
      status: 'partial_success',
      inputRows: 2,
      validRows: 1,
      invalidRows: 1,
      created: 1,
    });
    expect(String(payload.reportUrl)).toMatch(/^file:\/\/.*report\.xlsx$/);
    expect(last.headers['idempotency-key']).toBe(execution.id);
    const verdict = verifyWebhookSignature(
      last.body,
      String(last.headers['x-smartconnector-signature']),
      'shh-its-a-secret',
      { now: new Date() },
    );
    expect(verdict).toEqual({ valid: true });
    // Every attempt carries the same body.
    expect(new Set(received.map((r) => r.body)).size).toBe(1);

    expect(execution.webhook?.status).toBe('delivered');
    expect(execution.webhook?.attempts.map((a) => a.outcome)).toEqual([
      { kind: 'http', status: 500 },
      expect.objectContaining({ kind: 'http', status: 503 }),
      { kind: 'http', status: 200 },
    ]);
    const stored = await ws.ports.executions.get(execution.id);
    expect(stored?.webhook?.attempts).toHaveLength(3);
  }, 60_000);

  it('writes the notification email to the outbox: notificationEmail always, errorNotificationEmail on errors', async () => {
    const outbox = join(ws.workspace.stateDir, 'outbox');
    const files = (await readdir(outbox)).filter((f) => f.endsWith('.eml'));
    expect(files.length).toBeGreaterThan(0);
    // Long headers are folded onto continuation lines (RFC 5322); unfold them to read them.
    const message = (await readFile(join(outbox, files.sort().at(-1)!), 'utf8')).replace(/\r\n[ \t]+/g, ' ');
    const to = /^To: (.*)\r$/m.exec(message)?.[1] ?? '';
    expect(to).toContain('ops@example.com');
    expect(to).toContain('oncall@example.com');
    expect(message).toMatch(/^Subject: \[SmartConnector\] notify: partial_success/m);
  });

  it('records a final rejection (410) after one attempt; the run itself still succeeds', async () => {
    received.length = 0;
    answers = [{ status: 410 }];
    const { execution } = await ws.run('notify', csvInput('items2.csv', ['name', 'qty'], ['Plum', 2]));
    expect(received).toHaveLength(1);
    expect(execution.status).toBe('succeeded');
    expect(execution.webhook).toMatchObject({
      status: 'rejected',
      attempts: [{ outcome: { kind: 'http', status: 410 } }],
    });
  });

  it('in AWS a delivery still failing after the wait goes to the webhook queue and continues from there until delivered', async () => {
    const { execution } = await ws.run('notify', csvInput('items3.csv', ['name', 'qty'], ['Quince', 3]));
    expect(execution.webhook?.status).toBe('delivered');

    // The ports a Lambda has: no wait inside it, and the webhook queue (SQS on the stand-in).
    const aws = await startS3SqsStandIn({ queues: [{ name: 'webhooks' }] });
    try {
      const webhookQueue = new SqsWorkQueue({
        client: sqsClientFor(aws.endpoint),
        queueUrl: aws.queueUrls.webhooks!,
      });
      const lambdaPorts: Ports = {
        ...ws.ports,
        notifications: { allowLoopback: true, maxWebhookWaitSeconds: 0 },
        webhookQueue,
      };
      received.length = 0;
      answers = [
        { status: 500, headers: { 'Retry-After': '1' } },
        { status: 503, headers: { 'Retry-After': '1' } },
      ];
      await ws.ports.executions.update(execution.id, { webhook: null });
      await notifyExecutionEnded(lambdaPorts, execution.id);
      expect((await ws.ports.executions.get(execution.id))?.webhook?.status).toBe('pending');
      expect(received).toHaveLength(1);

      // The deliver-webhook Lambda's work, as the queue hands it over after each delay.
      for (let round = 0; round < 10 && received.length < 3; round++) {
        await new Promise((resolve) => setTimeout(resolve, 1100));
        await pumpQueue(webhookQueue, (body) =>
          continueWebhookDelivery(lambdaPorts, body as WebhookRetryMessage),
        );
      }
      const stored = (await ws.ports.executions.get(execution.id))!;
      expect(stored.webhook?.status).toBe('delivered');
      expect(stored.webhook?.attempts.map((a) => a.outcome)).toEqual([
        expect.objectContaining({ kind: 'http', status: 500 }),
        expect.objectContaining({ kind: 'http', status: 503 }),
        { kind: 'http', status: 200 },
      ]);
      expect(new Set(received.map((r) => r.body)).size).toBe(1);
      expect(await webhookQueue.receive(10, 0)).toEqual([]);
    } finally {
      await aws.stop();
    }
  }, 60_000);
});
