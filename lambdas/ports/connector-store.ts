import type { ConnectorDefinition } from '../core/connector-schema.ts';
import type { ConnectorStatus } from '../core/model.ts';
import type { ObjectDefinition } from '../core/object-schema.ts';

export interface ConnectorRecord {
  id: string;
  apiName: string;
  name: string;
  status: ConnectorStatus;
  /** The current (latest) version number, from 1. */
  version: number;
  createdAt: string;
  updatedAt: string;
  /** The execution whose loaded-row hashes are the diff-check baseline, if any. */
  diffBaselineExecutionId: string | null;
  /**
   * The token third parties may send to the webhook intake instead of an API key (SPEC §9), made when
   * the connector is created. Never logged.
   */
  webhookToken?: string;
}

/** One immutable version of a connector's definition. */
export interface ConnectorVersion {
  connectorId: string;
  version: number;
  /** Hash of the definition; a new version is made only when it changes. */
  hash: string;
  definition: ConnectorDefinition;
  createdAt: string;
}

/** Connectors, their immutable versions, and object definitions (the control plane). */
export interface ConnectorStore {
  /** By id or api name. */
  getConnector(ref: string): Promise<ConnectorRecord | null>;
  listConnectors(): Promise<ConnectorRecord[]>;
  /** Creates a connector with its first version; fails with `CONFLICT` when the api name is taken. */
  createConnector(connector: ConnectorRecord, firstVersion: ConnectorVersion): Promise<void>;
  /** Adds a version and makes it current; fails with `CONFLICT` when `version` is not current + 1. */
  addVersion(version: ConnectorVersion): Promise<void>;
  getVersion(connectorId: string, version: number): Promise<ConnectorVersion | null>;
  updateConnector(
    id: string,
    patch: Partial<Pick<ConnectorRecord, 'status' | 'name' | 'diffBaselineExecutionId' | 'webhookToken'>>,
  ): Promise<ConnectorRecord>;
  /**
   * Deletes a connector, its versions and its api-name claim (the name is free again); its executions
   * are kept. Nothing happens when it does not exist. Whether it may be deleted is the caller's check.
   */
  deleteConnector(id: string): Promise<void>;

  putObject(object: ObjectDefinition): Promise<void>;
  getObject(apiName: string): Promise<ObjectDefinition | null>;
  listObjects(): Promise<ObjectDefinition[]>;
}
