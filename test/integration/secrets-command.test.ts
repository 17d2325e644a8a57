import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { SECRETS_FILE_NAME } from '../../lambdas/adapters/local/file-secret-store.ts';
import { UsageError } from '../../lambdas/core/errors.ts';
import {
  secretsDeleteCommand,
  secretsListCommand,
  secretsSetCommand,
} from '../../lambdas/local/cli/secrets-command.ts';

/*
 * `sc secrets set|list|delete` in process, on a workspace folder: what each prints (never a value), and
 * what each bad input gets. test/e2e/secrets-cli.test.ts runs the real CLI (exit codes, stdin) and runs.
 */

const TOKEN_URL = 'https://api.example.com/export.csv?token=tok-cmd-51e0-SECRET';
const PASSWORD = 'pw-cmd-77aa-SECRET';

let root: string;
let valueDir: string;
let printed: string[] = [];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'sc-secrets-cmd-'));
  valueDir = await mkdtemp(join(tmpdir(), 'sc-secret-values-'));
  await mkdir(join(root, 'objects'));
  for (const [folder, secrets] of [
    ['crm_sync', ['crm_source', 'warehouse']],
    ['erp_sync', ['warehouse', 'erp_token']],
    ['plain', []],
  ] as const) {
    await mkdir(join(root, folder));
    await writeFile(join(root, folder, 'connector.json'), JSON.stringify({ name: folder, secrets }));
  }
  // A folder whose definition does not load is left to sc validate; the listing goes on without it.
  await mkdir(join(root, 'broken'));
  await writeFile(join(root, 'broken', 'connector.json'), '{ not json');
  options.workspace = root;
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
  await rm(valueDir, { recursive: true, force: true });
});

/** Runs a command with stdout captured; returns its exit code and what it printed. */
async function capture(command: () => Promise<number>): Promise<{ code: number; out: string }> {
  printed = [];
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    printed.push(String(chunk));
    return true;
  });
  try {
    return { code: await command(), out: printed.join('') };
  } finally {
    spy.mockRestore();
  }
}

// Whatever a command printed, it never held a value.
afterEach(() => {
  for (const value of [TOKEN_URL, 'tok-cmd-51e0', PASSWORD]) expect(printed.join('')).not.toContain(value);
});

/** The options every command gets: text output, the workspace named (as --workspace does). */
const options = { json: false, workspace: '' };

describe('sc secrets, in process', () => {
  it('lists no secrets, and each one a connector names with the connectors naming it', async () => {
    const { code, out } = await capture(() => secretsListCommand(options));
    expect(code).toBe(0);
    expect(out).toBe(
      [
        `No secrets in ${join(root, SECRETS_FILE_NAME)}.`,
        "Set one with: sc secrets set <name> --value '<value or JSON object>' (or --from-file <file>)",
        'Named by a connector but not set (its runs fail with SECRET_NOT_FOUND):',
        '  crm_source (crm_sync)',
        '  erp_token (erp_sync)',
        '  warehouse (crm_sync, erp_sync)',
        '',
      ].join('\n'),
    );
  });

  it('sets from --value and from a file (its final line break dropped), printing member names only', async () => {
    const set = await capture(() =>
      secretsSetCommand('crm_source', { ...options, value: JSON.stringify({ url: TOKEN_URL }) }),
    );
    expect(set.code).toBe(0);
    expect(set.out).toContain(`Secret crm_source set in ${join(root, SECRETS_FILE_NAME)} (members: url).`);
    expect(set.out).toContain(`Added /secrets.local.json to ${join(root, '.gitignore')}.`);

    await writeFile(join(valueDir, 'password.txt'), `${PASSWORD}\n`);
    const fromFile = await capture(() =>
      secretsSetCommand('erp_token', { ...options, json: true, fromFile: join(valueDir, 'password.txt') }),
    );
    expect(JSON.parse(fromFile.out)).toEqual({
      name: 'erp_token',
      members: ['value'],
      file: join(root, SECRETS_FILE_NAME),
      gitignoreUpdated: false,
    });
    expect(JSON.parse(await readFile(join(root, SECRETS_FILE_NAME), 'utf8'))).toEqual({
      crm_source: { url: TOKEN_URL },
      erp_token: PASSWORD,
    });
  });

  it('lists the secrets with their members, and what is still missing', async () => {
    const text = await capture(() => secretsListCommand(options));
    expect(text.out).toBe(
      [
        `${join(root, SECRETS_FILE_NAME)}:`,
        '  crm_source: url',
        '  erp_token: value',
        'Named by a connector but not set (its runs fail with SECRET_NOT_FOUND):',
        '  warehouse (crm_sync, erp_sync)',
        '',
      ].join('\n'),
    );
    const json = await capture(() => secretsListCommand({ ...options, json: true }));
    expect(JSON.parse(json.out)).toEqual({
      file: join(root, SECRETS_FILE_NAME),
      secrets: [
        { name: 'crm_source', members: ['url'] },
        { name: 'erp_token', members: ['value'] },
      ],
      missing: [{ name: 'warehouse', connectors: ['crm_sync', 'erp_sync'] }],
    });
  });

  it('deletes a secret', async () => {
    const deleted = await capture(() => secretsDeleteCommand('erp_token', options));
    expect(deleted.out).toBe(`Secret erp_token deleted from ${join(root, SECRETS_FILE_NAME)}.\n`);
    expect(JSON.parse(await readFile(join(root, SECRETS_FILE_NAME), 'utf8'))).toEqual({
      crm_source: { url: TOKEN_URL },
    });
  });

  it.each<[string, () => Promise<number>, string, string]>([
    ['no value', () => secretsSetCommand('x', options), 'SECRET_VALUE_MISSING', 'exactly one of --value'],
    [
      'both --value and --from-file',
      () => secretsSetCommand('x', { ...options, value: 'a', fromFile: 'b' }),
      'SECRET_VALUE_MISSING',
      '--from-file - reads standard input',
    ],
    [
      'a value file that does not exist',
      () => secretsSetCommand('x', { ...options, fromFile: join(valueDir, 'nope.txt') }),
      'SECRET_VALUE_FILE_NOT_FOUND',
      'nope.txt is not a file',
    ],
    [
      'a value file that is a folder',
      () => secretsSetCommand('x', { ...options, fromFile: valueDir }),
      'SECRET_VALUE_FILE_NOT_FOUND',
      'is not a file',
    ],
    [
      'a name Secrets Manager refuses',
      () => secretsSetCommand('crm source', { ...options, value: PASSWORD }),
      'SECRET_NAME_INVALID',
      'letters, digits and _ + = . @ / -',
    ],
    [
      'an object that is not JSON',
      () => secretsSetCommand('x', { ...options, value: `{"password": "${PASSWORD}"` }),
      'SECRET_INVALID',
      'Secret "x" is not valid JSON',
    ],
    [
      'an empty value',
      () => secretsSetCommand('x', { ...options, value: '' }),
      'SECRET_INVALID',
      'Secret "x" is empty',
    ],
    [
      'an unknown secret to delete',
      () => secretsDeleteCommand('nope', options),
      'SECRET_NOT_FOUND',
      'There is no secret "nope"',
    ],
  ])('refuses %s as bad usage (exit 2) with a code and no value', async (_, command, code, message) => {
    const error = await capture(command).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).code).toBe(code);
    expect((error as UsageError).message).toContain(message);
    expect((error as UsageError).message).not.toContain(PASSWORD);
  });
});
