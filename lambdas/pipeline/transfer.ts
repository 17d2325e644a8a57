import { z } from 'zod';
import { uniqueApiName } from '../core/api-name.ts';
import {
  connectorDefinitionSchema,
  type ConnectorDefinition,
  type ConnectorDefinitionInput,
} from '../core/connector-schema.ts';
import { activationIssues } from '../core/definition-checks.ts';
import { DefinitionError, ScError, UsageError, type DefinitionIssue } from '../core/errors.ts';
import type { ObjectDefinition } from '../core/object-schema.ts';
import type { ConnectorRecord } from '../ports/connector-store.ts';
import { createConnector, type ConnectorDraft, type SavedConnector } from './connectors.ts';
import type { Ports } from './ports.ts';

/*
 * Export, import and duplicate (SPEC §3, §9). An export is a connector document (the `connector.json`
 * format, SQL inline) inside a small envelope that names the format and its version, so an import can
 * tell an export from any other JSON and refuse one made by a newer platform. Secret values never leave:
 * `secrets` holds names only, the webhook token is not part of a definition, and the settings that hold a
 * secret are withheld and listed.
 */

/** What an export's `format` says. */
export const EXPORT_FORMAT = 'smartconnector.connector-export';
/** The version of the export envelope this platform writes and the newest it reads. */
export const EXPORT_FORMAT_VERSION = 1;

/** Settings whose values are secrets: never exported, set them again after an import. */
const WITHHELD_SETTINGS = ['webhookSecret'] as const;

/** An exported connector (`GET /connectors/{ref}/export`, `sc export`), accepted by import. */
export const connectorExportSchema = z
  .object({
    format: z.literal(EXPORT_FORMAT, {
      error: `not a connector export: "format" must be "${EXPORT_FORMAT}" (export one with GET /connectors/{ref}/export or sc export; POST /connectors takes a bare definition)`,
    }),
    formatVersion: z
      .number()
      .int()
      .min(1)
      .max(EXPORT_FORMAT_VERSION, {
        error: `this platform reads export format ${EXPORT_FORMAT_VERSION} and older; the file was made by a newer one`,
      }),
    exportedAt: z.string().optional(),
    /** Where it came from, for people reading the file; import ignores it. */
    source: z
      .object({ id: z.string(), apiName: z.string(), version: z.number(), status: z.string() })
      .partial()
      .optional(),
    /** Paths of settings whose values were left out (secrets); set them again after an import. */
    withheld: z.array(z.string()).default([]),
    /** The connector document, SQL inline (`sql: { script }`). */
    connector: connectorDefinitionSchema.refine((c) => c.sql === undefined || 'script' in c.sql, {
      message: 'an export carries its SQL inline: "sql": { "script": "…" }, not a file',
      path: ['sql'],
    }),
  })
  .meta({ id: 'ConnectorExport', description: 'An exported connector (docs/transfer.md).' });
export type ConnectorExport = z.input<typeof connectorExportSchema>;

/** What an import does when the export's api name is taken in the target. */
export const ON_CONFLICT = ['fail', 'rename'] as const;
export type OnConflict = (typeof ON_CONFLICT)[number];

/** How a connector document carries its SQL: inline, or as a file beside it (a connector folder). */
export type SqlPlacement = { inline: true } | { file: string };

/**
 * The connector document of a definition (the `connector.json` format): SQL inline or as a file. Unless
 * `keepSecrets`, the settings that hold secrets are left out and their paths returned in `withheld`.
 * Defaults are written out, so the document behaves the same wherever the platform's defaults later
 * change.
 */
export function connectorDocument(
  definition: ConnectorDefinition,
  sql: SqlPlacement,
  options: { keepSecrets?: boolean } = {},
): { document: ConnectorDefinitionInput; withheld: string[] } {
  const { sql: script, settings, name, apiName, description, type, ...rest } = definition;
  const kept: Record<string, unknown> = { ...settings };
  const withheld: string[] = [];
  if (!options.keepSecrets) {
    for (const key of WITHHELD_SETTINGS) {
      if (kept[key] !== undefined) withheld.push(`settings.${key}`);
      delete kept[key];
    }
    // A receiver URL with a user and password in it carries a secret too.
    const url = settings.executionEndedWebhookUrl;
    if (url !== undefined && /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*@/i.test(url)) {
      withheld.push('settings.executionEndedWebhookUrl');
      delete kept.executionEndedWebhookUrl;
    }
  }
  // Keys in the order docs/connector-format.md describes them: who it is, its SQL, then the rest.
  const document: ConnectorDefinitionInput = {
    name,
    apiName,
    description,
    type,
    ...(script === null ? {} : { sql: 'inline' in sql ? { script } : { file: sql.file } }),
    ...rest,
    settings: kept as ConnectorDefinitionInput['settings'],
  };
  return { document, withheld };
}

/** The export of a connector's current version. */
export async function exportConnector(
  ports: Pick<Ports, 'connectors' | 'clock'>,
  connectorRef: string,
): Promise<ConnectorExport> {
  const connector = await requireConnector(ports, connectorRef);
  const definition = await currentDefinition(ports, connector);
  return exportDocument(definition, connector, ports.clock.now());
}

/** The export envelope of a definition (pure: the routes, the CLI and the tests share it). */
export function exportDocument(
  definition: ConnectorDefinition,
  source: Pick<ConnectorRecord, 'id' | 'apiName' | 'version' | 'status'>,
  exportedAt: Date,
): ConnectorExport {
  const { document, withheld } = connectorDocument(definition, { inline: true });
  return {
    format: EXPORT_FORMAT,
    formatVersion: EXPORT_FORMAT_VERSION,
    exportedAt: exportedAt.toISOString(),
    source: { id: source.id, apiName: source.apiName, version: source.version, status: source.status },
    withheld,
    connector: document,
  };
}

/** The connector draft an export holds: its definition with the SQL text, ready to create. */
export function draftFromExport(parsed: z.output<typeof connectorExportSchema>): ConnectorDraft {
  const { sql, ...rest } = parsed.connector;
  return { ...rest, sql: sql && 'script' in sql ? sql.script : null };
}

/**
 * The api name an import uses: the export's when it is free. When it is taken, `fail` refuses with
 * `CONFLICT` and `rename` takes the first free `<apiName>_2`, `_3`… An export without an api name gets
 * one derived from its name later, which is never taken.
 */
export function importApiName(
  requested: string | undefined,
  taken: ReadonlySet<string>,
  onConflict: OnConflict,
): { apiName: string | undefined; renamedFrom?: string } {
  if (requested === undefined || !taken.has(requested)) return { apiName: requested };
  if (onConflict === 'rename') return { apiName: uniqueApiName(requested, taken), renamedFrom: requested };
  throw new ScError(
    'CONFLICT',
    `A connector with the api name "${requested}" exists already. Import it under a new api name with ` +
      '?onConflict=rename (sc import --on-conflict rename), or delete or rename the existing one first.',
  );
}

/** Whether a connector could be activated in its workspace or environment, and what stops it. */
export interface ActivationReadiness {
  ready: boolean;
  /** Each failed activation check with its JSON path; empty when ready. */
  issues: DefinitionIssue[];
}

export function activationReadiness(
  definition: ConnectorDefinition,
  objects: readonly ObjectDefinition[],
): ActivationReadiness {
  const issues = activationIssues(definition, new Map(objects.map((o) => [o.apiName, o])));
  return { ready: issues.length === 0, issues };
}

export interface TransferResult extends SavedConnector {
  /** Set when an import took a new api name because the export's was taken. */
  renamedFrom?: string;
  /**
   * The activation checks in the target. A new connector is `setup` either way: it runs live only after
   * someone activates it, and activation runs these checks again.
   */
  activation: ActivationReadiness;
  /** Settings left out of the export (secrets): set them again. */
  withheld: string[];
}

/**
 * Imports an export: a new connector in `setup`, under the export's api name (see `importApiName` for a
 * taken one). A definition the target cannot even save (it names an object or field the target lacks)
 * is refused with a `DefinitionError` whose paths start at `connector`. One that saves but fails an
 * activation check is imported, and each failed check is returned with its JSON path, so it can be
 * completed where it now lives.
 */
export async function importConnector(
  ports: Pick<Ports, 'connectors' | 'clock'>,
  parsed: z.output<typeof connectorExportSchema>,
  options: { onConflict?: OnConflict } = {},
): Promise<TransferResult> {
  const draft = draftFromExport(parsed);
  const taken = new Set((await ports.connectors.listConnectors()).map((c) => c.apiName));
  const { apiName, renamedFrom } = importApiName(draft.apiName, taken, options.onConflict ?? 'fail');
  const saved = await createConnector(ports, {
    ...draft,
    ...(apiName === undefined ? {} : { apiName }),
  }).catch((error: unknown) => {
    // Paths point into the export document, whose definition is under `connector`.
    if (!(error instanceof DefinitionError)) throw error;
    throw new DefinitionError(
      `The export of "${parsed.connector.name}"`,
      error.issues.map((i) => ({ ...i, path: i.path === '' ? 'connector' : `connector.${i.path}` })),
      'cannot be imported here: it names objects or fields this environment lacks, or is invalid',
    );
  });
  return {
    ...saved,
    ...(renamedFrom === undefined ? {} : { renamedFrom }),
    activation: activationReadiness(saved.version.definition, await ports.connectors.listObjects()),
    withheld: parsed.withheld,
  };
}

/** The name of a duplicate when none is given. */
export function copyName(name: string): string {
  return `${name} (copy)`;
}

/**
 * Duplicates a connector's current version as a new connector in `setup`: named `<name> (copy)` unless a
 * name is given, under a new api name (derived from the new name unless given; `CONFLICT` when a given one
 * is taken) and a new webhook token. Everything else is copied as it is, settings included.
 */
export async function duplicateConnector(
  ports: Pick<Ports, 'connectors' | 'clock'>,
  connectorRef: string,
  options: { name?: string; apiName?: string } = {},
): Promise<TransferResult> {
  const source = await requireConnector(ports, connectorRef);
  const { apiName: _apiName, ...definition } = await currentDefinition(ports, source);
  const draft: ConnectorDraft = {
    ...definition,
    name: options.name ?? copyName(definition.name),
    ...(options.apiName === undefined ? {} : { apiName: options.apiName }),
  };
  const saved = await createConnector(ports, draft);
  return {
    ...saved,
    activation: activationReadiness(saved.version.definition, await ports.connectors.listObjects()),
    withheld: [],
  };
}

async function requireConnector(
  ports: Pick<Ports, 'connectors'>,
  connectorRef: string,
): Promise<ConnectorRecord> {
  const connector = await ports.connectors.getConnector(connectorRef);
  if (!connector) {
    throw new UsageError('CONNECTOR_NOT_FOUND', `No connector "${connectorRef}". Check the id or api name.`);
  }
  return connector;
}

async function currentDefinition(
  ports: Pick<Ports, 'connectors'>,
  connector: ConnectorRecord,
): Promise<ConnectorDefinition> {
  const version = await ports.connectors.getVersion(connector.id, connector.version);
  if (!version) {
    throw new UsageError('CONNECTOR_NOT_FOUND', `Connector "${connector.apiName}" has no version.`);
  }
  return version.definition;
}
