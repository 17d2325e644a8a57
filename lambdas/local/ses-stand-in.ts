import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SESv2Client } from '@aws-sdk/client-sesv2';

/**
 * An embedded SES v2 for tests: a `node:http` server answering `SendEmail`
 * (`POST /v2/email/outbound-emails`, REST-JSON) so `SesMailer` runs unchanged against it. It records
 * simple-content messages and can be told to fail the next request the way SES does. No other SES
 * operation, no signature check, no sending quota.
 */

export interface SentEmail {
  from: string;
  to: string[];
  subject: string;
  text: string;
}

export interface SesStandIn {
  /** `http://127.0.0.1:<port>`, for `sesClientFor` or `AWS_ENDPOINT_URL_SESV2`. */
  endpoint: string;
  /** Every accepted message, in arrival order. */
  sent: SentEmail[];
  /**
   * Answers the next request with `status` and an AWS REST-JSON error naming `code` (e.g. 429
   * `TooManyRequestsException`, 400 `MessageRejected`), which the SDK raises as that exception.
   */
  failNext(status: number, code: string): void;
  /** Closes the server. Safe to call twice. */
  stop(): Promise<void>;
}

interface SendEmailBody {
  FromEmailAddress?: string;
  Destination?: { ToAddresses?: string[] };
  Content?: { Simple?: { Subject?: { Data?: string }; Body?: { Text?: { Data?: string } } } };
}

export async function startSesStandIn(): Promise<SesStandIn> {
  const sent: SentEmail[] = [];
  const failures: Array<{ status: number; code: string }> = [];

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const failure = failures.shift();
    if (failure) {
      return error(response, failure.status, failure.code, `Stand-in failure: ${failure.code}.`);
    }
    const path = (request.url ?? '').split('?')[0];
    if (request.method !== 'POST' || path !== '/v2/email/outbound-emails') {
      return error(response, 404, 'NotFoundException', `${request.method} ${path} is not supported.`);
    }
    let body: SendEmailBody;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as SendEmailBody;
    } catch {
      return error(response, 400, 'BadRequestException', 'The request body is not JSON.');
    }
    const simple = body.Content?.Simple;
    const to = body.Destination?.ToAddresses ?? [];
    if (
      !body.FromEmailAddress ||
      to.length === 0 ||
      !simple?.Subject?.Data ||
      simple.Body?.Text === undefined
    ) {
      return error(
        response,
        400,
        'BadRequestException',
        'Expected a sender, recipients and simple text content.',
      );
    }
    sent.push({
      from: body.FromEmailAddress,
      to,
      subject: simple.Subject.Data,
      text: simple.Body.Text.Data ?? '',
    });
    reply(response, 200, { MessageId: randomUUID() });
  };

  const server = createServer((request, response) => {
    handle(request, response).catch((e: unknown) => {
      if (!response.headersSent) error(response, 500, 'InternalFailure', String(e));
      else response.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  let stopped: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    sent,
    failNext: (status, code) => void failures.push({ status, code }),
    stop: () =>
      (stopped ??= new Promise<void>((resolve, reject) => {
        server.close((e) => (e ? reject(e) : resolve()));
        server.closeAllConnections();
      })),
  };
}

function reply(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const json = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(json),
    'x-amzn-requestid': randomUUID(),
    ...headers,
  });
  response.end(json);
}

/** An AWS REST-JSON error: the SDK takes the exception's name from `x-amzn-ErrorType`. */
function error(response: ServerResponse, status: number, code: string, message: string): void {
  reply(response, status, { message }, { 'x-amzn-errortype': code });
}

/** An SES v2 client for the stand-in: dummy credentials. */
export function sesClientFor(endpoint: string, options: { maxAttempts?: number } = {}): SESv2Client {
  return new SESv2Client({
    region: 'us-east-1',
    endpoint,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    ...options,
  });
}
