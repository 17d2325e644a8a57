import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { connectorDefinitionSchema, type ConnectorDefinition } from '../core/connector-schema.ts';
import { DefinitionError, UsageError } from '../core/errors.ts';
import { parseObjectDefinition, type ObjectDefinition } from '../core/object-schema.ts';
import { zodIssues } from '../core/zod-issues.ts';
import {
  createConnector,
  saveConnectorVersion,
  stableStringify,
  type SavedConnector,
} from '../pipeline/connectors.ts';
import type { ConnectorStore } from '../ports/connector-store.ts';
import type { Clock } from '../ports/clock.ts';
import type { Ports } from '../pipeline/ports.ts';

/**
 * A workspace is a folder with `objects/*.json` and connector folders (`connector.json`,
 * `connector.sql`, optional `data/`); local state lives in `<workspace>/.sc/`.
 */
export interface WorkspaceLocation {
  root: string;
  stateDir: string;
}

/**
 * `--workspace`, else `SC_WORKSPACE`, else the nearest ancestor of `from` (the connector folder, or the
 * current directory) that holds an `objects/` folder.
 */
export function findWorkspace(options: { explicit?: string; env?: string; from: string }): WorkspaceLocation {
  const chosen = options.explicit ?? options.env;
  if (chosen) {
    const root = resolve(chosen);
    if (!existsSync(root)) throw new UsageError('WORKSPACE_NOT_FOUND', `Workspace ${root} does not exist.`);
    if (!existsSync(join(root, 'objects'))) {
      throw new UsageError(
        'WORKSPACE_NOT_FOUND',
        `${root} is not a workspace: it has no objects/ folder. Add objects/<apiName>.json files there, ` +
          'or point --workspace (or SC_WORKSPACE) at the folder that has them.',
      );
    }
    return { root, stateDir: join(root, '.sc') };
  }
  let dir = resolve(options.from);
  for (;;) {
    if (existsSync(join(dir, 'objects'))) return { root: dir, stateDir: join(dir, '.sc') };
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  throw new UsageError(
    'WORKSPACE_NOT_FOUND',
    `No workspace found above ${resolve(options.from)}: no folder with an objects/ directory. ` +
      'Pass --workspace <dir> or set SC_WORKSPACE.',
  );
}

async function readJson(path: string, source: string): Promise<unknown> {
  const text = await readFile(path, 'utf8');
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new DefinitionError(source, [{ path: '', message: `not valid JSON: ${(error as Error).message}` }]);
  }
}

export async function loadObjects(workspace: WorkspaceLocation): Promise<ObjectDefinition[]> {
  const dir = join(workspace.root, 'objects');
  const files = (await readdir(dir)).filter((f) => f.endsWith('.json')).sort();
  const objects: ObjectDefinition[] = [];
  for (const file of files) {
    const source = `objects/${file}`;
    objects.push(parseObjectDefinition(await readJson(join(dir, file), source), source));
  }
  const seen = new Set<string>();
  for (const object of objects) {
    if (seen.has(object.apiName)) {
      throw new DefinitionError('objects/', [
        { path: object.apiName, message: 'two object files define this apiName' },
      ]);
    }
    seen.add(object.apiName);
  }
  return objects;
}

/** Reads `<dir>/connector.json` and its SQL. The api name is settled later, against the store. */
export async function loadConnectorDir(
  dir: string,
): Promise<Omit<ConnectorDefinition, 'apiName'> & { apiName?: string }> {
  const file = join(dir, 'connector.json');
  if (!existsSync(file)) {
    throw new UsageError(
      'CONNECTOR_NOT_FOUND',
      `No connector at ${resolve(dir)}: connector.json is missing.`,
    );
  }
  const source = relative(process.cwd(), file) || file;
  const parsed = connectorDefinitionSchema.safeParse(await readJson(file, source));
  if (!parsed.success) throw new DefinitionError(source, zodIssues(parsed.error));
  const { sql, ...rest } = parsed.data;
  let script: string | null = null;
  if (sql && 'script' in sql) script = sql.script;
  else {
    const sqlFile = join(dir, sql?.file ?? 'connector.sql');
    if (existsSync(sqlFile)) script = await readFile(sqlFile, 'utf8');
    else if (sql)
      throw new DefinitionError(source, [{ path: 'sql.file', message: `${sqlFile} does not exist` }]);
    // A connector.sql the definition does not name is used when it holds a script; a blank one is ignored.
    if (!sql && script !== null && script.trim() === '') script = null;
  }
  return { ...rest, sql: script };
}

export { stableStringify };

export type AppliedConnector = SavedConnector;

/**
 * Applies workspace objects to the store. Options that load steps created at run time (`createOptions`)
 * are kept: the stored option list is the file's options followed by any created ones.
 */
export async function applyObjects(
  store: ConnectorStore,
  objects: readonly ObjectDefinition[],
): Promise<void> {
  for (const object of objects) {
    const stored = await store.getObject(object.apiName);
    const merged: ObjectDefinition = {
      ...object,
      fields: object.fields.map((field) => {
        const storedField = stored?.fields.find((f) => f.apiName === field.apiName);
        const created = (storedField?.options ?? []).filter(
          (o) => !field.options.some((x) => x.toLowerCase() === o.toLowerCase()),
        );
        return created.length > 0 ? { ...field, options: [...field.options, ...created] } : field;
      }),
    };
    if (!stored || stableStringify(stored) !== stableStringify(merged)) await store.putObject(merged);
  }
}

/**
 * Applies a connector folder: the first time it creates the connector (status `setup`) with a unique api
 * name; afterwards a new immutable version whenever the definition changed. The folder → api name map in
 * `.sc/connector-dirs.json` keeps the api name stable across renames. Given the workspace's `pipeline`
 * ports, a save that stops a connector batching webhook calls flushes its pending calls first, as a save
 * through the API does.
 */
export async function applyConnector(
  store: ConnectorStore,
  workspace: WorkspaceLocation,
  dir: string,
  objects: readonly ObjectDefinition[],
  clock: Clock,
  pipeline?: Ports,
): Promise<AppliedConnector> {
  const loaded = await loadConnectorDir(dir);
  const dirsFile = join(workspace.stateDir, 'connector-dirs.json');
  const dirs: Record<string, string> = existsSync(dirsFile)
    ? JSON.parse(await readFile(dirsFile, 'utf8'))
    : {};
  const dirKey = relative(workspace.root, resolve(dir)) || '.';

  const ports = pipeline ?? { connectors: store, clock };
  const options = {
    objects,
    source: relative(process.cwd(), join(dir, 'connector.json')) || 'connector.json',
  };
  const apiName = loaded.apiName ?? dirs[dirKey];
  const existing = apiName === undefined ? null : await store.getConnector(apiName);
  const { connector, version } = existing
    ? await saveConnectorVersion(ports, existing.id, loaded, options)
    : await createConnector(ports, { ...loaded, apiName }, options);
  if (dirs[dirKey] !== connector.apiName) {
    dirs[dirKey] = connector.apiName;
    await mkdir(workspace.stateDir, { recursive: true });
    await writeFile(dirsFile, JSON.stringify(dirs, null, 2) + '\n');
  }
  return { connector, version };
}

/** The connector folders of a workspace: its direct subfolders that hold a `connector.json`. */
export async function findConnectorDirs(workspace: WorkspaceLocation): Promise<string[]> {
  const entries = await readdir(workspace.root, { withFileTypes: true });
  return entries
    .filter((e) => e.isDirectory() && !e.name.startsWith('.') && e.name !== 'node_modules')
    .map((e) => join(workspace.root, e.name))
    .filter((dir) => existsSync(join(dir, 'connector.json')))
    .sort();
}
