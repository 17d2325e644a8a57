import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

/**
 * An embedded Secrets Manager for tests: a `node:http` server answering `GetSecretValue` (AWS JSON 1.1,
 * `X-Amz-Target: secretsmanager.GetSecretValue`) so `SecretsManagerSecretStore` runs unchanged against
 * it. It serves fixed string secrets, found by name or full ARN, each with one current version
 * (`VersionId` and `VersionStage` are ignored), and can fail the next request the way Secrets Manager
 * does. No other operation (`BatchGetSecretValue` included), no binary secrets, no partial ARNs, no
 * rotation or deletion, no signature check.
 */

export interface SecretsManagerStandInOptions {
  /** Secret values by secret name, e.g. `{ 'smartconnector/crm_token': 't0k3n' }`. */
  secrets: Record<string, string>;
}

export interface SecretsManagerStandIn {
  /** `http://127.0.0.1:<port>`, for `secretsManagerClientFor` or `AWS_ENDPOINT_URL_SECRETS_MANAGER`. */
  endpoint: string;
  /**
   * Answers the next request with `status` and an AWS JSON error naming `code` (e.g. 400
   * `ThrottlingException`, 400 `AccessDeniedException`), which the SDK raises as that exception.
   */
  failNext(status: number, code: string): void;
  /** Closes the server. Safe to call twice. */
  stop(): Promise<void>;
}

interface StoredSecret {
  arn: string;
  name: string;
  value: string;
  versionId: string;
  createdDate: number;
}

export async function startSecretsManagerStandIn(
  options: SecretsManagerStandInOptions,
): Promise<SecretsManagerStandIn> {
  const secrets = new Map<string, StoredSecret>();
  for (const [name, value] of Object.entries(options.secrets)) {
    // Secrets Manager ends every ARN with a dash and six random characters.
    const arn = `arn:aws:secretsmanager:us-east-1:000000000000:secret:${name}-${randomBytes(3).toString('hex')}`;
    const secret = { arn, name, value, versionId: randomUUID(), createdDate: Date.now() / 1000 };
    secrets.set(name, secret);
    secrets.set(arn, secret);
  }
  const failures: Array<{ status: number; code: string }> = [];

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const failure = failures.shift();
    if (failure) return error(response, failure.status, failure.code, `Stand-in failure: ${failure.code}.`);
    const target = request.headers['x-amz-target'];
    if (request.method !== 'POST' || target !== 'secretsmanager.GetSecretValue') {
      return error(response, 400, 'UnknownOperationException', `${String(target)} is not supported.`);
    }
    let body: { SecretId?: unknown };
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { SecretId?: unknown };
    } catch {
      return error(response, 400, 'SerializationException', 'The request body is not JSON.');
    }
    if (typeof body.SecretId !== 'string' || body.SecretId === '') {
      return error(response, 400, 'InvalidParameterException', 'SecretId is required.');
    }
    const secret = secrets.get(body.SecretId);
    if (!secret) {
      return error(
        response,
        400,
        'ResourceNotFoundException',
        "Secrets Manager can't find the specified secret.",
      );
    }
    reply(response, 200, {
      ARN: secret.arn,
      Name: secret.name,
      VersionId: secret.versionId,
      SecretString: secret.value,
      VersionStages: ['AWSCURRENT'],
      CreatedDate: secret.createdDate,
    });
  };

  const server = createServer((request, response) => {
    handle(request, response).catch((e: unknown) => {
      if (!response.headersSent) error(response, 500, 'InternalServiceError', String(e));
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

function reply(response: ServerResponse, status: number, body: unknown): void {
  const json = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/x-amz-json-1.1',
    'content-length': Buffer.byteLength(json),
    'x-amzn-requestid': randomUUID(),
  });
  response.end(json);
}

/** An AWS JSON error: the SDK takes the exception's name from `__type`. */
function error(response: ServerResponse, status: number, code: string, message: string): void {
  reply(response, status, { __type: code, message });
}

/** A Secrets Manager client for the stand-in: dummy credentials. */
export function secretsManagerClientFor(
  endpoint: string,
  options: { maxAttempts?: number } = {},
): SecretsManagerClient {
  return new SecretsManagerClient({
    region: 'us-east-1',
    endpoint,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    ...options,
  });
}
