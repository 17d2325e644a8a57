import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * What the embedded AWS stand-ins (SES, EventBridge, Secrets Manager, Step Functions) share: a
 * `node:http` server on 127.0.0.1 and a free port that reads each request's body, hands it to the
 * stand-in's `handle` and writes the answer with a fresh `x-amzn-requestid`; a `failNext` that answers
 * the next request with an AWS error instead; a `stop` safe to call twice; the error bodies of the AWS
 * JSON 1.0/1.1 and REST-JSON protocols; and the client settings every stand-in client uses. It checks
 * no signature, buffers every body whole (no streaming, no binary payloads) and answers only JSON.
 */

export interface StandInRequest {
  /** `POST`, `GET`, … */
  method: string;
  /** The request target as sent, query string included. */
  url: string;
  /** `url` without its query string. */
  path: string;
  headers: IncomingHttpHeaders;
  /** The whole body, decoded as UTF-8. */
  body: string;
}

export interface StandInResponse {
  status: number;
  /** Added to `content-length` and `x-amzn-requestid`, which the server sets itself. */
  headers?: Record<string, string>;
  body: string;
}

/** How a service's protocol writes an answer and an error, so the SDK reads them as AWS's own. */
export interface AwsProtocol {
  /** A JSON answer, 200 unless told. */
  reply(body: unknown, status?: number): StandInResponse;
  /** An error the SDK raises as the exception named `code`. */
  error(status: number, code: string, message: string): StandInResponse;
}

function jsonResponse(
  contentType: string,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): StandInResponse {
  return { status, headers: { 'content-type': contentType, ...headers }, body: JSON.stringify(body) };
}

/** AWS JSON 1.0 or 1.1: the SDK takes the exception's name from `__type`. */
function awsJsonProtocol(version: '1.0' | '1.1'): AwsProtocol {
  const contentType = `application/x-amz-json-${version}`;
  return {
    reply: (body, status = 200) => jsonResponse(contentType, status, body),
    error: (status, code, message) => jsonResponse(contentType, status, { __type: code, message }),
  };
}

export const awsJson10: AwsProtocol = awsJsonProtocol('1.0');
export const awsJson11: AwsProtocol = awsJsonProtocol('1.1');

/** AWS REST-JSON: the SDK takes the exception's name from `x-amzn-ErrorType`. */
export const restJson: AwsProtocol = {
  reply: (body, status = 200) => jsonResponse('application/json', status, body),
  error: (status, code, message) =>
    jsonResponse('application/json', status, { message }, { 'x-amzn-errortype': code }),
};

/**
 * For an AWS JSON service answering one operation: the parsed body of a `POST` with
 * `X-Amz-Target: target`, or the error AWS sends otherwise (400 `UnknownOperationException` for another
 * operation, 400 `SerializationException` for a body that is not JSON).
 */
export function readOperation<T>(
  protocol: AwsProtocol,
  request: StandInRequest,
  target: string,
): { body: T } | { error: StandInResponse } {
  const sent = request.headers['x-amz-target'];
  if (request.method !== 'POST' || sent !== target) {
    return { error: protocol.error(400, 'UnknownOperationException', `${String(sent)} is not supported.`) };
  }
  const body = parseJson<T>(request.body);
  if (body === undefined) {
    return { error: protocol.error(400, 'SerializationException', 'The request body is not JSON.') };
  }
  return { body };
}

/** The parsed body, or `undefined` when it is not JSON. */
export function parseJson<T>(text: string): T | undefined {
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
}

export interface HttpStandInOptions {
  protocol: AwsProtocol;
  /** The code of the 500 sent when `handle` throws, e.g. `InternalFailure`. */
  internalErrorCode: string;
  handle(request: StandInRequest): StandInResponse | Promise<StandInResponse>;
}

export interface HttpStandIn {
  /** `http://127.0.0.1:<port>`. */
  endpoint: string;
  /**
   * Answers the next request, whatever it is, with `status` and an error naming `code` in the
   * stand-in's protocol; calls queue up, one per request.
   */
  failNext(status: number, code: string): void;
  /** Closes the server and its open connections. Safe to call twice. */
  stop(): Promise<void>;
}

export async function startHttpStandIn(options: HttpStandInOptions): Promise<HttpStandIn> {
  const { protocol, internalErrorCode, handle } = options;
  const failures: Array<{ status: number; code: string }> = [];

  const server = createServer((incoming, response) => {
    const answer = async (): Promise<StandInResponse> => {
      const chunks: Buffer[] = [];
      for await (const chunk of incoming) chunks.push(chunk as Buffer);
      const failure = failures.shift();
      if (failure) return protocol.error(failure.status, failure.code, `Stand-in failure: ${failure.code}.`);
      const url = incoming.url ?? '';
      return handle({
        method: incoming.method ?? '',
        url,
        path: url.split('?')[0] ?? '',
        headers: incoming.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      });
    };
    answer()
      .then((reply) => send(response, reply))
      .catch((e: unknown) => {
        if (!response.headersSent) send(response, protocol.error(500, internalErrorCode, String(e)));
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
    failNext: (status, code) => void failures.push({ status, code }),
    stop: () =>
      (stopped ??= new Promise<void>((resolve, reject) => {
        server.close((e) => (e ? reject(e) : resolve()));
        server.closeAllConnections();
      })),
  };
}

function send(response: ServerResponse, reply: StandInResponse): void {
  response.writeHead(reply.status, {
    'content-length': Buffer.byteLength(reply.body),
    'x-amzn-requestid': randomUUID(),
    ...reply.headers,
  });
  response.end(reply.body);
}

/** The settings of an SDK client for a stand-in: region us-east-1 and dummy credentials. */
export function standInClientConfig<T extends object>(
  endpoint: string,
  options: T,
): { region: string; endpoint: string; credentials: { accessKeyId: string; secretAccessKey: string } } & T {
  return {
    region: 'us-east-1',
    endpoint,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    ...options,
  };
}
