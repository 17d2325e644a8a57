import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecretsManagerSecretStore } from '../../lambdas/adapters/aws/secrets-manager-secret-store.ts';
import { ScError } from '../../lambdas/core/errors.ts';
import {
  secretsManagerClientFor,
  startSecretsManagerStandIn,
  type SecretsManagerStandIn,
} from '../../lambdas/local/secrets-manager-stand-in.ts';

const CRM_TOKEN = 'crm-s3cr3t-Ω-9f8e7d';
const SIGNING_KEY = 'whsec_0123456789abcdef';

let secretsManager: SecretsManagerStandIn;
let client: SecretsManagerClient;

beforeAll(async () => {
  secretsManager = await startSecretsManagerStandIn({
    secrets: {
      'smartconnector/crm_token': CRM_TOKEN,
      'smartconnector/webhook_signing_key': SIGNING_KEY,
      'acme/crm_token': 'acme-token',
    },
  });
  // One attempt per read, so a failure reaches the store instead of being retried by the SDK.
  client = secretsManagerClientFor(secretsManager.endpoint, { maxAttempts: 1 });
});
afterAll(async () => {
  client?.destroy();
  await secretsManager?.stop();
});

function store(prefix?: string): SecretsManagerSecretStore {
  return new SecretsManagerSecretStore({ client, ...(prefix === undefined ? {} : { prefix }) });
}

async function failure(promise: Promise<unknown>): Promise<ScError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ScError);
  return error as ScError;
}

/** What an operator could see of an error: its message, its cause's, and its JSON form. */
function visible(error: ScError): string {
  return [error.message, error.stack, errorText(error.cause), JSON.stringify(error)].join('\n');
}

function errorText(cause: unknown): string {
  return cause instanceof Error ? `${cause.message}\n${JSON.stringify(cause)}` : String(cause);
}

describe('SecretsManagerSecretStore', () => {
  it('reads each named secret under the prefix, keyed by name', async () => {
    expect(await store().getSecrets(['crm_token', 'webhook_signing_key', 'crm_token'])).toEqual({
      crm_token: CRM_TOKEN,
      webhook_signing_key: SIGNING_KEY,
    });
    expect(await store('acme/').getSecrets(['crm_token'])).toEqual({ crm_token: 'acme-token' });
  });

  it('reads nothing for no names', async () => {
    expect(await store().getSecrets([])).toEqual({});
  });

  it('rejects a missing secret with SECRET_NOT_FOUND naming it and no value', async () => {
    const error = await failure(store().getSecrets(['crm_token', 'erp_password', 'webhook_signing_key']));
    expect(error.code).toBe('SECRET_NOT_FOUND');
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('"smartconnector/erp_password"');
    expect(error.message).not.toContain('crm_token');
    for (const value of [CRM_TOKEN, SIGNING_KEY]) expect(visible(error)).not.toContain(value);
  });

  it('names every missing secret at once', async () => {
    const error = await failure(store().getSecrets(['erp_password', 'crm_token', 'sftp_key']));
    expect(error.code).toBe('SECRET_NOT_FOUND');
    expect(error.message).toContain('"smartconnector/erp_password", "smartconnector/sftp_key"');
    expect(visible(error)).not.toContain(CRM_TOKEN);
  });

  it('turns a throttle into a retryable SECRETS_UNAVAILABLE', async () => {
    secretsManager.failNext(400, 'ThrottlingException');
    const error = await failure(store().getSecrets(['crm_token']));
    expect(error.code).toBe('SECRETS_UNAVAILABLE');
    expect(error.retryable).toBe(true);
    expect((error.cause as Error).name).toBe('ThrottlingException');
  });

  it('turns a refusal into a non-retryable SECRET_UNREADABLE naming the secret', async () => {
    secretsManager.failNext(400, 'AccessDeniedException');
    const error = await failure(store().getSecrets(['crm_token']));
    expect(error.code).toBe('SECRET_UNREADABLE');
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('"smartconnector/crm_token" cannot be read: Stand-in failure');
    expect(visible(error)).not.toContain(CRM_TOKEN);
  });
});

describe('Secrets Manager stand-in', () => {
  it('answers an unknown operation with UnknownOperationException', async () => {
    const response = await fetch(secretsManager.endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'secretsmanager.ListSecrets' },
      body: '{}',
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ __type: 'UnknownOperationException' });
  });
});
