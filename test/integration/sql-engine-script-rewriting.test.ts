import { describe, expect, it } from 'vitest';
import { createdAt, ExecutionNames } from '../../lambdas/adapters/sql/clickhouse/execution-names.ts';
import { rewriteStatement, type ScriptNames } from '../../lambdas/adapters/sql/clickhouse/script-rewriter.ts';
import { ScriptState } from '../../lambdas/adapters/sql/clickhouse/script-state.ts';
import { SqlError } from '../../lambdas/core/errors.ts';
import { identifierName, stringValue, tokenize } from '../../lambdas/adapters/sql/sql-lexer.ts';
import {
  assertStatementsStayInRun,
  splitStatements,
  statementText,
} from '../../lambdas/adapters/sql/sql-statements.ts';

/*
 * The pure parts of running a script on a shared ClickHouse server, table by table: the lexer, the
 * statement splitter, the guard both engines apply, the per-run names, the rewriting of database and
 * named-collection names, and the SET/USE state carried from one statement to the next.
 */

describe('the lexer', () => {
  it.each([
    ["'it''s'", 'string', "it's"],
    ["'back\\'slash\\\\'", 'string', "back'slash\\"],
    ["'tab\\tnew\\nline\\x41'", 'string', 'tab\tnew\nlineA'],
    ['`odd;name`', 'quoted', 'odd;name'],
    ['"dou""ble"', 'quoted', 'dou"ble'],
    ['`back\\`tick`', 'quoted', 'back`tick'],
  ])('reads %s as one %s token', (text, kind, value) => {
    const tokens = tokenize(text);
    expect(tokens).toEqual([{ kind, text }]);
    expect(kind === 'string' ? stringValue(tokens[0]!) : identifierName(tokens[0]!)).toBe(value);
  });

  it.each([
    ['-- a ; comment\nx', ['comment', 'space', 'word']],
    ['# a ; comment\nx', ['comment', 'space', 'word']],
    ['#!shebang ;\nx', ['comment', 'space', 'word']],
    ['/* a /* nested ; */ still ; */x', ['comment', 'word']],
    ['$$a;b$$x', ['heredoc', 'word']],
    ['$tag$a;$$;b$tag$x', ['heredoc', 'word']],
    ["'unterminated ; string", ['string']],
    ['/* unterminated ; comment', ['comment']],
    ['t.1 + .5', ['word', 'symbol', 'number', 'space', 'symbol', 'space', 'number']],
    ['café_1 = 1e-3', ['word', 'space', 'symbol', 'space', 'number']],
  ])('tokenizes %j', (text, kinds) => {
    const tokens = tokenize(text);
    expect(tokens.map((token) => token.kind)).toEqual(kinds);
    expect(tokens.map((token) => token.text).join('')).toBe(text);
  });
});

describe('splitting a script into statements', () => {
  it('splits only at semicolons outside strings, names, comments and heredocs, dropping empty statements', () => {
    const script = `SELECT 'a;b'; -- c;d
      ;
      CREATE TABLE output.\`x;y\` AS SELECT $$e;f$$ /* g; */;
      /* only a comment; */`;
    const statements = splitStatements(script);
    expect(statements.map((s) => s.number)).toEqual([1, 2]);
    expect(statementText(statements[0]!)).toBe("SELECT 'a;b'");
    expect(statementText(statements[1]!).trim()).toBe('CREATE TABLE output.`x;y` AS SELECT $$e;f$$ /* g; */');
  });
});

describe('statements a script may not run (both engines)', () => {
  const refuse = (sql: string) => () => assertStatementsStayInRun(splitStatements(sql));

  it.each([
    'CREATE DATABASE mine',
    'create database if not exists mine',
    'DROP DATABASE output',
    'RENAME DATABASE input TO other',
    'ATTACH DATABASE x',
    'CREATE OR REPLACE FUNCTION twice AS x -> x * 2',
    'DROP FUNCTION IF EXISTS twice',
    'CREATE NAMED COLLECTION c AS a = 1',
    'ALTER NAMED COLLECTION c SET a = 2',
    'CREATE USER u',
    'CREATE ROW POLICY p ON t USING 1',
    'CREATE SETTINGS PROFILE p',
    'GRANT SELECT ON *.* TO u',
    'REVOKE ALL ON *.* FROM u',
    'SET DEFAULT ROLE r TO u',
    'SYSTEM DROP DNS CACHE',
    'KILL QUERY WHERE 1',
    "BACKUP DATABASE input TO Disk('b', 'x')",
  ])('refuses %s with an SQL_ERROR naming the statement', (sql) => {
    expect(refuse(`SELECT 1;\n${sql}`)).toThrow(SqlError);
    expect(refuse(`SELECT 1;\n${sql}`)).toThrow(
      /^Statement 2 \(.+\) acts on the server, not on this run's tables\./,
    );
  });

  it.each([
    'CREATE TABLE output.x AS SELECT 1',
    'CREATE TEMPORARY TABLE t AS SELECT 1',
    'DROP TABLE IF EXISTS connector.t',
    'ALTER TABLE connector.t ADD COLUMN c String',
    'CREATE DICTIONARY connector.d (k UInt64, v String) PRIMARY KEY k SOURCE(NULL()) LAYOUT(FLAT()) LIFETIME(0)',
    'CREATE VIEW output.v AS SELECT 1',
    'SET join_use_nulls = 1',
    'SELECT * FROM system.databases',
    "SELECT 'CREATE DATABASE x'",
    'RENAME TABLE connector.a TO output.b',
  ])('lets %s run', (sql) => {
    expect(refuse(sql)).not.toThrow();
  });
});

describe('per-run names on a shared server', () => {
  it('names everything <prefix><execution hex>_<start, base 36>_<nonce>_<name> and reads the start back', () => {
    const names = new ExecutionNames(
      'sc_',
      '0F8E6A1B-1C2D-4E5F-8A9B-0C1D2E3F4A5B',
      1_733_000_000_000,
      'c0ffee',
    );
    expect(names.name('input')).toBe(
      `sc_0f8e6a1b1c2d4e5f8a9b0c1d2e3f4a5b_${(1_733_000_000_000).toString(36)}_c0ffee_input`,
    );
    expect(createdAt('sc_', names.name('creds'))).toBe(1_733_000_000_000);
    expect(createdAt('sc_prod_', names.name('creds'))).toBeUndefined();
    expect(createdAt('sc_', 'sc_someone_elses_database')).toBeUndefined();
  });

  it('hashes execution ids that are not UUIDs, and puts script names back in messages', () => {
    const names = new ExecutionNames('sc_', 'exec-1');
    expect(names.stem).toMatch(/^sc_[0-9a-f]{32}_[0-9a-z]+_[0-9a-f]{6}_$/);
    expect(new ExecutionNames('sc_', 'exec-1').stem).not.toBe(names.stem);
    expect(names.restore(`Unknown table ${names.name('input')}.x in \`${names.name('output')}\``)).toBe(
      'Unknown table input.x in `output`',
    );
  });
});

describe('rewriting a statement for one run', () => {
  const names: ScriptNames = {
    database: (name) => `db_${name}`,
    collection: (name) => `nc_${name}`,
    secrets: new Set(['warehouse', 'crm']),
  };
  const rewrite = (sql: string) => rewriteStatement(splitStatements(sql)[0]!, names);

  it.each([
    ['SELECT * FROM input.vendors_csv', 'SELECT * FROM `db_input`.vendors_csv'],
    [
      'CREATE TABLE output.x AS SELECT * FROM meta.parameters',
      'CREATE TABLE `db_output`.x AS SELECT * FROM `db_meta`.parameters',
    ],
    [
      'SELECT * FROM `records`.`vendor` JOIN "connector" . t USING id',
      'SELECT * FROM `db_records`.`vendor` JOIN `db_connector` . t USING id',
    ],
    [
      'SELECT input.vendors_csv.name FROM input.vendors_csv',
      'SELECT `db_input`.vendors_csv.name FROM `db_input`.vendors_csv',
    ],
    ['USE output', 'USE `db_output`'],
    ["SELECT * FROM url(crm, format = 'CSV')", "SELECT * FROM url(`nc_crm`, format = 'CSV')"],
    ['SELECT * FROM postgresql(`warehouse`)', 'SELECT * FROM postgresql(`nc_warehouse`)'],
    [
      "CREATE TABLE connector.pg ENGINE = PostgreSQL(warehouse, table = 't')",
      "CREATE TABLE `db_connector`.pg ENGINE = PostgreSQL(`nc_warehouse`, table = 't')",
    ],
    ['CREATE TEMPORARY TABLE t AS SELECT 1', 'CREATE  TABLE t AS SELECT 1'],
    ['create or replace temporary table t (x UInt8)', 'create or replace  table t (x UInt8)'],
    ['DROP TEMPORARY TABLE IF EXISTS t', 'DROP  TABLE IF EXISTS t'],
  ])('rewrites %s', (sql, expected) => {
    expect(rewrite(sql)).toBe(expected);
  });

  it.each([
    ["SELECT name FROM system.tables WHERE database = 'output'", 'a database name in a string'],
    ['SELECT * FROM INPUT.vendors', 'another case (ClickHouse names are case-sensitive)'],
    ['SELECT t.input.x FROM t', 'a name after a dot'],
    ['SELECT input FROM t', 'a column named like a database'],
    ['SELECT lower(warehouse) FROM t', "a secret's name outside a table function"],
    ["SELECT * FROM url(crm || 'x')", "a secret's name that is not the whole first argument"],
    ['SELECT * FROM url(other)', 'a name that is no secret'],
    ['-- input.x\nSELECT $$input.x$$', 'comments and heredocs'],
    ['SELECT 1 AS temporary', 'TEMPORARY outside CREATE/DROP'],
  ])('leaves %s alone (%s)', (sql) => {
    expect(rewrite(sql)).toBe(sql);
  });
});

describe('what a script carries from one statement to the next', () => {
  const run = (script: string) => {
    const state = new ScriptState();
    for (const statement of splitStatements(script)) state.after(statement);
    return state;
  };

  it('collects SET statements, strings unquoted and DEFAULT forgetting a setting', () => {
    const state = run(`
      SET join_use_nulls = 1, max_block_size = 1000;
      SET session_timezone = 'Europe/Paris', additional_table_filters = {'t': 'x > 1'};
      SET max_block_size = DEFAULT;
      SET ROLE some_role;
      SELECT 1;
    `);
    expect(state.settings).toEqual({
      join_use_nulls: '1',
      session_timezone: 'Europe/Paris',
      additional_table_filters: "{'t': 'x > 1'}",
    });
  });

  it('follows USE, into a script database or any other', () => {
    expect(run('SELECT 1').inScriptDatabase).toBe('connector');
    expect(run('USE output').inScriptDatabase).toBe('output');
    const elsewhere = run('USE `input`; USE system');
    expect(elsewhere.database).toBe('system');
    expect(elsewhere.inScriptDatabase).toBeUndefined();
  });
});
