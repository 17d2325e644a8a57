import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqlError } from '../../lambdas/core/errors.ts';
import { ChdbSqlEngine } from '../../lambdas/adapters/sql/chdb/chdb-sql-engine.ts';
import { clickhouseCode, redact, shortenMessage } from '../../lambdas/adapters/sql/sql-errors.ts';
import { prepareInput } from '../../lambdas/pipeline/input/read-input.ts';
import {
  DEFAULT_SQL_LIMITS,
  type PreparedTable,
  type SqlJob,
  type SqlResult,
} from '../../lambdas/ports/sql-engine.ts';

let dir: string;
let jobCount = 0;
const engine = new ChdbSqlEngine();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sc-chdb-test-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Prepares `content` as the input file `name`. */
async function input(name: string, content: string | Buffer): Promise<PreparedTable[]> {
  const n = ++jobCount;
  const path = join(dir, `file-${n}`);
  await writeFile(path, content);
  return prepareInput(path, name, join(dir, `work-${n}`));
}

function job(overrides: Partial<SqlJob>): SqlJob {
  const n = ++jobCount;
  return {
    executionId: `exec-${n}`,
    inputs: [],
    inputViews: [],
    referenceData: [],
    script: null,
    parameters: {},
    currentExecution: {
      execution_id: `exec-${n}`,
      connector_id: 'conn-1',
      connector_api_name: 'vendor_import',
      trigger_type: 'manual',
      initiated_by: 'ada@example.com',
      file_name: 'vendors.csv',
      file_size: 1234,
      is_dry_run: true,
      started_at: '2024-05-06T07:08:09.123Z',
    },
    secrets: {},
    outputDir: join(dir, `out-${n}`),
    limits: DEFAULT_SQL_LIMITS,
    ...overrides,
  };
}

async function scopeRows(result: SqlResult, name: string): Promise<Record<string, unknown>[]> {
  const scope = result.scopes.find((s) => s.name === name);
  if (!scope) throw new Error(`no scope ${name}`);
  const text = await readFile(scope.path, 'utf8');
  const rows = text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  expect(rows).toHaveLength(scope.rows);
  return rows;
}

async function runFailure(sqlJob: SqlJob): Promise<SqlError> {
  const error: unknown = await engine.run(sqlJob).then(
    () => new Error('expected the SQL to fail'),
    (e: unknown) => e,
  );
  if (!(error instanceof SqlError)) throw error;
  return error;
}

const VENDORS_CSV = 'Vendor Name,City,,Vendor Name\n"Acme, Inc.","Paris\nCedex",x,dup\nBeta,,,\nGamma,Rome\n';

describe('no SQL', () => {
  it('exports the single input table as the scope "default", empty cells as null', async () => {
    const inputs = await input('vendors.csv', VENDORS_CSV);
    const result = await engine.run(job({ inputs }));
    expect(result.scopes.map(({ name, columns, rows }) => ({ name, columns, rows }))).toEqual([
      { name: 'default', columns: ['vendor_name', 'city', '_1', 'vendor_name__duplicate_1__'], rows: 3 },
    ]);
    expect(await scopeRows(result, 'default')).toEqual([
      { vendor_name: 'Acme, Inc.', city: 'Paris\nCedex', _1: 'x', vendor_name__duplicate_1__: 'dup' },
      { vendor_name: 'Beta', city: null, _1: null, vendor_name__duplicate_1__: null },
      { vendor_name: 'Gamma', city: 'Rome', _1: null, vendor_name__duplicate_1__: null },
    ]);
  });

  it('treats a blank script as no SQL', async () => {
    const inputs = await input('v.csv', 'a\n1\n');
    const result = await engine.run(job({ inputs, script: '  \n ' }));
    expect(result.scopes.map((s) => s.name)).toEqual(['default']);
  });

  it('fails with SQL_REQUIRED_FOR_MULTIPLE_TABLES when the input has several tables', async () => {
    const workbook = new ExcelJS.Workbook();
    workbook.addWorksheet('Vendors').addRow(['id']);
    workbook.addWorksheet('Products').addRow(['sku']);
    const inputs = await input('book.xlsx', Buffer.from(await workbook.xlsx.writeBuffer()));
    const error = await runFailure(job({ inputs }));
    expect(error.code).toBe('SQL_REQUIRED_FOR_MULTIPLE_TABLES');
    expect(error.message).toContain('input.vendors, input.products');
    expect(error.message).toContain('CREATE TABLE output.');
  });
});

describe('the SQL environment', () => {
  it('loads every input format as Nullable(String) tables with page_idx views, parameters and execution meta', async () => {
    const workbook = new ExcelJS.Workbook();
    const sheet = workbook.addWorksheet('Orders 2024');
    sheet.addRow(['Order', 'Placed', 'Total']);
    sheet.addRow(['O-1', new Date(Date.UTC(2024, 2, 1)), { formula: '2*21', result: 42 }]);
    sheet.getCell('B2').numFmt = 'yyyy-mm-dd';
    workbook.addWorksheet('Notes').addRow(['text']);
    const xlsx = await input('orders.xlsx', Buffer.from(await workbook.xlsx.writeBuffer()));
    const tsv = await input('items.tsv', 'sku\tqty\nA\t1\n');
    const jsonl = await input('events.jsonl', '{"id":1,"meta":{"k":"v"}}\n{"id":2,"extra":true}\n');
    const csv = await input('vendors.csv', VENDORS_CSV);
    const inputs = [...csv, ...xlsx, ...tsv, ...jsonl];
    const script = `
      -- one statement per scope; a ';' inside a string or comment must not split statements
      CREATE TABLE output.types AS
        SELECT database, table, name, type FROM system.columns
        WHERE database = 'input' AND table IN ('vendors_csv', 'orders_2024') ORDER BY table, position;
      CREATE TABLE output.pages AS
        SELECT 0 AS page, count() AS rows, any(vendor_name) AS first FROM input.page_idx_0
        UNION ALL SELECT 1, count(), any(order) FROM input.page_idx_1
        UNION ALL SELECT 4, count(), any(id) FROM input.page_idx_4;
      CREATE TABLE output.orders AS SELECT *, 'a;b' AS literal FROM input.orders_2024; /* ; */
      CREATE TABLE output.items AS SELECT * FROM input.items_tsv;
      CREATE TABLE output.events AS SELECT * FROM input.events_jsonl ORDER BY id;
      CREATE TABLE output.params AS SELECT * FROM meta.parameters ORDER BY name;
      CREATE TABLE output.execution AS SELECT * FROM meta.current_execution;
      CREATE TABLE output.current_db AS SELECT currentDatabase() AS db, timezone() AS tz;
    `;
    const result = await engine.run(
      job({ inputs, script, parameters: { region: 'EU', note: "it's \\ fine" } }),
    );
    expect(result.scopes.map((s) => s.name)).toEqual([
      'current_db',
      'events',
      'execution',
      'items',
      'orders',
      'pages',
      'params',
      'types',
    ]);
    const types = await scopeRows(result, 'types');
    expect(new Set(types.map((t) => t.type))).toEqual(new Set(['Nullable(String)']));
    expect(types.filter((t) => t.table === 'orders_2024').map((t) => t.name)).toEqual([
      'order',
      'placed',
      'total',
    ]);
    expect(await scopeRows(result, 'pages')).toEqual(
      expect.arrayContaining([
        { page: 0, rows: 3, first: 'Acme, Inc.' },
        { page: 1, rows: 1, first: 'O-1' },
        { page: 4, rows: 2, first: '1' },
      ]),
    );
    expect(await scopeRows(result, 'orders')).toEqual([
      { order: 'O-1', placed: '2024-03-01', total: '42', literal: 'a;b' },
    ]);
    expect(await scopeRows(result, 'items')).toEqual([{ sku: 'A', qty: '1' }]);
    expect(await scopeRows(result, 'events')).toEqual([
      { id: '1', meta: '{"k":"v"}', extra: null },
      { id: '2', meta: null, extra: 'true' },
    ]);
    expect(await scopeRows(result, 'params')).toEqual([
      { name: 'note', value: "it's \\ fine" },
      { name: 'region', value: 'EU' },
    ]);
    const [execution] = await scopeRows(result, 'execution');
    expect(execution).toEqual({
      execution_id: expect.stringMatching(/^exec-/),
      connector_id: 'conn-1',
      connector_api_name: 'vendor_import',
      trigger_type: 'manual',
      initiated_by: 'ada@example.com',
      file_name: 'vendors.csv',
      file_size: 1234,
      is_dry_run: true,
      started_at: '2024-05-06T07:08:09.123Z',
    });
    expect(await scopeRows(result, 'current_db')).toEqual([{ db: 'connector', tz: 'UTC' }]);
    const orders = result.scopes.find((s) => s.name === 'orders');
    expect(orders?.columns).toEqual(['order', 'placed', 'total', 'literal']);
    expect(orders?.path).toBe(join(result.scopes[0]!.path, '..', 'orders.jsonl'));
  });

  it('loads reference data as records.<object> tables', async () => {
    const referencePath = join(dir, 'records-vendor.tsv');
    await writeFile(referencePath, 'r1\tAcme\t\\N\nr2\tBe\\tta\tx\n');
    const reference: PreparedTable = {
      name: 'vendor',
      columns: ['id', 'name', 'code'],
      path: referencePath,
      rows: 2,
    };
    const result = await engine.run(
      job({
        referenceData: [reference],
        script: 'CREATE TABLE output.vendors AS SELECT * FROM records.vendor ORDER BY id',
      }),
    );
    expect(await scopeRows(result, 'vendors')).toEqual([
      { id: 'r1', name: 'Acme', code: null },
      { id: 'r2', name: 'Be\tta', code: 'x' },
    ]);
  });

  it('exports typed output: 64-bit integers as numbers unless unsafe, dates as text', async () => {
    const script = `
      CREATE TABLE output.typed AS SELECT
        toInt64(42) AS small,
        toUInt64(9007199254740993) AS unsafe,
        toInt32(-7) AS i32,
        count AS n,
        toDate('2024-02-29') AS d,
        toDateTime('2024-02-29 13:14:15') AS dt,
        toDecimal64(12.34, 2) AS money,
        1.5 AS f,
        true AS b,
        ['x', 'y/z'] AS arr,
        CAST(NULL AS Nullable(Int64)) AS missing
      FROM (SELECT count() AS count FROM numbers(3));
    `;
    const result = await engine.run(job({ script }));
    expect(await scopeRows(result, 'typed')).toEqual([
      {
        small: 42,
        unsafe: '9007199254740993',
        i32: -7,
        n: 3,
        d: '2024-02-29',
        dt: '2024-02-29T13:14:15Z',
        money: 12.34,
        f: 1.5,
        b: true,
        arr: ['x', 'y/z'],
        missing: null,
      },
    ]);
  });

  it('gives secrets as named collections', async () => {
    const script = `CREATE TABLE output.collections AS SELECT name, mapKeys(collection) AS keys FROM system.named_collections`;
    const result = await engine.run(
      job({
        script,
        secrets: { warehouse_db: { host: 'db.internal', user: 'etl', password: 'pa$$w0rd-XYZ' } },
      }),
    );
    const [row] = await scopeRows(result, 'collections');
    expect(row?.name).toBe('warehouse_db');
    expect([...(row?.keys as string[])].sort()).toEqual(['host', 'password', 'user']);
    expect(await readFile(result.scopes[0]!.path, 'utf8')).not.toContain('pa$$w0rd-XYZ');
  });

  it('keeps executions apart', async () => {
    const first = await engine.run(job({ script: 'CREATE TABLE output.only_here AS SELECT 1 AS x' }));
    expect(first.scopes.map((s) => s.name)).toEqual(['only_here']);
    const error = await runFailure(
      job({ script: 'CREATE TABLE output.again AS SELECT * FROM output.only_here' }),
    );
    expect(error.code).toBe('SQL_ERROR');
  });
});

describe('failures', () => {
  it('reports a syntax error with SQL_ERROR and the ClickHouse message', async () => {
    const error = await runFailure(job({ script: 'CREATE TABLE output.x AS SELEC 1' }));
    expect(error).toBeInstanceOf(SqlError);
    expect(error.code).toBe('SQL_ERROR');
    expect(error.message).toMatch(/Code: 62\. DB::Exception: Syntax error/);
    expect([...error.message].filter((c) => c.charCodeAt(0) < 0x20)).toEqual([]);
  });

  it('reports an unknown table with SQL_ERROR', async () => {
    const error = await runFailure(
      job({ script: 'CREATE TABLE output.x AS SELECT * FROM input.does_not_exist' }),
    );
    expect(error.code).toBe('SQL_ERROR');
    expect(error.message).toContain('UNKNOWN_TABLE');
    expect(error.message).toContain('does_not_exist');
  });

  it('reports a failed throwIf with SQL_ASSERTION_FAILED and its message', async () => {
    const inputs = await input('vendors.csv', VENDORS_CSV);
    const script = `
      SELECT throwIf(countIf(city IS NULL) > 0, 'Every vendor needs a city') FROM input.vendors_csv;
      CREATE TABLE output.vendors AS SELECT * FROM input.vendors_csv;
    `;
    const error = await runFailure(job({ inputs, script }));
    expect(error.code).toBe('SQL_ASSERTION_FAILED');
    expect(error.message).toContain('failed: Every vendor needs a city.');
  });

  it('fails a script that creates no output table with NO_OUTPUT_TABLES', async () => {
    const inputs = await input('vendors.csv', VENDORS_CSV);
    const error = await runFailure(
      job({ inputs, script: 'CREATE TABLE connector.tmp AS SELECT * FROM input.vendors_csv' }),
    );
    expect(error.code).toBe('NO_OUTPUT_TABLES');
    expect(error.message).toBe(
      'The SQL created no table in the output database; create one with CREATE TABLE output.<name> AS SELECT …',
    );
  });

  it('fails a scope over the row limit with ROW_LIMIT_EXCEEDED', async () => {
    const script =
      'CREATE TABLE output.small AS SELECT 1 AS x; CREATE TABLE output.wide AS SELECT number FROM numbers(11)';
    const error = await runFailure(job({ script, limits: { ...DEFAULT_SQL_LIMITS, maxRowsPerScope: 10 } }));
    expect(error.code).toBe('ROW_LIMIT_EXCEEDED');
    expect(error.message).toContain('"wide" has 11 rows');
    expect(error.message).toContain('limit of 10 rows');
  });

  it('stops a slow statement with SQL_TIMEOUT', async () => {
    const script =
      'CREATE TABLE output.slow AS SELECT sleepEachRow(0.5) AS s FROM numbers(10) SETTINGS max_block_size = 1';
    const error = await runFailure(
      job({ script, limits: { ...DEFAULT_SQL_LIMITS, maxExecutionSeconds: 1 } }),
    );
    expect(error.code).toBe('SQL_TIMEOUT');
    expect(error.message).toContain('TIMEOUT_EXCEEDED');
  });

  it('stops a query over the memory limit with SQL_MEMORY_LIMIT', async () => {
    const script = 'CREATE TABLE output.big AS SELECT groupArray(number) AS all FROM numbers(10000000)';
    const error = await runFailure(
      job({ script, limits: { ...DEFAULT_SQL_LIMITS, maxMemoryBytes: 20_000_000 } }),
    );
    expect(error.code).toBe('SQL_MEMORY_LIMIT');
    expect(error.message).toContain('MEMORY_LIMIT_EXCEEDED');
  });

  it('never shows a secret value in an error', async () => {
    const secret = 'S3cr3t-Pa55word!';
    const script = `SELECT * FROM postgresql(warehouse, database = 'd', table = 't'); SELECT throwIf(1, 'leak ${secret}')`;
    const error = await runFailure(
      job({
        script,
        secrets: { warehouse: { host: '127.0.0.1', port: '1', user: 'etl', password: secret } },
      }),
    );
    expect(error.code).toBe('SQL_ERROR');
    expect(error.message).not.toContain(secret);
    const assertion = await runFailure(
      job({ script: `SELECT throwIf(1, 'leak ${secret}')`, secrets: { warehouse: { password: secret } } }),
    );
    expect(assertion.code).toBe('SQL_ASSERTION_FAILED');
    expect(assertion.message).toContain('leak [REDACTED]');
    expect(assertion.message).not.toContain(secret);
  });

  it('cuts very long messages, keeping head and tail', async () => {
    const long = 'x'.repeat(12_000);
    const error = await runFailure(job({ script: `SELECT throwIf(1, 'start ${long} end')` }));
    expect(error.code).toBe('SQL_ASSERTION_FAILED');
    expect(error.message.length).toBeLessThan(5_300);
    expect(error.message).toMatch(/characters omitted/);
    expect(error.message).toContain('FUNCTION_THROW_IF_VALUE_IS_NON_ZERO');
  });

  it('kills a runner that outlives its limit with SQL_TIMEOUT', async () => {
    const impatient = new ChdbSqlEngine({ killMarginSeconds: 0 });
    const script =
      'SET max_execution_time = 0; CREATE TABLE output.slow AS SELECT sleepEachRow(0.5) FROM numbers(100) SETTINGS max_block_size = 1';
    const error: unknown = await impatient
      .run(job({ script, limits: { ...DEFAULT_SQL_LIMITS, maxExecutionSeconds: 2 } }))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SqlError);
    expect((error as SqlError).code).toBe('SQL_TIMEOUT');
    expect((error as SqlError).message).toContain('was stopped');
  });
});

describe('error message helpers', () => {
  it('redacts long secrets anywhere and short ones only where they stand alone', () => {
    expect(
      redact("user 'etl' password 'it\\'s-long-secret' while host h", ["it's-long-secret", 'h', 'etl']),
    ).toBe("user '[REDACTED]' password '[REDACTED]' while host [REDACTED]");
  });

  it('reads the ClickHouse code from the message', () => {
    expect(clickhouseCode('Query failed: Code: 395. DB::Exception: x')).toBe(395);
    expect(clickhouseCode('no code')).toBeUndefined();
  });

  it('keeps short messages and cuts long ones in the middle', () => {
    expect(shortenMessage('short')).toBe('short');
    const cut = shortenMessage(`HEAD${'x'.repeat(10_000)}TAIL`);
    expect(cut.length).toBeLessThanOrEqual(5_000);
    expect(cut).toMatch(/^HEAD/);
    expect(cut).toMatch(/TAIL$/);
    expect(cut).toMatch(/\[\d+ characters omitted\]/);
  });
});

describe('speed', () => {
  it('runs a 200,000-row CSV through chDB (logged, not asserted)', async () => {
    const lines = ['id,name,city,amount'];
    for (let i = 0; i < 200_000; i++) lines.push(`${i},Vendor ${i},"City, ${i % 100}",${i * 1.25}`);
    const inputs = await input('big.csv', `${lines.join('\n')}\n`);
    let started = performance.now();
    const result = await engine.run(job({ inputs }));
    console.log(`engine.run: 200,000-row default scope in ${(performance.now() - started).toFixed(0)} ms`);
    expect(result.scopes[0]?.rows).toBe(200_000);
    started = performance.now();
    const script =
      'CREATE TABLE output.by_city AS SELECT city, count() AS n, sum(toFloat64(amount)) AS total FROM input.big_csv GROUP BY city';
    const grouped = await engine.run(job({ inputs, script }));
    console.log(`engine.run: 200,000-row GROUP BY in ${(performance.now() - started).toFixed(0)} ms`);
    expect(grouped.scopes[0]?.rows).toBe(100);
  });
});
