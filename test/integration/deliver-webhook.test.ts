import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Execution } from '../../lambdas/core/model.ts';
import {
  attemptDelivery,
  deliverExecutionEnded,
  type DeliverExecutionEndedOptions,
  type Transport,
} from '../../lambdas/pipeline/deliver-webhook.ts';
import { verifyWebhookSignature } from '../../lambdas/pipeline/webhook-signing.ts';

const SECRET = 'whsec_3b1f9c0e7a4d';
const LOCAL = { allowLoopback: true };
const AWS = { allowLoopback: false };

const execution: Execution = {
  id: '73e8b225-a51f-47ef-93fd-a196c7122062',
  connectorId: '0b6f0d52-5c1e-4f0a-9a43-2f4f6f3be2d1',
  connectorApiName: 'vendor_product_import',
  connectorName: 'Vendor product import',
  connectorVersion: 3,
  status: 'succeeded',
  dryRun: false,
  diffCheck: false,
  trigger: 'upload',
  initiatedBy: 'maria.lopez@example.com',
  createdAt: '2025-06-12T14:30:04.981Z',
  startedAt: '2025-06-12T14:30:05.412Z',
  endedAt: '2025-06-12T14:30:52.724Z',
  stage: 'done',
  progress: { rowsDone: 2, rowsTotal: 2, chunksDone: 1, chunksTotal: 1 },
  counts: {
    scopes: { catalog: { rows: 2, valid: 2, invalid: 0 } },
    steps: [
      {
        name: 'Vendors',
        object: 'vendors',
        created: 2,
        updated: 0,
        unchanged: 0,
        skipped: 0,
        failed: 0,
        unprocessed: 0,
      },
    ],
  },
  error: null,
  inputFile: null,
  sqlOutputKey: null,
  reportKey: null,
  cancelRequested: false,
};

interface Received {
  method: string | undefined;
  url: string | undefined;
  headers: IncomingMessage['headers'];
  body: string;
  receivedAt: Date;
}

/** A real receiver on 127.0.0.1. Each request takes the next responder; the last one repeats. */
type Responder = (res: ServerResponse) => void;
let server: Server;
let port: number;
let received: Received[] = [];
let responders: Responder[] = [];

const answer =
  (status: number, headers: Record<string, string> = {}): Responder =>
  (res) => {
    res.writeHead(status, headers);
    res.end('ignored body');
  };
const hang: Responder = () => {};

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({
        method: req.method,
        url: req.url,
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        receivedAt: new Date(),
      });
      const responder = responders.length > 1 ? responders.shift()! : responders[0]!;
      responder(res);
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  port = (server.address() as AddressInfo).port;
});

afterEach(() => {
  server.closeAllConnections();
  received = [];
  responders = [];
});

afterAll(async () => {
  await new Promise<void>((done) => server.close(() => done()));
});

function options(overrides: Partial<DeliverExecutionEndedOptions> = {}): DeliverExecutionEndedOptions {
  return {
    url: `http://127.0.0.1:${port}/hook`,
    secret: SECRET,
    execution,
    reportUrl: null,
    inputFileUrl: null,
    urlExpiresAt: null,
    policy: LOCAL,
    sleep: vi.fn(async () => {}),
    random: () => 0.5,
    ...overrides,
  };
}

describe('deliverExecutionEnded against a local receiver', () => {
  it('retries 500 and 503 (honouring Retry-After) and delivers a signed request on the 3rd attempt', async () => {
    responders = [answer(500), answer(503, { 'Retry-After': '1' }), answer(200)];
    const sleep = vi.fn(async () => {});
    const result = await deliverExecutionEnded(options({ sleep }));

    expect(result.status).toBe('delivered');
    expect(result.attempts.map((attempt) => attempt.outcome)).toEqual([
      { kind: 'http', status: 500 },
      { kind: 'http', status: 503, retryAfterSeconds: 1 },
      { kind: 'http', status: 200 },
    ]);
    // Attempt 1: full jitter below 5 s with random 0.5 → 3 s; attempt 2: Retry-After.
    expect(result.attempts.map((attempt) => attempt.delaySecondsAfter)).toEqual([3, 1, undefined]);
    expect(sleep.mock.calls).toEqual([[3000], [1000]]);
    for (const attempt of result.attempts) {
      expect(Number.isNaN(Date.parse(attempt.at))).toBe(false);
      expect(attempt.durationMs).toBeGreaterThanOrEqual(0);
    }

    expect(received).toHaveLength(3);
    const bodies = new Set(received.map((request) => request.body));
    expect(bodies.size).toBe(1); // byte-identical on every retry
    for (const request of received) {
      expect(request.method).toBe('POST');
      expect(request.url).toBe('/hook');
      expect(request.headers['content-type']).toBe('application/json');
      expect(request.headers['idempotency-key']).toBe(execution.id);
      const signature = request.headers['x-smartconnector-signature'];
      expect(typeof signature).toBe('string');
      expect(
        verifyWebhookSignature(request.body, signature as string, SECRET, { now: request.receivedAt }),
      ).toEqual({ valid: true });
    }
    const payload = JSON.parse(received[0]!.body) as Record<string, unknown>;
    expect(payload).toMatchObject({
      event: 'execution.ended',
      executionId: execution.id,
      status: 'succeeded',
      created: 2,
    });
  });

  it('sends no signature without a secret', async () => {
    responders = [answer(204)];
    const result = await deliverExecutionEnded(options({ secret: undefined }));
    expect(result.status).toBe('delivered');
    expect(received[0]!.headers['x-smartconnector-signature']).toBeUndefined();
    expect(received[0]!.headers['idempotency-key']).toBe(execution.id);
  });

  it('treats a 400 as final', async () => {
    responders = [answer(400)];
    const result = await deliverExecutionEnded(options());
    expect(result).toEqual({
      status: 'rejected',
      attempts: [expect.objectContaining({ outcome: { kind: 'http', status: 400 } })],
    });
    expect(received).toHaveLength(1);
  });

  it('does not follow a 302, and does not retry it', async () => {
    responders = [answer(302, { Location: `http://127.0.0.1:${port}/elsewhere` }), answer(200)];
    const result = await deliverExecutionEnded(options());
    expect(result.status).toBe('rejected');
    expect(result.attempts.map((attempt) => attempt.outcome)).toEqual([{ kind: 'http', status: 302 }]);
    expect(received.map((request) => request.url)).toEqual(['/hook']);
  });

  it('counts a timeout as a network error and retries it', async () => {
    responders = [hang, answer(200)];
    const result = await deliverExecutionEnded(options({ timeoutMs: 200 }));
    expect(result.status).toBe('delivered');
    expect(result.attempts.map((attempt) => attempt.outcome)).toEqual([
      { kind: 'network', message: 'No response within 200 ms.' },
      { kind: 'http', status: 200 },
    ]);
    expect(result.attempts[0]!.durationMs).toBeGreaterThanOrEqual(150);
    expect(received).toHaveLength(2);
  });

  it('counts a refused connection as a network error', async () => {
    const closed = createServer();
    await new Promise<void>((done) => closed.listen(0, '127.0.0.1', done));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise<void>((done) => closed.close(() => done()));

    const result = await deliverExecutionEnded(
      options({ url: `http://127.0.0.1:${closedPort}/hook`, maxWaitSeconds: 0 }),
    );
    expect(result).toEqual({
      status: 'pending',
      nextDelaySeconds: 3,
      attempts: [
        expect.objectContaining({
          outcome: { kind: 'network', message: expect.stringContaining('ECONNREFUSED') },
          delaySecondsAfter: 3,
        }),
      ],
    });
  });

  it('returns pending when the next wait would pass maxWaitSeconds', async () => {
    responders = [answer(503, { 'Retry-After': '20' })];
    const sleep = vi.fn(async () => {});
    const result = await deliverExecutionEnded(options({ sleep, maxWaitSeconds: 30 }));
    expect(result.status).toBe('pending');
    expect(result).toMatchObject({ nextDelaySeconds: 20 });
    expect(result.attempts).toHaveLength(2);
    expect(sleep.mock.calls).toEqual([[20_000]]);
    expect(received).toHaveLength(2);
  });

  it('gives up as expired once an hour has passed since the first attempt', async () => {
    responders = [answer(503)];
    let clock = Date.parse('2025-06-12T14:31:00.000Z');
    const result = await deliverExecutionEnded(
      options({
        now: () => new Date(clock),
        sleep: async (ms) => {
          clock += ms;
        },
        random: () => 0.999,
      }),
    );
    expect(result.status).toBe('expired');
    const waited = result.attempts.reduce((total, attempt) => total + (attempt.delaySecondsAfter ?? 0), 0);
    expect(waited).toBeGreaterThanOrEqual(3600);
    expect(result.attempts.at(-1)!.delaySecondsAfter).toBeUndefined();
    expect(received).toHaveLength(result.attempts.length);
  });

  it('continues a delivery from a queue message (resume) with the same schedule', async () => {
    responders = [answer(503)];
    const result = await deliverExecutionEnded(
      options({
        maxWaitSeconds: 0,
        random: () => 0.5,
        resume: { attempts: 3, firstAttemptAt: new Date(Date.now() - 60_000).toISOString() },
      }),
    );
    // Attempt 4: ceiling 5 × 2³ = 40 s, half of it.
    expect(result).toMatchObject({ status: 'pending', nextDelaySeconds: 20 });
  });
});

describe('target checks', () => {
  const spyTransport = () => vi.fn<Transport>(async () => ({ status: 200, retryAfter: undefined }));

  it.each([[['10.0.0.1']], [['93.184.216.34', '10.0.0.1']], [['169.254.169.254']], [['::ffff:10.0.0.1']]])(
    'refuses a host resolving to %j without sending anything',
    async (addresses) => {
      const resolve = vi.fn(async () => addresses);
      const transport = spyTransport();
      const result = await deliverExecutionEnded(
        options({ url: 'https://hooks.example.com/hook', policy: AWS, resolve, transport }),
      );
      expect(result.status).toBe('refused');
      expect(result.attempts).toEqual([
        expect.objectContaining({
          outcome: { kind: 'refused', reason: expect.stringContaining('webhooks are sent only to public') },
        }),
      ]);
      expect(resolve).toHaveBeenCalledWith('hooks.example.com');
      expect(transport).not.toHaveBeenCalled();
    },
  );

  it('sends to a public host with the checked addresses pinned', async () => {
    const transport = spyTransport();
    const result = await deliverExecutionEnded(
      options({
        url: 'https://hooks.example.com/hook',
        policy: AWS,
        resolve: async () => ['93.184.216.34', '2606:2800:220:1:248:1893:25c8:1946'],
        transport,
      }),
    );
    expect(result.status).toBe('delivered');
    expect(transport).toHaveBeenCalledOnce();
    expect(transport.mock.calls[0]![0].addresses).toEqual([
      '93.184.216.34',
      '2606:2800:220:1:248:1893:25c8:1946',
    ]);
  });

  it('refuses loopback when allowLoopback is false, without a request', async () => {
    responders = [answer(200)];
    for (const url of [`http://127.0.0.1:${port}/hook`, `https://127.0.0.1:${port}/hook`]) {
      const result = await deliverExecutionEnded(options({ url, policy: AWS }));
      expect(result.status).toBe('refused');
    }
    const viaDns = await attemptDelivery({
      url: `https://localhost:${port}/hook`,
      body: '{}',
      headers: {},
      policy: AWS,
      resolve: async () => ['127.0.0.1'],
    });
    expect(viaDns.outcome).toEqual({
      kind: 'refused',
      reason: expect.stringContaining('resolves to a loopback address'),
    });
    expect(received).toHaveLength(0);
  });

  it('refuses plain http to a name that resolves to a public address, even locally', async () => {
    const transport = spyTransport();
    const result = await attemptDelivery({
      url: 'http://app.localhost/hook',
      body: '{}',
      headers: {},
      policy: LOCAL,
      resolve: async () => ['93.184.216.34'],
      transport,
    });
    expect(result.outcome).toMatchObject({ kind: 'refused' });
    expect(transport).not.toHaveBeenCalled();
  });

  it('connects to the checked address, not to a second lookup of the name', async () => {
    responders = [answer(200)];
    // No system resolver knows this name: the request can only succeed through the pinned address.
    const host = `pinned-${process.pid}.localhost`;
    const result = await attemptDelivery({
      url: `http://${host}:${port}/hook`,
      body: '{"a":1}',
      headers: { 'Content-Type': 'application/json' },
      policy: LOCAL,
      resolve: async () => ['127.0.0.1'],
    });
    expect(result.outcome).toEqual({ kind: 'http', status: 200 });
    expect(received[0]!.headers.host).toBe(`${host}:${port}`);
    expect(received[0]!.body).toBe('{"a":1}');
  });

  it('reports a resolver failure as a network error', async () => {
    const result = await attemptDelivery({
      url: 'https://hooks.example.com/hook',
      body: '{}',
      headers: {},
      policy: AWS,
      resolve: async () => {
        throw new Error('getaddrinfo ENOTFOUND hooks.example.com');
      },
    });
    expect(result.outcome).toEqual({
      kind: 'network',
      message: 'Could not resolve hooks.example.com: getaddrinfo ENOTFOUND hooks.example.com',
    });
  });
});
