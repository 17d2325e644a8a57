import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExecutionNames } from '../../lambdas/adapters/sql/clickhouse/execution-names.ts';
import {
  createRunUserStatements,
  dropRunUserStatement,
  runUser,
  type RunUser,
} from '../../lambdas/adapters/sql/clickhouse/run-user.ts';
import { quoteString as quote } from '../../lambdas/adapters/sql/clickhouse-sql.ts';
import { SCRIPT_DATABASES } from '../../lambdas/adapters/sql/sql-job.ts';
import type { SqlLimits } from '../../lambdas/ports/sql-engine.ts';
import type { ChildRequest, ChildResult, ChildStatement } from '../helpers/chdb-child.ts';

/*
 * The run user's grants and limits, enforced by ClickHouse's own access control (the chDB build of
 * ClickHouse 26.7): no ClickHouse server can be installed here, and chDB runs every query as its one
 * user, so this test gives that user exactly the grants and setting limits `runUser` makes for a run
 * (in a users.xml, the form ClickHouse reads them from a file) and runs a hostile script as it against
 * data that two runs' databases and named collections hold. The ClickHouse engine's tests check that
 * a run's script really runs as that user (clickhouse-sql-engine tests against the HTTP stand-in).
 */

const ACCESS_DENIED = 497;
const SETTING_CONSTRAINT_VIOLATION = 452;

const LIMITS: SqlLimits = { maxExecutionSeconds: 30, maxMemoryBytes: 2_000_000_000, maxRowsPerScope: 1000 };

const runA = new ExecutionNames('sc_', '0f8e2a4c-0000-4000-8000-00000000000a');
const runB = new ExecutionNames('sc_', '0f8e2a4c-0000-4000-8000-00000000000b');
const a = (name: string) => runA.name(name);
const b = (name: string) => runB.name(name);

let dir: string;

/** Runs `statements` in chDB on the test's data, in a process of its own, under `configFile`. */
async function inChdb(statements: ChildStatement[], configFile?: string): Promise<ChildResult[]> {
  const script = fileURLToPath(new URL('../helpers/chdb-child.ts', import.meta.url));
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  const child = spawn(process.execPath, ['--import', tsx, script], {
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const request: ChildRequest = {
    dataDir: join(dir, 'data'),
    statements,
    ...(configFile === undefined ? {} : { configFile }),
  };
  const answer = await new Promise<{ results?: ChildResult[]; error?: string }>((done, fail) => {
    child.once('message', done);
    child.once('error', fail);
    child.once('exit', (code) => fail(new Error(`the chDB child exited with code ${code}`)));
    child.send(request);
  });
  child.removeAllListeners('exit');
  if (answer.results === undefined) throw new Error(answer.error ?? 'no results');
  return answer.results;
}

function xml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** A ClickHouse configuration whose only user, `default`, is `user`: its grants and its setting limits. */
function configAs(user: RunUser, path: string): string {
  const settings = user.settings.map((s) => `<${s.name}>${s.value}</${s.name}>`).join('');
  const constraints = user.settings
    .map((s) => `<${s.name}><min>${s.min}</min><max>${s.max}</max></${s.name}>`)
    .join('');
  const grants = user.grants.map((grant) => `<query>${xml(grant)}</query>`).join('');
  return (
    `<clickhouse><users_config>${xml(path)}</users_config>` +
    `<profiles><default/><run>${settings}<constraints>${constraints}</constraints></run></profiles>` +
    '<users><default><password></password><networks><ip>::/0</ip></networks><profile>run</profile>' +
    `<quota>default</quota><grants>${grants}</grants></default></users>` +
    '<quotas><default/></quotas></clickhouse>'
  );
}

let configFile: string;
let user: RunUser;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sc-run-user-'));
  // Two runs, as the platform's user prepares them: databases, an input table, a named collection.
  const prepare = [runA, runB].flatMap((run) => [
    ...SCRIPT_DATABASES.map((name) => `CREATE DATABASE \`${run.name(name)}\``),
    `CREATE TABLE \`${run.name('input')}\`.vendors (name String) ENGINE = MergeTree ORDER BY tuple()`,
    `INSERT INTO \`${run.name('input')}\`.vendors VALUES ('vendor of ${run === runA ? 'A' : 'B'}')`,
    `CREATE NAMED COLLECTION \`${run.name('api')}\` AS url = 'http://127.0.0.1:1/${run === runA ? 'a' : 'b'}', format = 'CSV'`,
  ]);
  const prepared = await inChdb(prepare.map((sql) => ({ sql })));
  expect(prepared.filter((result) => !result.ok)).toEqual([]);
  configFile = join(dir, 'run-a.xml');
  user = runUser(
    a('user'),
    SCRIPT_DATABASES.map((name) => a(name)),
    [a('api')],
    LIMITS,
  );
  await writeFile(configFile, configAs(user, configFile));
}, 60_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("a run's user on a shared server", () => {
  /** Runs `sql` as run A's script does: as A's user, in A's database `connector`. */
  async function asRunA(...sql: string[]): Promise<ChildResult[]> {
    return inChdb(
      sql.map((text) => ({ sql: text, database: a('connector') })),
      configFile,
    );
  }

  it('is made by statements ClickHouse parses', { timeout: 60_000 }, async () => {
    const statements = [...createRunUserStatements(user), dropRunUserStatement(user.name)];
    const formatted = await inChdb(statements.map((sql) => ({ sql: `SELECT formatQuery(${quote(sql)})` })));
    expect(formatted.map((result) => result.ok)).toEqual(statements.map(() => true));
    expect(formatted[0]).toMatchObject({
      text: expect.stringMatching(/^CREATE USER .* SETTINGS .* MIN .* MAX /),
    });
    expect(user.password).toMatch(/[A-Z]/);
    expect(user.password).toMatch(/[a-z]/);
    expect(user.password).toMatch(/[0-9]/);
    expect(user.password).toMatch(/[^A-Za-z0-9]/);
  });

  it(
    'cannot reach another run: tables, databases, collections, merge(), DDL outside its databases',
    { timeout: 60_000 },
    async () => {
      const [other, insert, list, merged, collection, collections, createDb, dropDb] = await asRunA(
        `SELECT * FROM \`${b('input')}\`.vendors`,
        `INSERT INTO \`${b('input')}\`.vendors VALUES ('x')`,
        "SELECT name FROM system.databases WHERE startsWith(name, 'sc_') ORDER BY name",
        "SELECT name FROM merge(REGEXP('^sc_'), '^vendors$')",
        `SELECT * FROM url(\`${b('api')}\`)`,
        "SELECT name FROM system.named_collections WHERE startsWith(name, 'sc_')",
        'CREATE DATABASE sc_mine',
        `DROP DATABASE \`${b('input')}\``,
      );
      expect(other).toMatchObject({ ok: false, code: ACCESS_DENIED });
      expect(insert).toMatchObject({ ok: false, code: ACCESS_DENIED });
      // Listing shows its own databases only, and merge() reads its own tables only.
      expect(list).toEqual({
        ok: true,
        text: SCRIPT_DATABASES.map((name) => a(name))
          .sort()
          .join('\n'),
      });
      expect(merged).toEqual({ ok: true, text: 'vendor of A' });
      expect(collection).toMatchObject({ ok: false, code: ACCESS_DENIED });
      expect(collections).toMatchObject({ ok: true });
      expect(JSON.stringify(collections)).not.toContain(b('api'));
      expect(createDb).toMatchObject({ ok: false, code: ACCESS_DENIED });
      expect(dropDb).toMatchObject({ ok: false, code: ACCESS_DENIED });
    },
  );

  it(
    "cannot lift its limits with SET or a query's SETTINGS clause; lowering them is fine",
    { timeout: 60_000 },
    async () => {
      const [setMemory, clauseTime, clauseMemory, lower] = await asRunA(
        `SET max_memory_usage = ${LIMITS.maxMemoryBytes + 1}`,
        `SELECT 1 SETTINGS max_execution_time = ${LIMITS.maxExecutionSeconds * 10}`,
        'SELECT 1 SETTINGS max_memory_usage = 0',
        'SELECT 1 SETTINGS max_memory_usage = 1000000000',
      );
      expect(setMemory).toMatchObject({ ok: false, code: SETTING_CONSTRAINT_VIOLATION });
      expect(clauseTime).toMatchObject({ ok: false, code: SETTING_CONSTRAINT_VIOLATION });
      // 0 means "no limit", which is above any maximum.
      expect(clauseMemory).toMatchObject({ ok: false, code: SETTING_CONSTRAINT_VIOLATION });
      expect(lower).toEqual({ ok: true, text: '1' });
    },
  );

  it(
    "cannot read the server's files, log in elsewhere, manage users or create File tables",
    { timeout: 60_000 },
    async () => {
      const results = await asRunA(
        "SELECT * FROM file('/etc/hostname', 'LineAsString')",
        "SELECT * FROM remote('127.0.0.1', system.one)",
        'SELECT count() FROM system.users',
        "CREATE USER sc_intruder IDENTIFIED WITH sha256_password BY 'x'",
        `CREATE TABLE \`${a('output')}\`.leak ENGINE = File(CSV) AS SELECT 1 AS x`,
      );
      expect(results.map((result) => (result.ok ? 'allowed' : result.code))).toEqual(
        results.map(() => ACCESS_DENIED),
      );
    },
  );

  it(
    'reads only its own tables through a Merge table or a view over merge() in its scopes',
    { timeout: 60_000 },
    async () => {
      const [, merged, , viewed] = await asRunA(
        `CREATE TABLE \`${a('connector')}\`.everything (name String) ENGINE = Merge(REGEXP('^sc_'), '^vendors$')`,
        `SELECT name FROM \`${a('connector')}\`.everything`,
        `CREATE VIEW \`${a('output')}\`.leak AS SELECT name FROM merge(REGEXP('^sc_'), '^vendors$')`,
        `SELECT name FROM \`${a('output')}\`.leak`,
      );
      expect(merged).toEqual({ ok: true, text: 'vendor of A' });
      // Read by the run's user, as the engine reads scopes back. Read by a user who may read every
      // database, the same view shows run B's vendor too: why scopes are not read by the platform.
      expect(viewed).toEqual({ ok: true, text: 'vendor of A' });
      const [unrestricted] = await inChdb([
        { sql: `SELECT name FROM \`${a('output')}\`.leak ORDER BY name` },
      ]);
      expect(unrestricted).toEqual({ ok: true, text: 'vendor of A\nvendor of B' });
    },
  );

  it(
    'creates tables of engines its other grants allow, as a server does by default',
    { timeout: 60_000 },
    async () => {
      // A server checks TABLE ENGINE grants only with table_engines_require_grant (off by default; this
      // chDB build does not take it from a configuration file): a URL table is then as open as url(),
      // a Merge table reads as its reader may, and File, which needs FILE, is refused.
      const create = (name: string, engine: string) =>
        `CREATE TABLE \`${a('connector')}\`.${name} (name String) ENGINE = ${engine}`;
      const results = await asRunA(
        create('by_url', "URL('http://127.0.0.1:1/x', CSV)"),
        create('by_merge', "Merge(REGEXP('^sc_'), '^vendors$')"),
        create('by_file', 'File(CSV)'),
      );
      expect(results.map((result) => (result.ok ? 'allowed' : result.code))).toEqual([
        'allowed',
        'allowed',
        ACCESS_DENIED,
      ]);
    },
  );

  it(
    'does what a script does: reads its inputs, writes its scopes, uses its own collection',
    { timeout: 60_000 },
    async () => {
      const [catalog, memory, view, read, own] = await asRunA(
        `CREATE TABLE \`${a('output')}\`.catalog ENGINE = MergeTree ORDER BY tuple() AS SELECT name FROM \`${a('input')}\`.vendors`,
        'CREATE TABLE scratch ENGINE = Memory AS SELECT 1 AS x',
        `CREATE VIEW \`${a('output')}\`.names AS SELECT upper(name) AS name FROM \`${a('output')}\`.catalog`,
        `SELECT name FROM \`${a('output')}\`.names`,
        `SELECT * FROM url(\`${a('api')}\`) SETTINGS http_max_tries = 1, http_retry_initial_backoff_ms = 1`,
      );
      expect(catalog).toEqual({ ok: true, text: '' });
      expect(memory).toEqual({ ok: true, text: '' });
      expect(view).toEqual({ ok: true, text: '' });
      expect(read).toEqual({ ok: true, text: 'VENDOR OF A' });
      // Allowed: it fails only because nothing listens at the collection's URL.
      expect(own).toMatchObject({ ok: false });
      expect(own).not.toMatchObject({ code: ACCESS_DENIED });
    },
  );

  it("cannot read its own collection's values, only use it", { timeout: 60_000 }, async () => {
    const [listed] = await asRunA(
      `SELECT name, toString(collection) FROM system.named_collections WHERE name = ${quote(a('api'))}`,
    );
    // NAMED COLLECTION is use, not SHOW: the collection is not even listed, so a script cannot copy a
    // secret's values into its scopes (url() with it works, above).
    expect(listed).toEqual({ ok: true, text: '' });
  });
});
