import { existsSync } from 'node:fs';
import { appendFile, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ScError } from '../../core/errors.ts';
import {
  SECRETS_MANAGER_PREFIX,
  assertSecretName,
  secretMembers,
  type SecretMembers,
} from '../../core/secret-members.ts';
import type { SecretStore } from '../../ports/secret-store.ts';

/** The secrets file of a workspace, beside `objects/`; git-ignored (see `ensureIgnored`). */
export const SECRETS_FILE_NAME = 'secrets.local.json';

/** One secret as `list` shows it: its name and its members' names, never a value. */
export interface SecretListing {
  name: string;
  members: string[];
}

/**
 * The local stand-in for Secrets Manager: secrets in one JSON file in the workspace,
 * `{ "<name>": "<text>" | { "<member>": "<text>", … } }`. An object is kept as an object, so the file
 * stays readable and editable by hand; it reads back as its JSON text, as a Secrets Manager key/value
 * secret does.
 *
 * The file is read on every call, so `sc secrets set` (which needs no runtime) takes effect at the next
 * run of an `sc serve` that is already running. It is written to a temporary name and renamed, readable
 * by its owner only. Errors name secrets and the file, never a value.
 */
export class FileSecretStore implements SecretStore {
  constructor(readonly path: string) {}

  async getSecrets(names: readonly string[]): Promise<Record<string, string>> {
    if (names.length === 0) return {};
    const file = await this.read();
    const unique = [...new Set(names)];
    const missing = unique.filter((name) => !Object.hasOwn(file, name));
    if (missing.length > 0) {
      const quoted = missing.map((name) => `"${name}"`).join(', ');
      const commands = missing.map((name) => `sc secrets set ${name} --value '<value or JSON object>'`);
      const ids = missing.map((name) => `"${SECRETS_MANAGER_PREFIX}${name}"`).join(', ');
      throw new ScError(
        'SECRET_NOT_FOUND',
        `No such secret in ${this.path}: ${quoted}. Set ${missing.length === 1 ? 'it' : 'each'} with ` +
          `${commands.join(' and ')} (or --from-file <file>), or fix the name the connector uses. In AWS the ` +
          `same secret is ${ids} in Secrets Manager.`,
      );
    }
    return Object.fromEntries(unique.map((name) => [name, valueText(file[name]!)]));
  }

  /** Every secret in the file with its members' names, sorted by name; none when there is no file. */
  async list(): Promise<SecretListing[]> {
    const file = await this.read();
    return Object.keys(file)
      .sort()
      .map((name) => ({ name, members: Object.keys(secretMembers(name, valueText(file[name]!))) }));
  }

  /**
   * Sets (or replaces) a secret after checking its name and its members, and makes sure the file is
   * git-ignored. Returns the members' names and whether the `.gitignore` line was added now.
   */
  async set(name: string, value: string): Promise<{ members: string[]; gitignoreUpdated: boolean }> {
    assertSecretName(name);
    if (value.trim() === '') {
      throw new ScError(
        'SECRET_INVALID',
        `Secret "${name}" is empty; give it a value or a JSON object of members.`,
      );
    }
    const members = secretMembers(name, value);
    const file = await this.read();
    // An object stays an object in the file; any other value is kept verbatim as text.
    file[name] = value.trimStart().startsWith('{') ? (JSON.parse(value) as SecretMembers) : value;
    await this.write(file);
    return { members: Object.keys(members), gitignoreUpdated: await this.ensureIgnored() };
  }

  /** Removes a secret; false when there was none of that name. */
  async delete(name: string): Promise<boolean> {
    const file = await this.read();
    if (!Object.hasOwn(file, name)) return false;
    delete file[name];
    await this.write(file);
    return true;
  }

  /**
   * Adds the file to the `.gitignore` beside it unless a line there names it already, so secret values
   * are never committed with the workspace. Does nothing while there is no secrets file. Returns
   * whether it added the line.
   */
  async ensureIgnored(): Promise<boolean> {
    if (!existsSync(this.path)) return false;
    const name = basename(this.path);
    const gitignore = join(dirname(this.path), '.gitignore');
    const text = existsSync(gitignore) ? await readFile(gitignore, 'utf8') : '';
    const lines = text.split(/\r?\n/).map((line) => line.trim());
    if (lines.includes(name) || lines.includes(`/${name}`)) return false;
    const separator = text === '' || text.endsWith('\n') ? '' : '\n';
    await appendFile(
      gitignore,
      `${separator}# Local secret values (sc secrets): never commit them.\n/${name}\n`,
    );
    return true;
  }

  private async read(): Promise<Record<string, StoredSecret>> {
    if (!existsSync(this.path)) return {};
    const invalid = (problem: string) =>
      new ScError(
        'SECRETS_FILE_INVALID',
        `The secrets file ${this.path} ${problem}. It holds one JSON object: { "<name>": "<value>" or ` +
          '{ "<member>": "<value>", … } }. Fix it by hand, or delete it and set the secrets again with sc secrets set.',
      );
    let parsed: unknown;
    try {
      parsed = JSON.parse(await readFile(this.path, 'utf8'));
    } catch {
      // Not JSON.parse's message: it quotes the text around the mistake, which may be a secret.
      throw invalid('is not valid JSON');
    }
    if (!isPlainObject(parsed)) throw invalid('is not a JSON object');
    for (const [name, value] of Object.entries(parsed)) {
      if (typeof value !== 'string' && !isPlainObject(value)) {
        throw invalid(`has secret "${name}" that is neither text nor an object of members`);
      }
    }
    return parsed as Record<string, StoredSecret>;
  }

  private async write(file: Record<string, StoredSecret>): Promise<void> {
    const temporary = `${this.path}.${process.pid}.tmp`;
    try {
      await writeFile(temporary, JSON.stringify(file, null, 2) + '\n', { mode: 0o600 });
      await rename(temporary, this.path);
    } finally {
      await rm(temporary, { force: true });
    }
  }
}

/** A secret as the file holds it: text, or an object of members. */
type StoredSecret = string | Record<string, unknown>;

/** The text a stored secret reads back as: itself, or an object's JSON. */
function valueText(value: StoredSecret): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
