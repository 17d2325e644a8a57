import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileSecretStore, SECRETS_FILE_NAME } from '../../lambdas/adapters/local/file-secret-store.ts';
import { ScError } from '../../lambdas/core/errors.ts';

/*
 * The local secret store: the workspace's secrets.local.json, on a real disk. What each bad file or
 * value gets, and that no error ever carries a value.
 */

const TOKEN_URL = 'https://api.example.com/export.csv?token=tok-7f3a9c-SECRET';
const PASSWORD = 'pw-Σ-81c2e0-SECRET';

let dir: string;
let file: string;
let store: FileSecretStore;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sc-secrets-'));
  file = join(dir, SECRETS_FILE_NAME);
  store = new FileSecretStore(file);
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function failure(promise: Promise<unknown>): Promise<ScError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ScError);
  return error as ScError;
}

describe('FileSecretStore', () => {
  it('sets secrets and reads them back: an object as its JSON text, text verbatim', async () => {
    expect(await store.set('crm_source', JSON.stringify({ url: TOKEN_URL, port: 443 }))).toEqual({
      members: ['url', 'port'],
      gitignoreUpdated: true,
    });
    await store.set('db_password', PASSWORD);
    expect(await store.getSecrets(['crm_source', 'db_password', 'crm_source'])).toEqual({
      crm_source: JSON.stringify({ url: TOKEN_URL, port: 443 }),
      db_password: PASSWORD,
    });
    expect(await store.getSecrets(['db_password'])).toEqual({ db_password: PASSWORD });
    // The file stays readable and editable by hand: objects are objects.
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({
      crm_source: { url: TOKEN_URL, port: 443 },
      db_password: PASSWORD,
    });
  });

  it('replaces a secret that is set again, and deletes one', async () => {
    await store.set('db_password', 'old-value-123');
    await store.set('db_password', PASSWORD);
    expect(await store.getSecrets(['db_password'])).toEqual({ db_password: PASSWORD });
    expect(await store.delete('db_password')).toBe(true);
    expect(await store.delete('db_password')).toBe(false);
    expect(await store.list()).toEqual([]);
  });

  it('lists names and member names, sorted, never values', async () => {
    await store.set('zeta', PASSWORD);
    await store.set('crm_source', JSON.stringify({ url: TOKEN_URL, 'headers.header.name': 'Authorization' }));
    const listing = await store.list();
    expect(listing).toEqual([
      { name: 'crm_source', members: ['url', 'headers.header.name'] },
      { name: 'zeta', members: ['value'] },
    ]);
    expect(JSON.stringify(listing)).not.toContain('SECRET');
  });

  it('reads nothing, not even the file, for no names', async () => {
    await writeFile(file, 'not json');
    expect(await store.getSecrets([])).toEqual({});
  });

  it('writes the file for its owner only, through a temporary file that never stays', async () => {
    await store.set('db_password', PASSWORD);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await readdir(dir)).sort()).toEqual(['.gitignore', SECRETS_FILE_NAME]);
  });

  it('refuses a missing secret with SECRET_NOT_FOUND naming each missing one and how to set it', async () => {
    await store.set('db_password', PASSWORD);
    const error = await failure(store.getSecrets(['crm_source', 'db_password', 'erp']));
    expect(error.code).toBe('SECRET_NOT_FOUND');
    expect(error.retryable).toBe(false);
    expect(error.message).toContain(`No such secret in ${file}: "crm_source", "erp".`);
    expect(error.message).toContain("sc secrets set crm_source --value '<value or JSON object>'");
    expect(error.message).toContain('sc secrets set erp');
    expect(error.message).toContain('"smartconnector/crm_source", "smartconnector/erp" in Secrets Manager');
    expect(error.message).not.toContain('db_password');
    expect(error.message).not.toContain(PASSWORD);
  });

  it('treats a workspace without a secrets file as holding none', async () => {
    const error = await failure(store.getSecrets(['crm_source']));
    expect(error.code).toBe('SECRET_NOT_FOUND');
    expect(await store.list()).toEqual([]);
    expect(existsSync(file)).toBe(false);
  });

  it.each<[string, string, string]>([
    ['not JSON', `{"db_password": "${PASSWORD}",}`, 'is not valid JSON'],
    ['a JSON list', `["${PASSWORD}"]`, 'is not a JSON object'],
    [
      'a secret that is a number',
      `{"pin": 1234, "db_password": "${PASSWORD}"}`,
      'has secret "pin" that is neither text nor an object of members',
    ],
    [
      'a secret that is a list',
      `{"keys": ["${PASSWORD}"]}`,
      'has secret "keys" that is neither text nor an object of members',
    ],
  ])(
    'refuses a secrets file that is %s with SECRETS_FILE_INVALID, never quoting it',
    async (_, text, problem) => {
      await writeFile(file, text);
      // One call at a time: a rejection must not wait unobserved while another is awaited.
      const attempts = [
        () => store.getSecrets(['db_password']),
        () => store.list(),
        () => store.set('x', 'y'),
      ];
      for (const attempt of attempts) {
        const error = await failure(attempt());
        expect(error.code).toBe('SECRETS_FILE_INVALID');
        expect(error.message).toContain(`The secrets file ${file} ${problem}.`);
        expect(error.message).toContain('sc secrets set');
        expect(error.message).not.toContain(PASSWORD);
      }
    },
  );

  it('refuses a bad value or name when setting, and keeps the file as it was', async () => {
    await store.set('db_password', PASSWORD);
    const before = await readFile(file, 'utf8');
    const cases: Array<[string, string, string]> = [
      ['crm_source', `{"url": "${TOKEN_URL}"`, 'SECRET_INVALID'],
      ['crm_source', `{"auth": {"token": "${TOKEN_URL}"}}`, 'SECRET_INVALID'],
      ['crm_source', '   ', 'SECRET_INVALID'],
      ['crm source', TOKEN_URL, 'SECRET_NAME_INVALID'],
    ];
    for (const [name, value, code] of cases) {
      const error = await failure(store.set(name, value));
      expect(error.code).toBe(code);
      expect(error.message).not.toContain(TOKEN_URL);
      expect(error.message).not.toContain('tok-7f3a9c');
    }
    expect(await readFile(file, 'utf8')).toBe(before);
  });

  it('reports an invalid secret written by hand when it is read, naming it only', async () => {
    await writeFile(file, JSON.stringify({ crm_source: { url: TOKEN_URL, nested: { a: PASSWORD } } }));
    // The store hands the text over; turning it into members (run-sql) is what refuses it.
    const error = await failure(store.list());
    expect(error.code).toBe('SECRET_INVALID');
    expect(error.message).toContain('Secret "crm_source" has member "nested" holding an object');
    expect(error.message).not.toContain(PASSWORD);
  });
});

describe('the .gitignore beside the secrets file', () => {
  const gitignore = () => readFile(join(dir, '.gitignore'), 'utf8');

  it('gets the file added once, when the first secret is set', async () => {
    expect(await store.ensureIgnored()).toBe(false); // no secrets file yet: nothing to ignore
    expect(existsSync(join(dir, '.gitignore'))).toBe(false);
    expect((await store.set('a', 'value-1')).gitignoreUpdated).toBe(true);
    expect((await store.set('b', 'value-2')).gitignoreUpdated).toBe(false);
    expect(await gitignore()).toBe(
      '# Local secret values (sc secrets): never commit them.\n/secrets.local.json\n',
    );
  });

  it('keeps what it held and ends its last line first', async () => {
    await writeFile(join(dir, '.gitignore'), '.sc/\nnode_modules/');
    await store.set('a', 'value-1');
    expect(await gitignore()).toBe(
      '.sc/\nnode_modules/\n# Local secret values (sc secrets): never commit them.\n/secrets.local.json\n',
    );
  });

  it.each(['secrets.local.json', '/secrets.local.json', '  /secrets.local.json  '])(
    'is left alone when a line names the file already (%s)',
    async (line) => {
      await writeFile(join(dir, '.gitignore'), `.sc/\r\n${line}\r\n`);
      await store.set('a', 'value-1');
      expect(await gitignore()).toBe(`.sc/\r\n${line}\r\n`);
    },
  );

  it('gets the line for a secrets file written by hand', async () => {
    await writeFile(file, JSON.stringify({ a: 'value-1' }));
    expect(await store.ensureIgnored()).toBe(true);
    expect(await store.ensureIgnored()).toBe(false);
    expect(await gitignore()).toContain('/secrets.local.json\n');
  });
});
