import { createWriteStream } from 'node:fs';
import { basename } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { ZipFile } from 'yazl';
import type { ConnectorDefinition } from '../core/connector-schema.ts';
import { UsageError } from '../core/errors.ts';
import type { Execution } from '../core/model.ts';
import type { ObjectDefinition } from '../core/object-schema.ts';
import type { ConnectorRecord } from '../ports/connector-store.ts';
import type { Ports } from './ports.ts';
import { connectorDocument } from './transfer.ts';

/*
 * The dev package (SPEC §9): a ZIP that is a one-connector workspace. Unzipped into an empty folder it
 * holds `connector.json` (SQL in `connector.sql`), the objects the connector needs under `objects/`, the
 * input under `data/` and a README with the `sc run` command line, so `sc run . --input data/<file>`
 * works there with nothing else.
 */

/** Where the ZIP's input file comes from. */
export type PackageInput =
  /** The input of this execution of the connector. */
  | { executionId: string }
  /** The connector's sample: the input of its latest execution that still has one, else `fallback`. */
  | { sample: true; fallback?: { path: string; name: string } };

export interface DevPackageContents {
  /** Entry names in the ZIP, in order. */
  entries: string[];
  /** The input file's entry (`data/<name>`), or null when the package has none. */
  input: { entry: string; executionId: string | null } | null;
  /** The `sc run` command line the README gives. */
  runCommand: string | null;
}

/** The settings a dev package leaves out, so runs on a laptop notify no production receiver. */
const DEV_WITHHELD = ['executionEndedWebhookUrl'] as const;

/**
 * Writes the dev package of a connector's current version to `zipPath`. An execution named in `input`
 * must be one of this connector's and still have its input file (`EXECUTION_NOT_FOUND`,
 * `EXECUTION_OF_ANOTHER_CONNECTOR`, `INPUT_NOT_AVAILABLE`).
 */
export async function writeDevPackage(
  ports: Pick<Ports, 'connectors' | 'executions' | 'blobs' | 'clock'>,
  connector: ConnectorRecord,
  input: PackageInput,
  zipPath: string,
): Promise<DevPackageContents> {
  const version = await ports.connectors.getVersion(connector.id, connector.version);
  if (!version) {
    throw new UsageError('CONNECTOR_NOT_FOUND', `Connector "${connector.apiName}" has no version.`);
  }
  const { definition } = version;
  const source = await packageInput(ports, connector, input);
  const objects = neededObjects(definition, await ports.connectors.listObjects());

  const zip = new ZipFile();
  const mtime = ports.clock.now();
  const entries: string[] = [];
  const add = (name: string, text: string) => {
    zip.addBuffer(Buffer.from(text, 'utf8'), name, { mtime });
    entries.push(name);
  };

  const { document, withheld } = connectorDocument(definition, { file: 'connector.sql' });
  const settings: Record<string, unknown> = { ...document.settings };
  const devWithheld = DEV_WITHHELD.filter((key) => settings[key] !== undefined);
  for (const key of devWithheld) delete settings[key];
  const packageInputEntry = source ? `data/${source.name}` : null;
  const runCommand = packageInputEntry ? `sc run . --input ${shellQuote(packageInputEntry)}` : null;

  add('README.md', readme({ connector, definition, source, runCommand, objects, withheld, devWithheld }));
  add('connector.json', JSON.stringify({ ...document, settings }, null, 2) + '\n');
  if (definition.sql !== null) add('connector.sql', definition.sql);
  for (const object of objects) {
    add(`objects/${object.apiName}.json`, JSON.stringify(objectDocument(object), null, 2) + '\n');
  }
  if (source && packageInputEntry) {
    zip.addFile(source.localPath, packageInputEntry, { mtime });
    entries.push(packageInputEntry);
  }
  zip.end();
  await pipeline(zip.outputStream, createWriteStream(zipPath));
  return {
    entries,
    input: packageInputEntry ? { entry: packageInputEntry, executionId: source?.executionId ?? null } : null,
    runCommand,
  };
}

interface SourceFile {
  localPath: string;
  /** A plain file name, safe as a ZIP entry under `data/`. */
  name: string;
  executionId: string | null;
  /** The table name the platform gave this input instead of one from its file name. */
  table?: string;
}

async function packageInput(
  ports: Pick<Ports, 'executions' | 'blobs'>,
  connector: ConnectorRecord,
  input: PackageInput,
): Promise<SourceFile | null> {
  if ('executionId' in input) {
    const execution = await ports.executions.get(input.executionId);
    if (!execution) {
      throw new UsageError('EXECUTION_NOT_FOUND', `No execution ${input.executionId}.`);
    }
    if (execution.connectorId !== connector.id) {
      throw new UsageError(
        'EXECUTION_OF_ANOTHER_CONNECTOR',
        `Execution ${execution.id} belongs to connector "${execution.connectorApiName}", not ` +
          `"${connector.apiName}". Name one of ${connector.apiName}'s executions, or leave sourceExecutionId ` +
          'out to use its latest input.',
      );
    }
    const file = await executionInput(ports, execution);
    if (!file) {
      throw new UsageError(
        'INPUT_NOT_AVAILABLE',
        `Execution ${execution.id} has no input file any more (inputs are kept for a limited time). ` +
          'Name a more recent execution, or leave sourceExecutionId out to use the latest input.',
      );
    }
    return file;
  }
  // Newest first, a page at a time: the latest input is almost always on the first page.
  let after: string | undefined;
  do {
    const page = await ports.executions.pageByConnector(connector.id, { limit: 50, after });
    for (const execution of page.items) {
      const file = await executionInput(ports, execution);
      if (file) return file;
    }
    after = page.next ?? undefined;
  } while (after !== undefined);
  return input.fallback
    ? { localPath: input.fallback.path, name: safeFileName(input.fallback.name), executionId: null }
    : null;
}

async function executionInput(ports: Pick<Ports, 'blobs'>, execution: Execution): Promise<SourceFile | null> {
  const file = execution.inputFile;
  if (!file || !(await ports.blobs.exists(file.key))) return null;
  return {
    localPath: await ports.blobs.localPath(file.key),
    name: safeFileName(file.name),
    executionId: execution.id,
    ...(file.table ? { table: file.table } : {}),
  };
}

/**
 * The objects a connector needs to be saved and run: those its steps load into and its reference data
 * reads, and every object their relationship fields point to (so lookups and type checks resolve).
 */
export function neededObjects(
  definition: ConnectorDefinition,
  objects: readonly ObjectDefinition[],
): ObjectDefinition[] {
  const byName = new Map(objects.map((o) => [o.apiName, o]));
  const needed = new Set<string>();
  const queue = [
    ...definition.loadSteps.map((s) => s.object),
    ...definition.referenceData.map((r) => r.object),
  ];
  while (queue.length > 0) {
    const name = queue.shift()!;
    const object = byName.get(name);
    if (needed.has(name) || !object) continue;
    needed.add(name);
    for (const field of object.fields) if (field.relatedObject) queue.push(field.relatedObject);
  }
  return objects.filter((o) => needed.has(o.apiName)).sort((a, b) => a.apiName.localeCompare(b.apiName));
}

/** An object as an `objects/<apiName>.json` file: fields as a map keyed by api name. */
export function objectDocument(object: ObjectDefinition): Record<string, unknown> {
  return {
    apiName: object.apiName,
    name: object.name,
    fields: Object.fromEntries(
      object.fields.map((f) => [
        f.apiName,
        {
          label: f.label,
          type: f.type,
          required: f.required,
          ...(f.options.length > 0 ? { options: f.options } : {}),
          ...(f.relatedObject ? { relatedObject: f.relatedObject } : {}),
        },
      ]),
    ),
  };
}

/** The last path segment, without characters that would make a ZIP entry or a shell word awkward. */
function safeFileName(name: string): string {
  const base = basename(name.replace(/\\/g, '/'));
  const cleaned = [...base]
    .filter((c) => c.charCodeAt(0) >= 0x20)
    .join('')
    .trim();
  return cleaned === '' || cleaned === '.' || cleaned === '..' ? 'input' : cleaned;
}

function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

function readme(p: {
  connector: ConnectorRecord;
  definition: ConnectorDefinition;
  source: SourceFile | null;
  runCommand: string | null;
  objects: ObjectDefinition[];
  withheld: string[];
  devWithheld: readonly string[];
}): string {
  const { connector, definition, source } = p;
  const lines = [
    `# Dev package: ${definition.name} (${connector.apiName})`,
    '',
    `Version ${connector.version} of connector \`${connector.apiName}\`, as a one-connector SmartConnector`,
    'workspace: unzip it into an empty folder and run it there with the `sc` CLI. Nothing in it reaches the',
    'environment it came from; records go to a local store in `.sc/`.',
    '',
    '## Contents',
    '',
    '- `connector.json`: the definition' +
      (definition.sql === null ? ' (no SQL).' : '; its SQL is `connector.sql`.'),
    ...(definition.sql === null ? [] : ['- `connector.sql`: the SQL script.']),
    ...p.objects.map((o) => `- \`objects/${o.apiName}.json\`: the ${o.name} object.`),
    source
      ? `- \`data/${source.name}\`: ` +
        (source.executionId
          ? `the input of execution ${source.executionId}.`
          : "a sample input from the connector's folder.")
      : '- no input file: the connector has no execution whose input is still kept. Put one in `data/`.',
    '',
    '## Run it',
    '',
    '```sh',
    ...(p.runCommand
      ? [`${p.runCommand} --dry-run`, p.runCommand]
      : ['sc run . --input data/<your file> --dry-run', 'sc run . --input data/<your file>']),
    ...[...new Set(definition.loadSteps.map((s) => s.object))].map((o) => `sc records ${o} --json`),
    '```',
    '',
    'A dry run writes nothing; a live run activates the connector in this workspace first. Each run prints',
    'the path of its XLSX report.',
  ];
  const notes: string[] = [];
  if (source?.table) {
    notes.push(
      `The platform named this input's table \`input.${source.table}\`; \`sc run\` names a table after its ` +
        'file, so SQL that reads it by name needs that name changed to try it here.',
    );
  }
  if (definition.secrets.length > 0) {
    notes.push(
      `The SQL reads the secrets ${definition.secrets.map((s) => `\`${s}\``).join(', ')}; their values are not ` +
        'in this package. Set each one here with `sc secrets set <name>`.',
    );
  }
  if (definition.referenceData.length > 0) {
    notes.push(
      'Reference data (`records.<object>`) is read from the records in this workspace, which start empty.',
    );
  }
  const left = [...p.withheld, ...p.devWithheld.map((k) => `settings.${k}`)];
  if (left.length > 0) {
    notes.push(
      `Left out: ${left.map((k) => `\`${k}\``).join(', ')} (secrets, and receivers a local run should not notify).`,
    );
  }
  if (notes.length > 0) lines.push('', '## Notes', '', ...notes.map((n) => `- ${n}`));
  return lines.join('\n') + '\n';
}
