import type { Command } from 'commander';
import { ScError, UsageError } from '../../core/errors.ts';
import { createApiKey } from '../../pipeline/api.ts';
import type { ApiKeyRecord } from '../../ports/api-key-store.ts';
import { withWorkspace } from './session.ts';

/*
 * `sc keys create|list|revoke`: the keys of the HTTP API in the workspace's local store (SPEC §9, §10).
 * Only a key's SHA-256 hash is stored, so `create` is the one time a key is shown. These commands open
 * the workspace's database, so they run while `sc serve` is stopped (one process holds a workspace).
 */

interface KeysOptions {
  workspace?: string;
  json: boolean;
}

/** Registers `sc keys` and its subcommands on the program. */
export function addKeysCommand(program: Command): void {
  const keys = program
    .command('keys')
    .description('manage the API keys of the HTTP API (shown once, stored hashed)');
  const workspaceOf = (command: Command) => command.optsWithGlobals<{ workspace?: string }>().workspace;

  keys
    .command('create')
    .description('create a key and print it once')
    .option('--name <name>', 'who or what the key is for (default: cli:<user>)')
    .option('--json', 'print { id, name, key }', false)
    .action(async (options: { name?: string; json: boolean }, command: Command) => {
      process.exitCode = await keysCreateCommand({ ...options, workspace: workspaceOf(command) });
    });

  keys
    .command('list')
    .description('list the keys (never the keys themselves): id, name, created, revoked')
    .option('--json', 'print a JSON array', false)
    .action(async (options: { json: boolean }, command: Command) => {
      process.exitCode = await keysListCommand({ ...options, workspace: workspaceOf(command) });
    });

  keys
    .command('revoke')
    .description('revoke a key: from then on the API answers it with 403')
    .argument('<id>', 'the key id (sc keys list)')
    .option('--json', 'print the revoked key as JSON', false)
    .action(async (id: string, options: { json: boolean }, command: Command) => {
      process.exitCode = await keysRevokeCommand(id, { ...options, workspace: workspaceOf(command) });
    });
}

/** `sc keys create [--name <name>] [--json]`. */
export async function keysCreateCommand(options: KeysOptions & { name?: string }): Promise<number> {
  const name = options.name?.trim() || `cli:${process.env.USER ?? 'local'}`;
  return withWorkspace(options.workspace, async (session) => {
    const created = await createApiKey(session.runtime.apiKeys, name, session.runtime.ports.clock.now());
    if (options.json) {
      print(created);
    } else {
      process.stdout.write(`${created.key}\n`);
      process.stderr.write(
        `API key ${created.id} ("${name}"). Keep it: it is shown once. Send it as the X-Api-Key header.\n`,
      );
    }
    return 0;
  });
}

/** `sc keys list [--json]`: oldest first. */
export async function keysListCommand(options: KeysOptions): Promise<number> {
  return withWorkspace(options.workspace, async (session) => {
    const keys = (await session.runtime.apiKeys.listApiKeys()).map(keyJson);
    if (options.json) {
      print(keys);
      return 0;
    }
    const rows = keys.map((k) => [
      k.id,
      k.name,
      k.createdAt,
      k.revokedAt ? `revoked ${k.revokedAt}` : 'active',
    ]);
    const header = ['id', 'name', 'created', 'status'];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    const line = (cells: string[]) =>
      cells
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd();
    const active = keys.filter((k) => !k.revokedAt).length;
    process.stdout.write(
      [line(header), ...rows.map(line), `${keys.length} key(s), ${active} active`].join('\n') + '\n',
    );
    return 0;
  });
}

/** `sc keys revoke <id> [--json]`: revoking a revoked key changes nothing. */
export async function keysRevokeCommand(id: string, options: KeysOptions): Promise<number> {
  return withWorkspace(options.workspace, async (session) => {
    const revoked = await session.runtime.apiKeys.revokeApiKey(id).catch((error: unknown) => {
      throw error instanceof ScError && error.code === 'API_KEY_NOT_FOUND'
        ? new UsageError(error.code, error.message)
        : error;
    });
    if (options.json) print(keyJson(revoked));
    else process.stdout.write(`API key ${revoked.id} ("${revoked.name}") revoked at ${revoked.revokedAt}.\n`);
    return 0;
  });
}

/** A key as the CLI shows it: never its hash. */
function keyJson(key: ApiKeyRecord) {
  return { id: key.id, name: key.name, createdAt: key.createdAt, revokedAt: key.revokedAt };
}

function print(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}
