import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ScError, errorMessage } from '../../core/errors.ts';
import type { SecretStore } from '../../ports/secret-store.ts';

export interface SecretsManagerSecretStoreOptions {
  client: SecretsManagerClient;
  /** Put before every name to make the Secrets Manager secret id. Default `smartconnector/`. */
  prefix?: string;
}

/** Request errors a later attempt can outlive, besides 429 and 5xx statuses. */
const THROTTLING = new Set(['ThrottlingException', 'LimitExceededException']);

/**
 * Reads string secrets (`SecretString`) from Secrets Manager, the secret `crm_token` being
 * `smartconnector/crm_token` with the default prefix.
 *
 * One `GetSecretValue` per name, sent together, rather than `BatchGetSecretValue`: a connector names a
 * handful of secrets, so batching saves little; `GetSecretValue` needs one IAM action where the batch
 * needs two (`BatchGetSecretValue` and `GetSecretValue` on each secret); and a missing secret comes back
 * as its own `ResourceNotFoundException` instead of an entry in an `Errors` list of 20-id pages.
 *
 * Errors name secrets, never values. A missing secret is `SECRET_NOT_FOUND`; a throttle or an outage
 * a retryable `SECRETS_UNAVAILABLE`; anything else (no permission, a key that cannot decrypt, a secret
 * pending deletion, a binary secret) `SECRET_UNREADABLE`.
 */
export class SecretsManagerSecretStore implements SecretStore {
  private readonly client: SecretsManagerClient;
  private readonly prefix: string;

  constructor(options: SecretsManagerSecretStoreOptions) {
    this.client = options.client;
    this.prefix = options.prefix ?? 'smartconnector/';
  }

  async getSecrets(names: readonly string[]): Promise<Record<string, string>> {
    const unique = [...new Set(names)];
    const reads = await Promise.allSettled(unique.map((name) => this.getSecret(name)));
    const missing = unique.filter((_, i) => isNotFound(rejection(reads[i])));
    if (missing.length > 0) {
      const ids = missing.map((name) => `"${this.prefix}${name}"`).join(', ');
      throw new ScError(
        'SECRET_NOT_FOUND',
        `No such secret in Secrets Manager: ${ids}. ` +
          'Create each as a plaintext secret, or fix the name the connector uses.',
      );
    }
    const values: Record<string, string> = {};
    for (const [i, read] of reads.entries()) {
      const name = unique[i]!;
      if (read.status === 'rejected') throw this.unreadable(name, read.reason);
      values[name] = read.value;
    }
    return values;
  }

  private async getSecret(name: string): Promise<string> {
    const { SecretString } = await this.client.send(
      new GetSecretValueCommand({ SecretId: this.prefix + name }),
    );
    if (SecretString === undefined) {
      throw new ScError(
        'SECRET_UNREADABLE',
        `Secret "${this.prefix}${name}" holds binary data; store it as a plaintext (string) secret.`,
      );
    }
    return SecretString;
  }

  private unreadable(name: string, error: unknown): ScError {
    if (error instanceof ScError) return error;
    const e = error as { name?: string; $metadata?: { httpStatusCode?: number }; $retryable?: unknown };
    const status = e?.$metadata?.httpStatusCode ?? 0;
    if (status === 429 || status >= 500 || e?.$retryable !== undefined || THROTTLING.has(e?.name ?? '')) {
      return new ScError(
        'SECRETS_UNAVAILABLE',
        `Secrets Manager failed to read "${this.prefix}${name}"; try again.`,
        {
          retryable: true,
          cause: error,
        },
      );
    }
    // Secrets Manager's messages name the secret and the reason, never its value.
    return new ScError(
      'SECRET_UNREADABLE',
      `Secret "${this.prefix}${name}" cannot be read: ${errorMessage(error)}`,
      { cause: error },
    );
  }
}

function rejection(result: PromiseSettledResult<unknown> | undefined): unknown {
  return result?.status === 'rejected' ? result.reason : undefined;
}

function isNotFound(error: unknown): boolean {
  return (error as { name?: string } | undefined)?.name === 'ResourceNotFoundException';
}
