import { randomBytes } from 'node:crypto';
import type { SqlLimits } from '../../../ports/sql-engine.ts';
import { quoteIdentifier, quoteString } from '../clickhouse-sql.ts';
import { limitSettings } from '../sql-job.ts';

/**
 * What a run's script may do on a shared ClickHouse server, as ClickHouse's own access control
 * enforces it (docs/clickhouse-cloud.md, "Isolation"). Names alone keep runs apart only from scripts
 * that mean no harm: a script can list `system.databases`, read another run's tables with
 * `merge(REGEXP(…))`, use another run's named collection, or lift its limits with a query-level
 * `SETTINGS` clause. So each run's script runs as a user of its own, made for the run and dropped
 * with it, that holds:
 *
 * - table privileges on the run's databases only (not `CREATE DATABASE`, not `DROP DATABASE`);
 * - `NAMED COLLECTION` on the run's collections only;
 * - the sources the spec lets a script reach through a collection (`url()`, `s3()`, `postgresql()`,
 *   `mysql()`), and not `file()` or `remote()`, which would read the server's disk or log in elsewhere.
 *   These grants name no address: a script may call `url()` on any address the server reaches, with
 *   or without a collection (what a collection guards is its secret, not the address);
 * - the table engines a script creates its tables with (where the server checks them, see below);
 * - the run's limits as settings with a maximum, so neither `SET` nor `SETTINGS` can raise them.
 *
 * With no grant on `system.*` tables beyond what ClickHouse always allows, `system.databases`,
 * `system.tables` and `system.named_collections` list only what the run may use. The script's user
 * also reads the scopes back (counts, columns, exports): a view or a `Merge` table resolves what it
 * reads as the user reading it, so a scope read by a more powerful user could show other runs' rows.
 * The platform's own user does the rest: creating and dropping the databases and loading inputs.
 */

/** Table privileges a script has in each of its run's databases. */
export const RUN_TABLE_PRIVILEGES = [
  'SELECT',
  'INSERT',
  'ALTER TABLE',
  'ALTER VIEW',
  'CREATE TABLE',
  'CREATE VIEW',
  'DROP TABLE',
  'DROP VIEW',
  'TRUNCATE',
  'OPTIMIZE',
  'SHOW TABLES',
  'SHOW COLUMNS',
] as const;

/**
 * Table engines a script may create tables with: the in-memory and MergeTree families. A server checks
 * these grants only when its configuration sets `access_control_improvements.table_engines_require_grant`
 * (off by default); without it a script may create a table of any engine its other grants allow: not
 * `File` or `Distributed` (no `FILE`, no `REMOTE`), but `URL`, `S3` and `Merge` (docs/clickhouse-cloud.md,
 * "Isolation"). `GRANT TABLE ENGINE` itself needs ClickHouse 24.5 or later.
 */
export const RUN_TABLE_ENGINES = [
  'Memory',
  'MergeTree',
  'ReplacingMergeTree',
  'SummingMergeTree',
  'AggregatingMergeTree',
  'CollapsingMergeTree',
  'VersionedCollapsingMergeTree',
  'Log',
  'TinyLog',
  'StripeLog',
  'Set',
  'Join',
  'Null',
] as const;

/** The table functions a script may use with a secret's named collection (SPEC §4). */
export const RUN_SOURCES = ['URL', 'S3', 'POSTGRES', 'MYSQL'] as const;

/**
 * A setting of the run user with the least and the most a script may set it to. The least matters as
 * much as the most: for both limits 0 means "none", which a maximum alone lets through.
 */
export interface RunUserSetting {
  name: string;
  value: number;
  min: number;
  max: number;
}

/**
 * What a random password gets appended so that it has a capital, a small letter, a digit and a sign, as
 * ClickHouse Cloud's password policy asks of every password; the randomness is in what comes before.
 */
const PASSWORD_CLASSES = 'Aa1!';

/** A run's user: its name, its password (kept in memory only), and what it may do. */
export interface RunUser {
  name: string;
  password: string;
  /** `GRANT … ON …` without `TO`: the form both the SQL statement and a `users.xml` take. */
  grants: string[];
  settings: RunUserSetting[];
}

/**
 * The user for one run: `name` (made by `ExecutionNames`, so leftovers are found by prefix and age),
 * a random password, and grants on exactly `databases` and `collections`. The grants on the databases
 * come last: a replica that shows the user all of its databases has every grant (see
 * `ClickHouseJobSession`, which waits for that before the script's first statement).
 */
export function runUser(
  name: string,
  databases: readonly string[],
  collections: readonly string[],
  limits: SqlLimits,
  password = `${randomBytes(24).toString('base64url')}${PASSWORD_CLASSES}`,
): RunUser {
  const grants = [
    `GRANT ${RUN_SOURCES.join(', ')} ON *.*`,
    // Table functions need it on some server versions; a temporary table lives in the request only.
    'GRANT CREATE TEMPORARY TABLE ON *.*',
    ...RUN_TABLE_ENGINES.map((engine) => `GRANT TABLE ENGINE ON ${engine}`),
    ...collections.map((collection) => `GRANT NAMED COLLECTION ON ${quoteIdentifier(collection)}`),
    ...databases.map(
      (database) => `GRANT ${RUN_TABLE_PRIVILEGES.join(', ')} ON ${quoteIdentifier(database)}.*`,
    ),
  ];
  const settings = Object.entries(limitSettings(limits)).map(([setting, value]) => ({
    name: setting,
    value: Number(value),
    min: 1,
    max: Number(value),
  }));
  return { name, password, grants, settings };
}

/** The statements that create the user and give it its grants, in order. They hold the password. */
export function createRunUserStatements(user: RunUser): string[] {
  const settings = user.settings
    .map((setting) => `${setting.name} = ${setting.value} MIN ${setting.min} MAX ${setting.max}`)
    .join(', ');
  const name = quoteIdentifier(user.name);
  return [
    `CREATE USER ${name} IDENTIFIED WITH sha256_password BY ${quoteString(user.password)} ` +
      `HOST ANY SETTINGS ${settings}`,
    ...user.grants.map((grant) => `${grant} TO ${name}`),
  ];
}

export function dropRunUserStatement(name: string): string {
  return `DROP USER IF EXISTS ${quoteIdentifier(name)}`;
}
