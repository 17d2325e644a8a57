import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { deriveApiName, uniqueApiName } from '../core/api-name.ts';
import type { ConnectorDefinition } from '../core/connector-schema.ts';
import { checkConnector } from '../core/definition-checks.ts';
import { DefinitionError, ScError } from '../core/errors.ts';
import type { ConnectorStatus } from '../core/model.ts';
import type { ObjectDefinition } from '../core/object-schema.ts';
import type { ConnectorRecord, ConnectorVersion } from '../ports/connector-store.ts';
import type { Ports } from './ports.ts';
import { syncSchedule } from './schedules-sync.ts';
import { closeWebhookWindowsBeforeSave, discardWebhookCalls } from './webhooks.ts';

/*
 * The connector lifecycle (SPEC §3): create with a unique api name and a webhook token, save a new
 * immutable version when the definition changes, delete when nothing runs; each change brings the
 * connector's schedule in step (`syncSchedule`, where the runtime has schedules). The workspace apply
 * (`sc run`, `sc serve`), the HTTP API, import and duplicate all go through these functions, so the
 * rules live once.
 */

/** A definition whose api name may still be unsettled (derived from `name` on create). */
export type ConnectorDraft = Omit<ConnectorDefinition, 'apiName'> & { apiName?: string };

export interface SavedConnector {
  connector: ConnectorRecord;
  version: ConnectorVersion;
}

export interface SaveOptions {
  /** The objects the definition is checked against. Default: the store's. */
  objects?: readonly ObjectDefinition[];
  /** Names what was checked in a `DefinitionError` (a file path). Default: `connector <apiName>`. */
  source?: string;
}

/**
 * Only the connector store and the clock are needed: the workspace apply of `sc run` has no others, and
 * then no schedule syncs and no webhook window closes on a save (`closeWebhookWindowsBeforeSave`).
 */
type LifecyclePorts = Pick<Ports, 'connectors' | 'clock'> & Partial<Ports>;

/**
 * Creates a connector with its first version. The api name is the definition's (`CONFLICT` when taken),
 * else derived from `name` and made unique with `_2`, `_3`… Status defaults to `setup`.
 */
export async function createConnector(
  ports: LifecyclePorts,
  draft: ConnectorDraft,
  options: SaveOptions & { status?: ConnectorStatus } = {},
): Promise<SavedConnector> {
  const taken = new Set((await ports.connectors.listConnectors()).map((c) => c.apiName));
  let apiName = draft.apiName;
  if (apiName === undefined) apiName = uniqueApiName(deriveApiName(draft.name), taken);
  else if (taken.has(apiName)) throw apiNameTaken(apiName);

  const definition: ConnectorDefinition = { ...draft, apiName };
  await check(ports, definition, options);
  const now = ports.clock.now().toISOString();
  const connector: ConnectorRecord = {
    id: randomUUID(),
    apiName,
    name: definition.name,
    status: options.status ?? 'setup',
    version: 1,
    createdAt: now,
    updatedAt: now,
    diffBaselineExecutionId: null,
    webhookToken: newWebhookToken(),
  };
  const version: ConnectorVersion = {
    connectorId: connector.id,
    version: 1,
    hash: definitionHash(definition),
    definition,
    createdAt: now,
  };
  await ports.connectors.createConnector(connector, version);
  await syncSchedule(ports, connector.id);
  return { connector, version };
}

/**
 * Saves an edited definition: a new immutable version only when its hash differs from the current
 * version's; otherwise the current one is returned. The api name cannot change (it is what drops,
 * webhooks and links name); a draft without one keeps the connector's.
 */
export async function saveConnectorVersion(
  ports: LifecyclePorts,
  connectorId: string,
  draft: ConnectorDraft,
  options: SaveOptions = {},
): Promise<SavedConnector> {
  let connector = await requireConnector(ports, connectorId);
  if (draft.apiName !== undefined && draft.apiName !== connector.apiName) {
    throw new DefinitionError(options.source ?? `connector ${connector.apiName}`, [
      {
        path: 'apiName',
        message: `the api name cannot change (it is "${connector.apiName}"); create a new connector instead`,
      },
    ]);
  }
  const definition: ConnectorDefinition = { ...draft, apiName: connector.apiName };
  await check(ports, definition, options);
  // Connectors made before webhook tokens existed get one with their next save.
  if (connector.webhookToken === undefined) {
    connector = await ports.connectors.updateConnector(connector.id, { webhookToken: newWebhookToken() });
  }
  const hash = definitionHash(definition);
  const current = await ports.connectors.getVersion(connector.id, connector.version);
  if (current && current.hash === hash) return { connector, version: current };

  const version: ConnectorVersion = {
    connectorId: connector.id,
    version: connector.version + 1,
    hash,
    definition,
    createdAt: ports.clock.now().toISOString(),
  };
  // A webhook connector that stops batching calls with this version flushes its pending calls first,
  // into executions of the version that received them.
  await closeWebhookWindowsBeforeSave(ports, connector.id, current?.definition, definition);
  await ports.connectors.addVersion(version);
  connector = await ports.connectors.updateConnector(connector.id, { name: definition.name });
  await syncSchedule(ports, connector.id);
  return { connector, version };
}

/**
 * Deletes a connector and its versions, then its stored webhook calls (pending and samples). Refused with
 * `CONFLICT` while any of its executions is queued or running: a queued run would start on a connector
 * that no longer exists. Ended executions are kept.
 */
export async function deleteConnector(
  ports: Pick<Ports, 'connectors' | 'executions'> & Partial<Pick<Ports, 'schedules' | 'blobs'>>,
  connectorId: string,
): Promise<void> {
  const connector = await requireConnector(ports, connectorId);
  const active = await ports.executions.listActiveByConnector(connector.id);
  if (active.length > 0) {
    const ids = active
      .slice(0, 5)
      .map((e) => `${e.id} (${e.status})`)
      .join(', ');
    throw new ScError(
      'CONFLICT',
      `Connector "${connector.apiName}" has ${active.length} execution(s) queued or running: ${ids}. ` +
        'Cancel them (POST /executions/{id}/cancel) or wait until they end, then delete it.',
    );
  }
  await ports.connectors.deleteConnector(connector.id);
  await syncSchedule(ports, connector.id);
  if (ports.blobs) await discardWebhookCalls({ blobs: ports.blobs }, connector.id);
}

/** Stable JSON (sorted keys, undefined left out) so equal definitions hash equally. */
export function stableStringify(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${stableStringify((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

/** What decides whether an edit makes a new version: the definition's stable JSON, SQL text included. */
export function definitionHash(definition: ConnectorDefinition): string {
  return createHash('sha256').update(stableStringify(definition)).digest('hex');
}

/** A url-safe random token (192 bits) a third party may send to the webhook intake instead of a key. */
function newWebhookToken(): string {
  return randomBytes(24).toString('base64url');
}

async function check(
  ports: LifecyclePorts,
  definition: ConnectorDefinition,
  options: SaveOptions,
): Promise<void> {
  const objects = options.objects ?? (await ports.connectors.listObjects());
  const issues = checkConnector(definition, new Map(objects.map((o) => [o.apiName, o])));
  if (issues.length > 0) {
    throw new DefinitionError(options.source ?? `connector ${definition.apiName}`, issues);
  }
}

async function requireConnector(
  ports: Pick<Ports, 'connectors'>,
  connectorId: string,
): Promise<ConnectorRecord> {
  const connector = await ports.connectors.getConnector(connectorId);
  if (!connector) throw new ScError('CONNECTOR_NOT_FOUND', `No connector "${connectorId}".`);
  return connector;
}

function apiNameTaken(apiName: string): ScError {
  return new ScError(
    'CONFLICT',
    `The api name "${apiName}" is taken by another connector. Choose another api name, or leave it out ` +
      'to derive a free one from the name.',
  );
}
