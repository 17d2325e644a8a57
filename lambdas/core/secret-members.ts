import { ScError } from './errors.ts';

/*
 * How a secret's value becomes the members of the ClickHouse named collection SQL reads it by
 * (SPEC §4): `url(crm_source, format = 'CSV')`, `postgresql(warehouse, table = 't')`.
 *
 * A value that is a JSON object gives one member per key, e.g. `{"url": "https://…",
 * "headers.header.name": "Authorization", "headers.header.value": "Bearer …"}` or `{"host": …,
 * "port": 5432, "user": …, "password": …}`: the shape of a Secrets Manager key/value secret. Any other
 * value (a token, a password) is the single member `value`, verbatim.
 *
 * Errors name the secret and the member, never a value: JSON.parse's own message is not used because it
 * quotes the text it failed on.
 */

/** A named collection's members: key → value. */
export type SecretMembers = Record<string, string>;

/** The member a secret whose value is not a JSON object becomes. */
export const SINGLE_VALUE_MEMBER = 'value';

/** The secret id prefix in Secrets Manager: the secret `crm_source` is `smartconnector/crm_source`. */
export const SECRETS_MANAGER_PREFIX = 'smartconnector/';

/**
 * Characters Secrets Manager allows in a secret name. Names set locally are held to it, so a workspace
 * that runs locally runs in AWS with the same names.
 */
const SECRET_NAME = /^[A-Za-z0-9_+=.@/-]+$/;

/** Secrets Manager's limit on a name (512), less the prefix. */
export const MAX_SECRET_NAME_CHARS = 512 - SECRETS_MANAGER_PREFIX.length;

/** Throws `SECRET_NAME_INVALID` unless `name` is one Secrets Manager accepts under the prefix. */
export function assertSecretName(name: string): void {
  // `__proto__` would set the secrets file's prototype instead of a key.
  if (!SECRET_NAME.test(name) || name.length > MAX_SECRET_NAME_CHARS || name === '__proto__') {
    throw new ScError(
      'SECRET_NAME_INVALID',
      `"${name}" is not a valid secret name: use 1 to ${MAX_SECRET_NAME_CHARS} letters, digits and _ + = . @ / - ` +
        `(the secret is "${SECRETS_MANAGER_PREFIX}<name>" in Secrets Manager), e.g. crm_source.`,
    );
  }
}

/**
 * The members of secret `name` from its stored value. A value whose text starts with `{` must be a
 * JSON object of string, number or boolean members (numbers and booleans become text); anything else
 * is the member `value`. Throws `SECRET_INVALID` naming the secret (and member), never the value.
 */
export function secretMembers(name: string, value: string): SecretMembers {
  if (!value.trimStart().startsWith('{')) return { [SINGLE_VALUE_MEMBER]: value };
  const invalid = (problem: string) =>
    new ScError(
      'SECRET_INVALID',
      `Secret "${name}" ${problem}. A secret that starts with "{" is a JSON object whose members become ` +
        'the named collection\'s keys, e.g. {"url": "https://…"} or {"host": "…", "user": "…", "password": "…"}.',
    );
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw invalid('is not valid JSON');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw invalid('is not a JSON object');
  }
  const entries = Object.entries(parsed);
  if (entries.length === 0) throw invalid('has no members');
  const members: SecretMembers = {};
  for (const [key, member] of entries) {
    if (key.trim() === '') throw invalid('has a member with an empty name');
    if (typeof member === 'string') members[key] = member;
    else if (typeof member === 'boolean' || (typeof member === 'number' && Number.isFinite(member))) {
      members[key] = String(member);
    } else {
      const kind = member === null ? 'null' : Array.isArray(member) ? 'a list' : 'an object';
      throw invalid(`has member "${key}" holding ${kind}; members must be strings, numbers or booleans`);
    }
  }
  return members;
}

/** The named collections of a job's secrets: each secret's members, by secret name. */
export function secretCollections(values: Record<string, string>): Record<string, SecretMembers> {
  return Object.fromEntries(
    Object.entries(values).map(([name, value]) => [name, secretMembers(name, value)]),
  );
}
