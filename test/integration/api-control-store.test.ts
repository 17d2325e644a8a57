import { randomUUID } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbControlStore } from '../../lambdas/adapters/aws/dynamodb-control-store.ts';
import { connectorDefinitionSchema, type ConnectorDefinition } from '../../lambdas/core/connector-schema.ts';
import { createApiKey, hashKey } from '../../lambdas/pipeline/api.ts';
import type { Clock } from '../../lambdas/ports/clock.ts';
import type { ConnectorRecord } from '../../lambdas/ports/connector-store.ts';
import {
  dynamoClientFor,
  startDynamoStandIn,
  type DynamoStandIn,
} from '../../lambdas/local/dynamo-stand-in.ts';

/*
 * What the API added to the control table's adapter, with real SDK calls against the DynamoDB stand-in:
 * listing and revoking API keys, deleting a connector (its versions and api-name claim with it), and the
 * webhook token kept on the connector item.
 */

let standIn: DynamoStandIn;
let client: DynamoDBClient;
let now = new Date('2024-05-01T10:00:00.000Z');
const clock: Clock = { now: () => now };

beforeAll(async () => {
  standIn = await startDynamoStandIn();
  client = dynamoClientFor(standIn.endpoint);
});
afterAll(async () => {
  client?.destroy();
  await standIn?.stop();
});

const newStore = () => new DynamoDbControlStore({ client, tableName: standIn.tables.control, clock });

function definition(apiName: string): ConnectorDefinition {
  return { ...connectorDefinitionSchema.parse({ name: apiName }), apiName, sql: null };
}

function connector(apiName: string): ConnectorRecord {
  const at = now.toISOString();
  return {
    id: randomUUID(),
    apiName,
    name: apiName,
    status: 'setup',
    version: 1,
    createdAt: at,
    updatedAt: at,
    diffBaselineExecutionId: null,
    webhookToken: `token-${apiName}`,
  };
}

describe('API keys', () => {
  it('lists every key oldest first, without the key, and revokes one by id', async () => {
    const store = newStore();
    now = new Date('2024-05-01T10:00:00.000Z');
    const first = await createApiKey(store, 'first', now);
    now = new Date('2024-05-01T11:00:00.000Z');
    const second = await createApiKey(store, 'second', now);
    const listed = await store.listApiKeys();
    expect(listed.map((k) => k.name)).toEqual(['first', 'second']);
    expect(listed[0]).toEqual({
      id: first.id,
      name: 'first',
      hash: hashKey(first.key),
      createdAt: '2024-05-01T10:00:00.000Z',
      revokedAt: null,
    });
    expect(JSON.stringify(listed)).not.toContain(first.key);

    now = new Date('2024-05-02T00:00:00.000Z');
    const revoked = await store.revokeApiKey(second.id);
    expect(revoked).toMatchObject({ id: second.id, revokedAt: '2024-05-02T00:00:00.000Z' });
    expect(await store.findApiKeyByHash(hashKey(second.key))).toMatchObject({
      revokedAt: '2024-05-02T00:00:00.000Z',
    });
    // Revoking again keeps the first revocation time.
    now = new Date('2024-05-03T00:00:00.000Z');
    expect((await store.revokeApiKey(second.id)).revokedAt).toBe('2024-05-02T00:00:00.000Z');
    expect((await store.findApiKeyByHash(hashKey(first.key)))!.revokedAt).toBeNull();
  });

  it('refuses to revoke an unknown key with API_KEY_NOT_FOUND', async () => {
    await expect(newStore().revokeApiKey('no-such-key')).rejects.toMatchObject({ code: 'API_KEY_NOT_FOUND' });
  });
});

describe('connectors', () => {
  it('keeps the webhook token on the connector', async () => {
    const store = newStore();
    const record = connector(`hook_${randomUUID().slice(0, 8)}`);
    await store.createConnector(record, {
      connectorId: record.id,
      version: 1,
      hash: 'h1',
      definition: definition(record.apiName),
      createdAt: record.createdAt,
    });
    expect((await store.getConnector(record.apiName))!.webhookToken).toBe(record.webhookToken);
    const updated = await store.updateConnector(record.id, { webhookToken: 'rotated' });
    expect(updated.webhookToken).toBe('rotated');
  });

  it('deletes a connector with its versions and frees its api name at once', async () => {
    const store = newStore();
    const apiName = `gone_${randomUUID().slice(0, 8)}`;
    const record = connector(apiName);
    const version = (n: number) => ({
      connectorId: record.id,
      version: n,
      hash: `h${n}`,
      definition: { ...definition(apiName), description: `v${n}` },
      createdAt: record.createdAt,
    });
    await store.createConnector(record, version(1));
    await store.addVersion(version(2));

    await store.deleteConnector(record.id);
    expect(await store.getConnector(record.id)).toBeNull();
    expect(await store.getConnector(apiName)).toBeNull();
    expect(await store.getVersion(record.id, 1)).toBeNull();
    expect(await store.getVersion(record.id, 2)).toBeNull();
    expect((await store.listConnectors()).map((c) => c.id)).not.toContain(record.id);
    // Deleting it again does nothing.
    await store.deleteConnector(record.id);

    const successor = connector(apiName);
    await store.createConnector(successor, { ...version(1), connectorId: successor.id });
    expect((await store.getConnector(apiName))!.id).toBe(successor.id);
  });
});
