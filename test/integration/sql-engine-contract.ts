import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqlError } from '../../lambdas/core/errors.ts';
import { prepareInput } from '../../lambdas/pipeline/input/read-input.ts';
import {
  DEFAULT_SQL_LIMITS,
  type PreparedTable,
  type SqlEngine,
  type SqlJob,
  type SqlResult,
} from '../../lambdas/ports/sql-engine.ts';

/*
 * What every SqlEngine must do (SPEC §4), as one suite any engine registers: chDB
 * (sql-engine-chdb.test.ts) and ClickHouse over HTTP, against the stand-in and a real server
 * (sql-engine-clickhouse.test.ts). Each test states the scopes, columns, rows and JSON values, or the
 * error code and message, an engine must give; an engine passing the suite gives what the other does.
 */

/** An engine under test, and what the suite needs to know about where it runs. */
export interface EngineFixture {
  engine: SqlEngine;
  /** What the engine's runs left behind on their server: databases, named collections, data folders. */
  leftovers(): Promise<string[]>;
  /** Whether the server can reach an HTTP server on this machine (a url() table function in a test). */
  reachesThisMachine: boolean;
  close(): Promise<void>;
}

export const VENDORS_CSV =
  'Vendor Name,City,,Vendor Name\n"Acme, Inc.","Paris\nCedex",x,dup\nBeta,,,\nGamma,Rome\n';

/** A script whose scopes hold a value of every kind of ClickHouse type a connector is likely to make. */
export const TYPED_SCRIPT = `
  CREATE TABLE output.typed AS SELECT
    toDate('2024-02-29') AS d, toDate32('1950-01-02') AS d32,
    toDateTime('2024-02-29 13:14:15') AS dt,
    toDateTime64('2024-02-29 13:14:15.123456', 6) AS dt64,
    toDateTime('2024-02-29 13:14:15', 'Asia/Tokyo') AS dt_tokyo,
    toInt64(42) AS i64, toUInt64(9007199254740993) AS u64_unsafe, toInt128(-5) AS i128,
    toUInt256('115792089237316195423570985008687907853269984665640564039457584007913129639935') AS u256,
    toDecimal64(12.34, 2) AS dec64, toFloat32(1.5) AS f32, 0.1 + 0.2 AS f64, nan AS fnan,
    true AS b, CAST(NULL AS Nullable(Int64)) AS nothing, CAST('x' AS Nullable(String)) AS maybe,
    ['x', 'y/z'] AS arr, [1, 2] AS nums, map('k', 1, 'l', 2) AS m, tuple(1, 'a') AS tup,
    CAST((1, 'a'), 'Tuple(n UInt8, s String)') AS named, toLowCardinality('lc') AS lc,
    CAST('b' AS Enum8('a' = 1, 'b' = 2)) AS e, toUUID('61f0c404-5cb3-11e7-907b-a6006ad3dba0') AS u,
    'quote " back \\\\ tab \\t é' AS text;
  CREATE TABLE output.numbers ENGINE = MergeTree ORDER BY n AS
    SELECT number AS n, toInt64(number) * -3 AS neg, if(number % 2 = 0, NULL, toString(number)) AS odd
    FROM numbers(5);
`;

export const TYPED_ROW = {
  d: '2024-02-29',
  d32: '1950-01-02',
  dt: '2024-02-29T13:14:15Z',
  dt64: '2024-02-29T13:14:15.123456Z',
  dt_tokyo: '2024-02-29T04:14:15Z',
  i64: 42,
  u64_unsafe: '9007199254740993',
  i128: -5,
  u256: '115792089237316195423570985008687907853269984665640564039457584007913129639935',
  dec64: 12.34,
  f32: 1.5,
  f64: 0.30000000000000004,
  fnan: null,
  b: true,
  nothing: null,
  maybe: 'x',
  arr: ['x', 'y/z'],
  nums: [1, 2],
  m: { k: 1, l: 2 },
  tup: [1, 'a'],
  named: { n: 1, s: 'a' },
  lc: 'lc',
  e: 'b',
  u: '61f0c404-5cb3-11e7-907b-a6006ad3dba0',
  text: 'quote " back \\ tab \t é',
};

/** Builds jobs for one test file: inputs prepared from text, fresh execution ids and output folders. */
export class Jobs {
  private count = 0;

  constructor(readonly dir: string) {}

  /** Prepares `content` as the input file `name`, as the SQL stage does. */
  async input(name: string, content: string): Promise<PreparedTable[]> {
    const n = ++this.count;
    const path = join(this.dir, `file-${n}`);
    await writeFile(path, content);
    return prepareInput(path, name, join(this.dir, `work-${n}`));
  }

  job(overrides: Partial<SqlJob> = {}): SqlJob {
    const n = ++this.count;
    const executionId = randomUUID();
    return {
      executionId,
      inputs: [],
      inputViews: [],
      referenceData: [],
      script: null,
      parameters: {},
      currentExecution: {
        execution_id: executionId,
        connector_id: 'conn-1',
        connector_api_name: 'vendor_import',
        trigger_type: 'upload',
        initiated_by: 'ada@example.com',
        file_name: 'vendors.csv',
        file_size: 1234,
        is_dry_run: true,
        started_at: '2024-05-06T07:08:09.123Z',
      },
      secrets: {},
      outputDir: join(this.dir, `out-${n}`),
      limits: DEFAULT_SQL_LIMITS,
      ...overrides,
    };
  }
}

/** A scope's rows as parsed JSON, after checking the file holds as many lines as the scope says. */
export async function scopeRows(result: SqlResult, name: string): Promise<Record<string, unknown>[]> {
  const scope = result.scopes.find((s) => s.name === name);
  if (!scope) throw new Error(`no scope ${name} in ${result.scopes.map((s) => s.name).join(', ')}`);
  const lines = (await readFile(scope.path, 'utf8')).split('\n').filter((line) => line !== '');
  expect(lines).toHaveLength(scope.rows);
  return lines.map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** The SqlError a job fails with; fails the test when it succeeds or throws something else. */
export async function failure(engine: SqlEngine, job: SqlJob): Promise<SqlError> {
  const error: unknown = await engine.run(job).then(
    () => new Error('expected the job to fail'),
    (e: unknown) => e,
  );
  if (!(error instanceof SqlError)) throw error;
  return error;
}

/** Registers the contract's tests for the engine `open` gives; all skipped when `skip` says why. */
export function sqlEngineContract(name: string, open: () => Promise<EngineFixture>, skip?: string): void {
  describe.skipIf(skip !== undefined)(
    `the SqlEngine contract: ${name}${skip ? ` (skipped: ${skip})` : ''}`,
    () => {
      let fixture: EngineFixture;
      let engine: SqlEngine;
      let jobs: Jobs;

      beforeAll(async () => {
        fixture = await open();
        engine = fixture.engine;
        jobs = new Jobs(await mkdtemp(join(tmpdir(), 'sc-engine-contract-')));
      });
      afterAll(async () => {
        await fixture?.close();
        if (jobs) await rm(jobs.dir, { recursive: true, force: true });
      });

      describe('scopes', () => {
        it('exports the single input table as scope "default" when there is no SQL, empty cells as null', async () => {
          const inputs = await jobs.input('vendors.csv', VENDORS_CSV);
          const result = await engine.run(jobs.job({ inputs }));
          expect(result.scopes.map(({ name, columns, rows }) => ({ name, columns, rows }))).toEqual([
            {
              name: 'default',
              columns: ['vendor_name', 'city', '_1', 'vendor_name__duplicate_1__'],
              rows: 3,
            },
          ]);
          expect(await scopeRows(result, 'default')).toEqual([
            { vendor_name: 'Acme, Inc.', city: 'Paris\nCedex', _1: 'x', vendor_name__duplicate_1__: 'dup' },
            { vendor_name: 'Beta', city: null, _1: null, vendor_name__duplicate_1__: null },
            { vendor_name: 'Gamma', city: 'Rome', _1: null, vendor_name__duplicate_1__: null },
          ]);
        });

        it('fails without SQL on several input tables (SQL_REQUIRED_FOR_MULTIPLE_TABLES) and without any (NO_OUTPUT_TABLES)', async () => {
          const inputs = [...(await jobs.input('a.csv', 'x\n1\n')), ...(await jobs.input('b.csv', 'y\n2\n'))];
          const several = await failure(engine, jobs.job({ inputs }));
          expect(several.code).toBe('SQL_REQUIRED_FOR_MULTIPLE_TABLES');
          expect(several.message).toContain('(input.a_csv, input.b_csv)');
          const none = await failure(engine, jobs.job());
          expect(none.code).toBe('NO_OUTPUT_TABLES');
        });

        it('fails a script that creates no output table with NO_OUTPUT_TABLES', async () => {
          const error = await failure(
            engine,
            jobs.job({ script: 'CREATE TABLE connector.tmp AS SELECT 1 AS x' }),
          );
          expect(error.code).toBe('NO_OUTPUT_TABLES');
          expect(error.message).toBe(
            'The SQL created no table in the output database; create one with CREATE TABLE output.<name> AS SELECT …',
          );
        });

        it('exports typed values the same way: dates, DateTime64, wide integers, decimals, nulls, arrays, maps', async () => {
          const result = await engine.run(jobs.job({ script: TYPED_SCRIPT }));
          expect(result.scopes.map((s) => [s.name, s.rows])).toEqual([
            ['numbers', 5],
            ['typed', 1],
          ]);
          expect(result.scopes[1]!.columns).toEqual(Object.keys(TYPED_ROW));
          expect(await scopeRows(result, 'typed')).toEqual([TYPED_ROW]);
          expect(await scopeRows(result, 'numbers')).toEqual([
            { n: 0, neg: 0, odd: null },
            { n: 1, neg: -3, odd: '1' },
            { n: 2, neg: -6, odd: null },
            { n: 3, neg: -9, odd: '3' },
            { n: 4, neg: -12, odd: null },
          ]);
        });

        it('gives the script its inputs, page_idx and input views, parameters, execution meta and reference data', async () => {
          const vendors = await jobs.input('vendors.csv', VENDORS_CSV);
          const items = await jobs.input('items.tsv', 'sku\tqty\nA\t1\nB\t\n');
          const referencePath = join(jobs.dir, 'records-vendor.tsv');
          await writeFile(referencePath, 'r1\tAcme\t\\N\nr2\tBe\\tta\tx\n');
          const script = `
          CREATE TABLE output.pages AS
            SELECT 0 AS page, count() AS rows, any(vendor_name) AS first FROM input.page_idx_0
            UNION ALL SELECT 1, count(), any(sku) FROM input.page_idx_1;
          CREATE TABLE output.items AS SELECT * FROM input.items_typed ORDER BY sku;
          CREATE TABLE output.params AS SELECT * FROM meta.parameters ORDER BY name;
          CREATE TABLE output.execution AS SELECT * FROM meta.current_execution;
          CREATE TABLE output.vendors AS SELECT * FROM records.vendor ORDER BY id;
          CREATE TABLE output.clock AS SELECT timezone() AS tz, toString(toDateTime(0)) AS epoch;
        `;
          const result = await engine.run(
            jobs.job({
              inputs: [...vendors, ...items],
              inputViews: [
                {
                  name: 'items_typed',
                  select: 'SELECT sku, toUInt32OrNull(qty) AS qty FROM input.items_tsv',
                },
              ],
              referenceData: [
                { name: 'vendor', columns: ['id', 'name', 'code'], path: referencePath, rows: 2 },
              ],
              script,
              parameters: { region: 'EU', note: "it's \\ fine; really" },
            }),
          );
          expect(result.scopes.map((s) => s.name)).toEqual([
            'clock',
            'execution',
            'items',
            'pages',
            'params',
            'vendors',
          ]);
          expect(await scopeRows(result, 'pages')).toEqual(
            expect.arrayContaining([
              { page: 0, rows: 3, first: 'Acme, Inc.' },
              { page: 1, rows: 2, first: 'A' },
            ]),
          );
          expect(await scopeRows(result, 'items')).toEqual([
            { sku: 'A', qty: 1 },
            { sku: 'B', qty: null },
          ]);
          expect(await scopeRows(result, 'params')).toEqual([
            { name: 'note', value: "it's \\ fine; really" },
            { name: 'region', value: 'EU' },
          ]);
          const [execution] = await scopeRows(result, 'execution');
          expect(execution).toMatchObject({
            connector_id: 'conn-1',
            connector_api_name: 'vendor_import',
            trigger_type: 'upload',
            initiated_by: 'ada@example.com',
            file_name: 'vendors.csv',
            file_size: 1234,
            is_dry_run: true,
            started_at: '2024-05-06T07:08:09.123Z',
          });
          expect(await scopeRows(result, 'vendors')).toEqual([
            { id: 'r1', name: 'Acme', code: null },
            { id: 'r2', name: 'Be\tta', code: 'x' },
          ]);
          expect(await scopeRows(result, 'clock')).toEqual([{ tz: 'UTC', epoch: '1970-01-01 00:00:00' }]);
        });

        it('runs statements in order, keeping SET, USE and temporary tables, and splits only at real semicolons', async () => {
          const script = `
          -- a ';' in a comment, a string, a quoted name or a heredoc never ends a statement
          SET join_use_nulls = 1, session_timezone = 'Asia/Tokyo'; # SET lasts for the rest of the script
          CREATE TEMPORARY TABLE staging AS SELECT 1 AS k, 'a;b' AS literal, $$c;d$$ AS heredoc;
          /* nested /* ; */ comment */
          CREATE TABLE output.\`odd;name\` AS SELECT * FROM staging;
          CREATE TABLE connector.lookup (k UInt8, v String) ENGINE = MergeTree ORDER BY k;
          INSERT INTO connector.lookup VALUES (2, 'two');
          CREATE TABLE output.joined AS SELECT s.k, l.v FROM staging AS s LEFT JOIN lookup AS l ON s.k = l.k;
          USE output;
          CREATE TABLE settings AS SELECT getSetting('join_use_nulls') AS join_use_nulls, timezone() AS tz,
            toString(toDateTime(0)) AS epoch;
          CREATE VIEW "output"."view" AS SELECT k * 10 AS k10 FROM connector.lookup;
        `;
          const result = await engine.run(jobs.job({ script }));
          expect(result.scopes.map((s) => s.name)).toEqual(['joined', 'odd;name', 'settings', 'view']);
          expect(await scopeRows(result, 'odd;name')).toEqual([{ k: 1, literal: 'a;b', heredoc: 'c;d' }]);
          expect(await scopeRows(result, 'joined')).toEqual([{ k: 1, v: null }]);
          expect(await scopeRows(result, 'settings')).toEqual([
            { join_use_nulls: true, tz: 'Asia/Tokyo', epoch: '1970-01-01 09:00:00' },
          ]);
          expect(await scopeRows(result, 'view')).toEqual([{ k10: 20 }]);
          expect(result.scopes[1]!.path).toMatch(/odd%3bname\.jsonl$/);
        });
      });

      describe('errors', () => {
        it('reports a syntax error and an unknown table with SQL_ERROR and the ClickHouse message', async () => {
          const syntax = await failure(engine, jobs.job({ script: 'CREATE TABLE output.x AS SELEC 1' }));
          expect(syntax.code).toBe('SQL_ERROR');
          expect(syntax.message).toMatch(
            /^The SQL failed\. ClickHouse said: Code: 62\. DB::Exception: Syntax error/,
          );
          expect([...syntax.message].filter((c) => c.charCodeAt(0) < 0x20)).toEqual([]);
          const unknown = await failure(
            engine,
            jobs.job({ script: 'CREATE TABLE output.x AS SELECT * FROM input.does_not_exist' }),
          );
          expect(unknown.code).toBe('SQL_ERROR');
          expect(unknown.message).toContain('UNKNOWN_TABLE');
          expect(unknown.message).toContain('input.does_not_exist');
          expect(unknown.message).not.toMatch(/sc_[0-9a-f]{32}/);
        });

        it('reports a failed throwIf with SQL_ASSERTION_FAILED and its message, and stops the script there', async () => {
          const inputs = await jobs.input('vendors.csv', VENDORS_CSV);
          const script = `
          CREATE TABLE output.before AS SELECT 1 AS x;
          SELECT throwIf(countIf(city IS NULL) > 0, 'Every vendor needs a city') FROM input.vendors_csv;
          CREATE TABLE output.vendors AS SELECT * FROM input.vendors_csv;
        `;
          const error = await failure(engine, jobs.job({ inputs, script }));
          expect(error.code).toBe('SQL_ASSERTION_FAILED');
          expect(error.message).toMatch(
            /^A throwIf assertion in the SQL failed: Every vendor needs a city\. ClickHouse said: Code: 395\./,
          );
        });

        it('fails the run when a scope fails in the middle of its export', async () => {
          const script = `CREATE VIEW output.late AS SELECT throwIf(number = 250000, 'row 250000 is bad') AS x FROM numbers(300000)`;
          const error = await failure(engine, jobs.job({ script }));
          expect(error.code).toBe('SQL_ASSERTION_FAILED');
          expect(error.message).toContain('failed while exporting scope "late": row 250000 is bad.');
        });

        it('refuses statements that act on the server instead of the run, before running anything', async () => {
          for (const statement of [
            'CREATE DATABASE mine',
            'drop database if exists output',
            'CREATE OR REPLACE FUNCTION twice AS x -> x * 2',
            'GRANT SELECT ON *.* TO somebody',
          ]) {
            const error = await failure(
              engine,
              jobs.job({ script: `CREATE TABLE output.ok AS SELECT 1 AS x;\n${statement}` }),
            );
            expect(error.code).toBe('SQL_ERROR');
            expect(error.message).toMatch(
              /^Statement 2 \(.+\) acts on the server, not on this run's tables\./,
            );
          }
        });

        it('fails a scope over the row limit with ROW_LIMIT_EXCEEDED', async () => {
          const script =
            'CREATE TABLE output.small AS SELECT 1 AS x; CREATE TABLE output.wide AS SELECT number FROM numbers(11)';
          const error = await failure(
            engine,
            jobs.job({ script, limits: { ...DEFAULT_SQL_LIMITS, maxRowsPerScope: 10 } }),
          );
          expect(error.code).toBe('ROW_LIMIT_EXCEEDED');
          expect(error.message).toBe(
            'Scope "wide" has 11 rows, more than the limit of 10 rows per scope (limits.maxRowsPerScope). ' +
              'Filter or aggregate the rows in the SQL, or raise the limit.',
          );
        });

        it('stops a slow statement with SQL_TIMEOUT and a hungry one with SQL_MEMORY_LIMIT', async () => {
          const slow = await failure(
            engine,
            jobs.job({
              script:
                'CREATE TABLE output.slow AS SELECT sleepEachRow(0.5) AS s FROM numbers(10) SETTINGS max_block_size = 1',
              limits: { ...DEFAULT_SQL_LIMITS, maxExecutionSeconds: 1 },
            }),
          );
          expect(slow.code).toBe('SQL_TIMEOUT');
          expect(slow.message).toMatch(
            /^The SQL ran longer than its 1 s limit \(limits\.maxExecutionSeconds\)/,
          );
          expect(slow.message).toContain('TIMEOUT_EXCEEDED');
          const hungry = await failure(
            engine,
            jobs.job({
              script: 'CREATE TABLE output.big AS SELECT groupArray(number) AS all FROM numbers(10000000)',
              limits: { ...DEFAULT_SQL_LIMITS, maxMemoryBytes: 20_000_000 },
            }),
          );
          expect(hungry.code).toBe('SQL_MEMORY_LIMIT');
          expect(hungry.message).toContain('MEMORY_LIMIT_EXCEEDED');
        });
      });

      describe('secrets', () => {
        let server: Server;
        let requests: string[];
        const TOKEN = 'tok-8c1e55aa-SECRET';

        beforeAll(async () => {
          requests = [];
          server = createServer((request, response) => {
            requests.push(request.url ?? '');
            if (request.url !== `/items.csv?token=${TOKEN}`) return void response.writeHead(403).end('no');
            response.writeHead(200, { 'content-type': 'text/csv' }).end('name,qty\nApple,3\nBanana,5\n');
          });
          await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
        });
        afterAll(() => new Promise<void>((done) => (server ? server.close(() => done()) : done())));

        it('makes each secret a named collection a table function can use', async ({ skip }) => {
          if (!fixture.reachesThisMachine) skip('the server cannot reach an HTTP server on this machine');
          const { port } = server.address() as AddressInfo;
          const script = `
          CREATE TABLE output.items AS
            SELECT * FROM url(crm, structure = 'name String, qty UInt32') ORDER BY name
        `;
          const result = await engine.run(
            jobs.job({
              script,
              secrets: {
                crm: { url: `http://127.0.0.1:${port}/items.csv?token=${TOKEN}`, format: 'CSVWithNames' },
              },
            }),
          );
          expect(await scopeRows(result, 'items')).toEqual([
            { name: 'Apple', qty: 3 },
            { name: 'Banana', qty: 5 },
          ]);
          expect(requests).toContain(`/items.csv?token=${TOKEN}`);
          expect(await readFile(result.scopes[0]!.path, 'utf8')).not.toContain(TOKEN);
        });

        it('never shows a secret value in an error', async () => {
          const secret = 'S3cr3t-Pa55word!';
          const script = `CREATE TABLE output.t AS SELECT * FROM postgresql(warehouse, database = 'd', table = 't')`;
          const error = await failure(
            engine,
            jobs.job({
              script,
              secrets: { warehouse: { host: '127.0.0.1', port: '1', user: 'etl', password: secret } },
              limits: { ...DEFAULT_SQL_LIMITS, maxExecutionSeconds: 20 },
            }),
          );
          expect(error.code).toBe('SQL_ERROR');
          expect(error.message).not.toContain(secret);
          const assertion = await failure(
            engine,
            jobs.job({
              script: `SELECT throwIf(1, 'leak ${secret}')`,
              secrets: { warehouse: { password: secret } },
            }),
          );
          expect(assertion.code).toBe('SQL_ASSERTION_FAILED');
          expect(assertion.message).toContain('leak [REDACTED]');
          expect(assertion.message).not.toContain(secret);
        });
      });

      describe('isolation', () => {
        it('runs two executions at once with the same table names, each seeing only its own', async () => {
          const script = (label: string) => `
          CREATE TABLE connector.work AS SELECT number AS n, '${label}' AS label FROM numbers(1000);
          CREATE TABLE output.result AS
            SELECT label, count() AS rows, sum(n) AS total, (SELECT count() FROM input.data_csv) AS inputs,
                   (SELECT value FROM meta.parameters WHERE name = 'who') AS who
            FROM work GROUP BY label;
        `;
          const [first, second] = await Promise.all([
            jobs.input('data.csv', 'v\n1\n'),
            jobs.input('data.csv', 'v\n1\n2\n3\n'),
          ]);
          const [a, b] = await Promise.all([
            engine.run(jobs.job({ inputs: first, script: script('a'), parameters: { who: 'first' } })),
            engine.run(jobs.job({ inputs: second, script: script('b'), parameters: { who: 'second' } })),
          ]);
          expect(await scopeRows(a, 'result')).toEqual([
            { label: 'a', rows: 1000, total: 499500, inputs: 1, who: 'first' },
          ]);
          expect(await scopeRows(b, 'result')).toEqual([
            { label: 'b', rows: 1000, total: 499500, inputs: 3, who: 'second' },
          ]);
        });

        it('never sees the tables of an earlier run', async () => {
          const first = await engine.run(
            jobs.job({ script: 'CREATE TABLE output.only_here AS SELECT 1 AS x' }),
          );
          expect(first.scopes.map((s) => s.name)).toEqual(['only_here']);
          const error = await failure(
            engine,
            jobs.job({ script: 'CREATE TABLE output.again AS SELECT * FROM output.only_here' }),
          );
          expect(error.code).toBe('SQL_ERROR');
          expect(error.message).toContain('only_here');
        });

        it('leaves nothing behind after a run that failed, as after one that succeeded', async () => {
          const secrets = { creds: { user: 'u', password: 'p4ssw0rd-x' } };
          await engine.run(jobs.job({ script: 'CREATE TABLE output.x AS SELECT 1 AS y', secrets }));
          expect(await fixture.leftovers()).toEqual([]);
          const error = await failure(
            engine,
            jobs.job({ script: 'CREATE TABLE output.x AS SELECT 1 AS y; SELECT throwIf(1)', secrets }),
          );
          expect(error.code).toBe('SQL_ASSERTION_FAILED');
          expect(await fixture.leftovers()).toEqual([]);
        });
      });

      describe('large results', () => {
        it('streams a 500,000-row scope to its file', { timeout: 240_000 }, async () => {
          const script = `
          CREATE TABLE output.big ENGINE = MergeTree ORDER BY id AS
            SELECT number AS id, concat('name ', toString(number)) AS name, number * 0.5 AS half,
                   toDate('2024-01-01') + toIntervalDay(number % 365) AS day
            FROM numbers(500000)
        `;
          const started = performance.now();
          const result = await engine.run(jobs.job({ script }));
          console.log(`${name}: 500,000-row scope in ${(performance.now() - started).toFixed(0)} ms`);
          const [scope] = result.scopes;
          expect(scope).toMatchObject({ name: 'big', rows: 500_000, columns: ['id', 'name', 'half', 'day'] });
          const text = await readFile(scope!.path, 'utf8');
          expect(text.endsWith('}\n')).toBe(true);
          // Parts are read in parallel, so rows come in no set order.
          const rows = text
            .slice(0, -1)
            .split('\n')
            .map((line) => JSON.parse(line) as { id: number });
          expect(rows).toHaveLength(500_000);
          expect(new Set(rows.map((row) => row.id)).size).toBe(500_000);
          expect(rows.find((row) => row.id === 499_999)).toEqual({
            id: 499_999,
            name: 'name 499999',
            half: 249_999.5,
            day: '2024-11-10',
          });
        });

        it('left nothing behind after every run of this suite', async () => {
          expect(await fixture.leftovers()).toEqual([]);
        });
      });
    },
  );
}
