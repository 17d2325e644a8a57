import { describe, expect, it } from 'vitest';
import { ScError } from '../../lambdas/core/errors.ts';
import {
  MAX_SECRET_NAME_CHARS,
  assertSecretName,
  secretCollections,
  secretMembers,
  type SecretMembers,
} from '../../lambdas/core/secret-members.ts';

/** The error a call throws; fails the test when it throws none or not an ScError. */
function thrown(call: () => unknown): ScError {
  try {
    call();
  } catch (error) {
    expect(error).toBeInstanceOf(ScError);
    return error as ScError;
  }
  throw new Error('expected an error');
}

describe('secretMembers: a secret value becomes named collection members', () => {
  it.each<[string, string, SecretMembers]>([
    [
      'a JSON object: one member per key',
      '{"url":"https://api.example.com/export.csv?token=t0k3n","headers.header.name":"Authorization"}',
      { url: 'https://api.example.com/export.csv?token=t0k3n', 'headers.header.name': 'Authorization' },
    ],
    [
      'numbers and booleans become text',
      '{"host":"db.internal","port":5432,"ssl":true,"ratio":0.5}',
      { host: 'db.internal', port: '5432', ssl: 'true', ratio: '0.5' },
    ],
    ['an object after white space', '\n  {"password":"pw"}\n', { password: 'pw' }],
    ['plain text: the member value', 's3cr3t-token', { value: 's3cr3t-token' }],
    ['text is kept verbatim, spaces included', '  padded  ', { value: '  padded  ' }],
    ['a JSON string is text, quotes included', '"quoted"', { value: '"quoted"' }],
    ['a JSON array is text', '["a","b"]', { value: '["a","b"]' }],
    ['a number is text', '12345', { value: '12345' }],
  ])('%s', (_, value, members) => {
    expect(secretMembers('crm_source', value)).toEqual(members);
  });

  it.each<[string, string, string]>([
    ['text starting with { that is not JSON', '{"url": "https://x?token=LEAKME1"', 'is not valid JSON'],
    ['an object with no members', '{}', 'has no members'],
    ['a member holding an object', '{"auth":{"token":"LEAKME1"}}', 'has member "auth" holding an object'],
    ['a member holding a list', '{"hosts":["LEAKME1"]}', 'has member "hosts" holding a list'],
    ['a member holding null', '{"password":null,"user":"LEAKME1"}', 'has member "password" holding null'],
    ['a member with an empty name', '{"":"LEAKME1"}', 'has a member with an empty name'],
  ])('refuses %s with SECRET_INVALID, naming the secret but never the value', (_, value, problem) => {
    const error = thrown(() => secretMembers('crm_source', value));
    expect(error.code).toBe('SECRET_INVALID');
    expect(error.message).toContain(`Secret "crm_source" ${problem}`);
    // What a valid value looks like, so the message says what to do.
    expect(error.message).toContain('{"url": "https://…"}');
    expect(error.message).not.toContain('LEAKME1');
  });
});

describe('secretCollections', () => {
  it('gives each secret its members, by name', () => {
    expect(secretCollections({ crm: '{"url":"https://x"}', token: 'abc' })).toEqual({
      crm: { url: 'https://x' },
      token: { value: 'abc' },
    });
    expect(secretCollections({})).toEqual({});
  });

  it('fails on the first invalid secret, naming it', () => {
    const error = thrown(() => secretCollections({ good: 'x', bad: '{nope' }));
    expect(error.message).toContain('Secret "bad" is not valid JSON');
  });
});

describe('assertSecretName: names Secrets Manager accepts under smartconnector/', () => {
  it.each(['crm_source', 'CRM-2', 'team/crm.source', 'a+b=c@d', 'x'.repeat(MAX_SECRET_NAME_CHARS)])(
    'accepts %s',
    (name) => {
      expect(() => assertSecretName(name)).not.toThrow();
    },
  );

  it.each([
    ['empty', ''],
    ['a space', 'crm source'],
    ['a quote', 'crm"source'],
    ['a backtick', 'crm`x'],
    ['non-ASCII', 'crm_é'],
    ['too long', 'x'.repeat(MAX_SECRET_NAME_CHARS + 1)],
  ])('refuses a name with %s: SECRET_NAME_INVALID saying what is allowed', (_, name) => {
    const error = thrown(() => assertSecretName(name));
    expect(error.code).toBe('SECRET_NAME_INVALID');
    expect(error.message).toContain('letters, digits and _ + = . @ / -');
    expect(error.message).toContain('smartconnector/<name>');
  });
});
