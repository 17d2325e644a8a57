import { existsSync, statSync } from 'node:fs';
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import type { Command } from 'commander';
import { deriveApiName, uniqueApiName } from '../../core/api-name.ts';
import type { ConnectorDefinition } from '../../core/connector-schema.ts';
import { DefinitionError, ScError, UsageError } from '../../core/errors.ts';
import { zodIssues } from '../../core/zod-issues.ts';
import type { ConnectorRecord } from '../../ports/connector-store.ts';
import {
  ON_CONFLICT,
  activationReadiness,
  connectorDocument,
  connectorExportSchema,
  copyName,
  draftFromExport,
  exportDocument,
  importApiName,
  type ActivationReadiness,
  type OnConflict,
} from '../../pipeline/transfer.ts';
import { applyConnector, findConnectorDirs, loadConnectorDir } from '../workspace.ts';
import { openWorkspace, type WorkspaceSession } from './session.ts';

/*
 * `sc export`, `sc import` and `sc duplicate` (SPEC §10, "as the API"; docs/transfer.md). The workspace
 * folders are the local source of truth, so import and duplicate write a new connector folder
 * (`connector.json` and `connector.sql`) and apply it, as every command applies the folder it is given.
 */

type Json = { json: boolean };
const workspaceOf = (command: Command) => command.optsWithGlobals<{ workspace?: string }>().workspace;

/** Registers `sc export`, `sc import` and `sc duplicate` on the program. */
export function addTransferCommands(program: Command): void {
  program
    .command('export')
    .description("write a connector's export document (its definition with the SQL inline, no secret values)")
    .argument('<connector>', 'the connector folder, or the api name of a connector in the local store')
    .option('-o, --out <file>', 'write it to this file instead of standard output')
    .option('--json', 'with --out: print what was written as JSON', false)
    .action(async (ref: string, options: { out?: string } & Json, command: Command) => {
      process.exitCode = await exportCommand(ref, { ...options, workspace: workspaceOf(command) });
    });

  program
    .command('import')
    .description('import an export document as a new connector folder in the workspace, and apply it')
    .argument('<file>', 'the export document (sc export, GET /connectors/{ref}/export)')
    .option('--dir <folder>', 'the new connector folder (default: <workspace>/<apiName>)')
    .option(
      '--on-conflict <mode>',
      'when the api name is taken: fail (the default) or rename (take <apiName>_2, _3…)',
      'fail',
    )
    .option('--json', 'print the result as JSON', false)
    .action(async (file: string, options: { dir?: string; onConflict: string } & Json, command: Command) => {
      process.exitCode = await importCommand(file, { ...options, workspace: workspaceOf(command) });
    });

  program
    .command('duplicate')
    .description('copy a connector folder into a new one, as a new connector named "<name> (copy)"')
    .argument('<connector-dir>', 'the connector folder to copy')
    .option('--name <name>', 'the name of the copy (default: "<name> (copy)")')
    .option('--dir <folder>', 'the new connector folder (default: <workspace>/<new apiName>)')
    .option('--json', 'print the result as JSON', false)
    .action(async (dir: string, options: { name?: string; dir?: string } & Json, command: Command) => {
      process.exitCode = await duplicateCommand(dir, { ...options, workspace: workspaceOf(command) });
    });
}

/**
 * Opens the workspace and finds the connector a command names: a connector folder (applied first, as
 * every command applies the folder it is given) or the api name or id of a connector in the local store.
 */
export async function openNamedConnector(
  ref: string,
  workspace: string | undefined,
): Promise<{ session: WorkspaceSession; connector: ConnectorRecord; dir: string | null }> {
  const isFolder = existsSync(join(ref, 'connector.json'));
  const session = await openWorkspace(isFolder ? ref : process.cwd(), workspace);
  try {
    if (isFolder) {
      const { connector } = await applyConnector(
        session.runtime.ports.connectors,
        session.workspace,
        ref,
        [...session.objects.values()],
        session.runtime.ports.clock,
      );
      return { session, connector, dir: resolve(ref) };
    }
    const connector = await session.runtime.ports.connectors.getConnector(ref);
    if (!connector) {
      throw new UsageError(
        'CONNECTOR_NOT_FOUND',
        `"${ref}" is neither a connector folder (no connector.json in it) nor the api name of a connector ` +
          `in the workspace ${session.workspace.root}. Pass the connector's folder.`,
      );
    }
    return { session, connector, dir: null };
  } catch (error) {
    await session.close();
    throw error;
  }
}

/** `sc export <connector> [--out file]`. */
export async function exportCommand(
  ref: string,
  options: { out?: string; workspace?: string } & Json,
): Promise<number> {
  const { session, connector } = await openNamedConnector(ref, options.workspace);
  try {
    const { ports } = session.runtime;
    const version = await ports.connectors.getVersion(connector.id, connector.version);
    if (!version)
      throw new UsageError('CONNECTOR_NOT_FOUND', `Connector ${connector.apiName} has no version.`);
    const document = exportDocument(version.definition, connector, ports.clock.now());
    const text = JSON.stringify(document, null, 2) + '\n';
    if (!options.out) {
      process.stdout.write(text);
      return 0;
    }
    const file = resolve(options.out);
    await writeFile(file, text);
    const result = {
      apiName: connector.apiName,
      version: connector.version,
      file,
      withheld: document.withheld ?? [],
    };
    process.stdout.write(
      options.json
        ? JSON.stringify(result) + '\n'
        : `Exported ${connector.apiName} (version ${connector.version}) to ${file}.\n` +
            withheldText(result.withheld),
    );
    return 0;
  } finally {
    await session.close();
  }
}

/** `sc import <file> [--dir folder] [--on-conflict rename]`: a new folder, applied, in `setup`. */
export async function importCommand(
  file: string,
  options: { dir?: string; onConflict: string; workspace?: string } & Json,
): Promise<number> {
  const onConflict = parseOnConflict(options.onConflict);
  const path = resolve(file);
  if (!existsSync(path) || !statSync(path).isFile()) {
    throw new UsageError('IMPORT_FILE_NOT_FOUND', `Export file ${path} does not exist.`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new DefinitionError(file, [{ path: '', message: `not valid JSON: ${(error as Error).message}` }]);
  }
  const parsed = connectorExportSchema.safeParse(raw);
  if (!parsed.success) throw new DefinitionError(file, zodIssues(parsed.error));
  const draft = draftFromExport(parsed.data);

  const session = await openWorkspace(process.cwd(), options.workspace);
  try {
    const taken = await takenApiNames(session);
    const { apiName: requested, renamedFrom } = usage(() => importApiName(draft.apiName, taken, onConflict));
    const apiName = requested ?? uniqueApiName(deriveApiName(draft.name), taken);
    const definition: ConnectorDefinition = { ...draft, apiName };
    const dir = await newConnectorDir(session, options.dir, apiName);
    const result = await writeAndApply(session, dir, definition, 'cannot be imported into this workspace');
    const output = { ...result, ...(renamedFrom ? { renamedFrom } : {}), withheld: parsed.data.withheld };
    process.stdout.write(
      options.json
        ? JSON.stringify(output, null, 2) + '\n'
        : transferText('Imported', output) + withheldText(output.withheld, dir),
    );
    return 0;
  } finally {
    await session.close();
  }
}

/** `sc duplicate <connector-dir> [--name] [--dir]`: a copy of the folder as a new connector. */
export async function duplicateCommand(
  sourceDir: string,
  options: { name?: string; dir?: string; workspace?: string } & Json,
): Promise<number> {
  if (!existsSync(join(sourceDir, 'connector.json'))) {
    throw new UsageError(
      'CONNECTOR_NOT_FOUND',
      `No connector at ${resolve(sourceDir)}: connector.json is missing. Pass a connector folder.`,
    );
  }
  if (options.name !== undefined && options.name.trim() === '') {
    throw new UsageError('BAD_USAGE', '--name must not be empty.');
  }
  const { session, connector } = await openNamedConnector(sourceDir, options.workspace);
  try {
    const version = await session.runtime.ports.connectors.getVersion(connector.id, connector.version);
    if (!version)
      throw new UsageError('CONNECTOR_NOT_FOUND', `Connector ${connector.apiName} has no version.`);
    const name = options.name?.trim() ?? copyName(version.definition.name);
    const taken = await takenApiNames(session);
    const apiName = uniqueApiName(deriveApiName(name), taken);
    const dir = await newConnectorDir(session, options.dir, apiName);
    const result = await writeAndApply(
      session,
      dir,
      { ...version.definition, name, apiName },
      'cannot be copied in this workspace',
    );
    const output = { ...result, copiedFrom: connector.apiName };
    process.stdout.write(
      options.json
        ? JSON.stringify(output, null, 2) + '\n'
        : transferText(`Copied ${connector.apiName} as`, output),
    );
    return 0;
  } finally {
    await session.close();
  }
}

interface WrittenConnector {
  apiName: string;
  name: string;
  dir: string;
  status: string;
  version: number;
  activation: ActivationReadiness;
}

/**
 * Writes a connector folder (`connector.json` with the SQL in `connector.sql`) and applies it. A
 * definition this workspace cannot save (an object or field it lacks) leaves no folder behind: the
 * error lists each issue with its path.
 */
async function writeAndApply(
  session: WorkspaceSession,
  dir: string,
  definition: ConnectorDefinition,
  verdict: string,
): Promise<WrittenConnector> {
  // What it writes is the definition as given: an export has left out its secrets already, a copy keeps them.
  const { document } = connectorDocument(definition, { file: 'connector.sql' }, { keepSecrets: true });
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'connector.json'), JSON.stringify(document, null, 2) + '\n');
  if (definition.sql !== null) await writeFile(join(dir, 'connector.sql'), definition.sql);
  const objects = [...session.objects.values()];
  const { ports } = session.runtime;
  try {
    const { connector, version } = await applyConnector(
      ports.connectors,
      session.workspace,
      dir,
      objects,
      ports.clock,
    );
    return {
      apiName: connector.apiName,
      name: connector.name,
      dir,
      status: connector.status,
      version: version.version,
      activation: activationReadiness(version.definition, objects),
    };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    if (error instanceof DefinitionError) {
      throw new DefinitionError(`connector ${definition.apiName}`, error.issues, verdict);
    }
    throw error;
  }
}

/** The folder a new connector goes to: `--dir`, else `<workspace>/<apiName>`; never an existing one. */
async function newConnectorDir(
  session: WorkspaceSession,
  given: string | undefined,
  apiName: string,
): Promise<string> {
  const dir = given ? resolve(given) : join(session.workspace.root, apiName);
  if (existsSync(dir) && (!statSync(dir).isDirectory() || (await readdir(dir)).length > 0)) {
    throw new UsageError('FOLDER_EXISTS', `${dir} exists already. Name a new folder with --dir <folder>.`);
  }
  return dir;
}

/** Api names in use: the local store's, and those the workspace folders declare (applied or not). */
async function takenApiNames(session: WorkspaceSession): Promise<Set<string>> {
  const taken = new Set((await session.runtime.ports.connectors.listConnectors()).map((c) => c.apiName));
  for (const dir of await findConnectorDirs(session.workspace)) {
    const declared = await loadConnectorDir(dir).then(
      (loaded) => loaded.apiName,
      () => undefined,
    );
    if (declared) taken.add(declared);
  }
  return taken;
}

function parseOnConflict(value: string): OnConflict {
  const mode = ON_CONFLICT.find((m) => m === value);
  if (!mode) {
    throw new UsageError('BAD_USAGE', `--on-conflict takes ${ON_CONFLICT.join(' or ')}, not "${value}".`);
  }
  return mode;
}

/** A refusal that is the caller's to fix (a taken api name) is bad usage here: exit 2. */
function usage<T>(run: () => T): T {
  try {
    return run();
  } catch (error) {
    if (error instanceof ScError && !(error instanceof UsageError))
      throw new UsageError(error.code, error.message);
    throw error;
  }
}

function transferText(verb: string, r: WrittenConnector & { renamedFrom?: string }): string {
  const lines = [
    `${verb} ${r.apiName} ("${r.name}") in ${relative(process.cwd(), r.dir) || '.'}: status ${r.status}.`,
  ];
  if (r.renamedFrom) lines.push(`The api name ${r.renamedFrom} was taken, so it is ${r.apiName}.`);
  if (r.activation.ready) {
    lines.push('It passes the activation checks: a live sc run activates it.');
  } else {
    lines.push(
      'It cannot be activated until these are fixed:',
      ...r.activation.issues.map((i) => `  - ${i.path || '(root)'}: ${i.message}`),
    );
  }
  return lines.join('\n') + '\n';
}

function withheldText(withheld: readonly string[], dir?: string): string {
  if (withheld.length === 0) return '';
  const where = dir ? ` in ${join(relative(process.cwd(), dir) || '.', 'connector.json')}` : '';
  return `Left out (secret values): ${withheld.join(', ')}. Set them again${where}.\n`;
}
