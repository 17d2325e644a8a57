import { describe, expect, it } from 'vitest';
import {
  createRunUserStatements,
  dropRunUserStatement,
  runUser,
} from '../../lambdas/adapters/sql/clickhouse/run-user.ts';
import { DEFAULT_SQL_LIMITS } from '../../lambdas/ports/sql-engine.ts';

describe("a run's ClickHouse user", () => {
  const user = runUser(
    'sc_ab_x_c0ffee_user',
    ['sc_ab_x_c0ffee_input', 'sc_ab_x_c0ffee_output'],
    ['sc_ab_x_c0ffee_api'],
    { ...DEFAULT_SQL_LIMITS, maxExecutionSeconds: 12.5, maxMemoryBytes: 1e9 },
    "it's \\ secret",
  );

  it("is granted the run's databases and collections by name, and nothing of the server's", () => {
    const onNames = user.grants.filter((grant) => grant.includes('sc_'));
    // The databases last: a replica that shows the user all of them has every grant.
    expect(onNames).toEqual([
      'GRANT NAMED COLLECTION ON `sc_ab_x_c0ffee_api`',
      expect.stringMatching(/^GRANT SELECT, INSERT, .* ON `sc_ab_x_c0ffee_input`\.\*$/),
      expect.stringMatching(/^GRANT SELECT, INSERT, .* ON `sc_ab_x_c0ffee_output`\.\*$/),
    ]);
    expect(user.grants.slice(-2)).toEqual(onNames.slice(-2));
    const all = user.grants.join('\n');
    for (const power of [
      'CREATE DATABASE',
      'DROP DATABASE',
      'ACCESS MANAGEMENT',
      'FILE',
      'REMOTE',
      'SYSTEM',
      'KILL',
    ])
      expect(all).not.toContain(power);
  });

  it('keeps both limits between 1 and the run limit, so 0 ("none") cannot lift them', () => {
    expect(user.settings).toEqual([
      { name: 'max_execution_time', value: 13, min: 1, max: 13 },
      { name: 'max_memory_usage', value: 1e9, min: 1, max: 1e9 },
    ]);
  });

  it('creates the user with its password quoted, then grants, and drops it by name', () => {
    const [create, ...grants] = createRunUserStatements(user);
    expect(create).toBe(
      "CREATE USER `sc_ab_x_c0ffee_user` IDENTIFIED WITH sha256_password BY 'it\\'s \\\\ secret' HOST ANY " +
        'SETTINGS max_execution_time = 13 MIN 1 MAX 13, max_memory_usage = 1000000000 MIN 1 MAX 1000000000',
    );
    expect(grants).toEqual(user.grants.map((grant) => `${grant} TO \`sc_ab_x_c0ffee_user\``));
    expect(dropRunUserStatement(user.name)).toBe('DROP USER IF EXISTS `sc_ab_x_c0ffee_user`');
  });

  it('gets a fresh random password each run', () => {
    const a = runUser('u', [], [], DEFAULT_SQL_LIMITS);
    const b = runUser('u', [], [], DEFAULT_SQL_LIMITS);
    // 32 random characters, then one of each class ClickHouse Cloud's password policy asks for.
    expect(a.password).toMatch(/^[A-Za-z0-9_-]{32}Aa1!$/);
    expect(a.password).not.toBe(b.password);
  });
});
