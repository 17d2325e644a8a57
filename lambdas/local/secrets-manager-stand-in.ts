import { randomBytes, randomUUID } from 'node:crypto';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { awsJson11, readOperation, standInClientConfig, startHttpStandIn } from './http-stand-in.ts';

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
  const { error, reply } = awsJson11;

  return startHttpStandIn({
    protocol: awsJson11,
    internalErrorCode: 'InternalServiceError',
    handle: (request) => {
      const read = readOperation<{ SecretId?: unknown }>(awsJson11, request, 'secretsmanager.GetSecretValue');
      if ('error' in read) return read.error;
      const { body } = read;
      if (typeof body.SecretId !== 'string' || body.SecretId === '') {
        return error(400, 'InvalidParameterException', 'SecretId is required.');
      }
      const secret = secrets.get(body.SecretId);
      if (!secret) {
        return error(400, 'ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
      }
      return reply({
        ARN: secret.arn,
        Name: secret.name,
        VersionId: secret.versionId,
        SecretString: secret.value,
        VersionStages: ['AWSCURRENT'],
        CreatedDate: secret.createdDate,
      });
    },
  });
}

/** A Secrets Manager client for the stand-in: dummy credentials. */
export function secretsManagerClientFor(
  endpoint: string,
  options: { maxAttempts?: number } = {},
): SecretsManagerClient {
  return new SecretsManagerClient(standInClientConfig(endpoint, options));
}
