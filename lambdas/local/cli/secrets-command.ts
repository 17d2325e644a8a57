import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { ScError, UsageError } from '../../core/errors.ts';
import { FileSecretStore, SECRETS_FILE_NAME } from '../../adapters/local/file-secret-store.ts';
import { findConnectorDirs, findWorkspace, loadConnectorDir } from '../workspace.ts';

/*
 * `sc secrets set|list|delete`: the workspace's secrets file (docs/secrets.md). These commands touch
 * only that file, never the local runtime, so they work while `sc serve` holds the workspace, and the
 * next run reads what they wrote. No command ever prints a value.
 */

interface SecretsOptions {
  workspace?: string;
  json: boolean;
}

/** Registers `sc secrets` and its subcommands on the program. */
export function addSecretsCommand(program: Command): void {
  const secrets = program
    .command('secrets')
    .description(`manage the secrets connectors read in SQL (${SECRETS_FILE_NAME} in the workspace)`);
  const workspaceOf = (command: Command) => command.optsWithGlobals<{ workspace?: string }>().workspace;

  secrets
    .command('set')
    .description('set a secret: text, or a JSON object whose members become the named collection keys')
    .argument('<name>', 'the secret name, as the connector lists it in "secrets"')
    .option('--value <value>', 'the value (it stays in your shell history: prefer --from-file)')
    .option('--from-file <file>', 'read the value from a file, or from standard input with -')
    .option('--json', 'print the result as JSON', false)
    .action(async (name: string, options: SetOptions, command: Command) => {
      process.exitCode = await secretsSetCommand(name, { ...options, workspace: workspaceOf(command) });
    });

  secrets
    .command('list')
    .description('list the secrets and their member names (never values), and those connectors miss')
    .option('--json', 'print the result as JSON', false)
    .action(async (options: { json: boolean }, command: Command) => {
      process.exitCode = await secretsListCommand({ ...options, workspace: workspaceOf(command) });
    });

  secrets
    .command('delete')
    .description('remove a secret from the secrets file')
    .argument('<name>', 'the secret name')
    .option('--json', 'print the result as JSON', false)
    .action(async (name: string, options: { json: boolean }, command: Command) => {
      process.exitCode = await secretsDeleteCommand(name, { ...options, workspace: workspaceOf(command) });
    });
}

interface SetOptions {
  value?: string;
  fromFile?: string;
  json: boolean;
}

/** `sc secrets set <name> (--value <value> | --from-file <file|->)`. */
export async function secretsSetCommand(
  name: string,
  options: SetOptions & { workspace?: string },
): Promise<number> {
  const { store, root } = openSecrets(options.workspace);
  const value = await readValue(options);
  const { members, gitignoreUpdated } = await store.set(name, value).catch((error: unknown) => {
    // A bad name or value is bad usage here (exit 2), though the same check fails a run at run time.
    throw error instanceof ScError && error.code.startsWith('SECRET_')
      ? new UsageError(error.code, error.message)
      : error;
  });
  if (options.json) {
    print({ name, members, file: store.path, gitignoreUpdated });
  } else {
    const lines = [
      `Secret ${name} set in ${store.path} (members: ${members.join(', ')}).`,
      `A connector that lists it in "secrets" reads it in SQL as the named collection ${name}.`,
    ];
    if (gitignoreUpdated) lines.push(`Added /${SECRETS_FILE_NAME} to ${join(root, '.gitignore')}.`);
    process.stdout.write(lines.join('\n') + '\n');
  }
  return 0;
}

/** `sc secrets list`: names and member names, then the secrets a connector names that are not set. */
export async function secretsListCommand(options: SecretsOptions): Promise<number> {
  const { store, root } = openSecrets(options.workspace);
  const secrets = await store.list();
  const missing = await missingSecrets(root, new Set(secrets.map((s) => s.name)));
  if (options.json) {
    print({ file: store.path, secrets, missing });
    return 0;
  }
  const lines =
    secrets.length === 0
      ? [
          `No secrets in ${store.path}.`,
          `Set one with: sc secrets set <name> --value '<value or JSON object>' (or --from-file <file>)`,
        ]
      : [`${store.path}:`, ...secrets.map((s) => `  ${s.name}: ${s.members.join(', ')}`)];
  if (missing.length > 0) {
    lines.push(
      'Named by a connector but not set (its runs fail with SECRET_NOT_FOUND):',
      ...missing.map((m) => `  ${m.name} (${m.connectors.join(', ')})`),
    );
  }
  process.stdout.write(lines.join('\n') + '\n');
  return 0;
}

/** `sc secrets delete <name>`. */
export async function secretsDeleteCommand(name: string, options: SecretsOptions): Promise<number> {
  const { store } = openSecrets(options.workspace);
  if (!(await store.delete(name))) {
    throw new UsageError(
      'SECRET_NOT_FOUND',
      `There is no secret "${name}" in ${store.path}; see sc secrets list.`,
    );
  }
  if (options.json) print({ name, deleted: true, file: store.path });
  else process.stdout.write(`Secret ${name} deleted from ${store.path}.\n`);
  return 0;
}

function openSecrets(explicit: string | undefined): { store: FileSecretStore; root: string } {
  const { root } = findWorkspace({
    explicit,
    env: process.env.SC_WORKSPACE || undefined,
    from: process.cwd(),
  });
  return { store: new FileSecretStore(join(root, SECRETS_FILE_NAME)), root };
}

/** The value from exactly one of `--value` and `--from-file`; a file's final line break is not part of it. */
async function readValue(options: SetOptions): Promise<string> {
  if ((options.value === undefined) === (options.fromFile === undefined)) {
    throw new UsageError(
      'SECRET_VALUE_MISSING',
      'Give the value with exactly one of --value <value> and --from-file <file> (--from-file - reads standard input).',
    );
  }
  if (options.value !== undefined) return options.value;
  const source = options.fromFile!;
  if (source === '-') return withoutFinalLineBreak(await readStdin());
  const path = resolve(source);
  if (!existsSync(path) || !statSync(path).isFile()) {
    throw new UsageError(
      'SECRET_VALUE_FILE_NOT_FOUND',
      `${path} is not a file; --from-file takes the file holding the value.`,
    );
  }
  return withoutFinalLineBreak(await readFile(path, 'utf8'));
}

function withoutFinalLineBreak(text: string): string {
  return text.replace(/\r?\n$/, '');
}

async function readStdin(): Promise<string> {
  let text = '';
  for await (const chunk of process.stdin.setEncoding('utf8')) text += chunk as string;
  return text;
}

/** The secrets the workspace's connector folders name that the file does not hold, with who names them. */
async function missingSecrets(
  root: string,
  present: ReadonlySet<string>,
): Promise<Array<{ name: string; connectors: string[] }>> {
  const missing = new Map<string, Set<string>>();
  for (const dir of await findConnectorDirs({ root, stateDir: join(root, '.sc') })) {
    // A folder whose definition does not load is reported by sc validate, not here.
    const definition = await loadConnectorDir(dir).catch(() => undefined);
    for (const name of definition?.secrets ?? []) {
      if (present.has(name)) continue;
      const connectors = missing.get(name) ?? new Set<string>();
      connectors.add(definition?.apiName ?? basename(dir));
      missing.set(name, connectors);
    }
  }
  return [...missing]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, connectors]) => ({ name, connectors: [...connectors] }));
}

function print(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}
