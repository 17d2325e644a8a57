import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ScError, SqlError } from '../../core/errors.ts';
import type { PreparedTable, ScopeOutput, SqlJob, SqlLimits, SqlResult } from '../../ports/sql-engine.ts';
import { nullableStringColumns, qualifiedName, quoteIdentifier, quoteString } from './clickhouse-sql.ts';
import { engineFailure, secretValuesOf, sqlErrorFromEngine } from './sql-errors.ts';
import { assertStatementsStayInRun, splitStatements, type Statement } from './sql-statements.ts';

/** The scope of a connector without SQL: its single input table. */
export const DEFAULT_SCOPE = 'default';

/** The databases a script names (SPEC §4); `connector` is its current database. */
export const SCRIPT_DATABASES = ['input', 'output', 'meta', 'connector', 'records'] as const;
export type ScriptDatabase = (typeof SCRIPT_DATABASES)[number];

/** ClickHouse settings by name, as an engine passes them on (`SET` in chDB, URL parameters over HTTP). */
export type Settings = Record<string, string | number>;

/**
 * The settings every statement of a job runs under: UTC, as ClickHouse Cloud servers run, so the same
 * script gives the same dates on both engines (a script may SET another time zone); and the job's
 * limits, per statement (`limitSettings`).
 */
export function jobSettings(limits: SqlLimits): Settings {
  return { session_timezone: 'UTC', ...limitSettings(limits) };
}

/** The job's limits as settings: `max_execution_time` and `max_memory_usage`, per statement. */
export function limitSettings(limits: SqlLimits): Settings {
  return {
    max_execution_time: Math.max(1, Math.ceil(limits.maxExecutionSeconds)),
    max_memory_usage: Math.max(0, Math.floor(limits.maxMemoryBytes)),
  };
}

/**
 * Settings for the JSONEachRow export of scopes, applied after the script so it cannot change them:
 * 64-bit integers and decimals as JSON numbers (wide integer columns holding unsafe values are
 * converted to strings first), `Date` as `YYYY-MM-DD`, `DateTime` as ISO 8601 UTC with its `Z`, so a
 * `datetime` variable never reads a SQL instant as local time in the connector's time zone.
 */
export const EXPORT_SETTINGS: Settings = {
  output_format_json_quote_64bit_integers: 0,
  output_format_json_quote_64bit_floats: 0,
  output_format_json_quote_decimals: 0,
  output_format_json_escape_forward_slashes: 0,
  date_time_output_format: 'iso',
};

/**
 * What runSqlJob needs from an engine for one job: where the script's databases really are, and a
 * way to run each kind of statement. Methods reject with the engine's own error (its message holding
 * `Code: N. DB::Exception: …`), or with an `ScError` that is passed on as it is.
 */
export interface SqlJobSession {
  /** Names errors: "chDB", "ClickHouse". */
  readonly engineName: string;
  /** The real name of the database a script calls `name`. */
  database(name: ScriptDatabase): string;
  /** The real name of the named collection a script calls `name`. */
  collection(name: string): string;
  /** SQL written with the script's names (an input view's SELECT) in this session's names. */
  localize(sql: string): string;
  /** Runs a statement that prepares the environment. */
  setup(sql: string): Promise<void>;
  /** Loads a TabSeparated file (`\N` = NULL) into the existing table `target`. */
  load(target: string, table: PreparedTable): Promise<void>;
  /** Runs the script in database `connector` under `jobSettings`; `statements` is the script, split. */
  runScript(script: string, statements: readonly Statement[]): Promise<void>;
  /** Runs a small query under `jobSettings` and `EXPORT_SETTINGS` and returns its text. */
  query(sql: string, format: 'TabSeparated' | 'JSONEachRow'): Promise<string>;
  /** Streams the JSONEachRow result of `select` (under the same settings) to `path`; it has `rows` rows. */
  exportTo(select: string, path: string, rows: number): Promise<void>;
}

/** Integers beyond ±(2^53 − 1) lose precision as JSON numbers, so such columns are exported as strings. */
const MAX_SAFE_INTEGER = Number.MAX_SAFE_INTEGER;
const WIDE_INTEGER_TYPE = /^(?:Nullable\(|LowCardinality\()*U?Int(?:64|128|256)\)*$/;

/**
 * Runs one SqlJob (SPEC §4) through an engine's session: loads the inputs, reference data, parameters,
 * execution metadata and secrets; runs the script in database `connector` under the job's limits;
 * and exports every table of database `output` (or, with no script, the single input table as scope
 * `default`) to `<outputDir>/<scope>.jsonl`. Rejects with SqlError; every message has the secrets
 * redacted. Both engines run jobs through this one function, so they prepare, list and export alike.
 */
export async function runSqlJob(session: SqlJobSession, job: SqlJob): Promise<SqlResult> {
  const secretValues = secretValuesOf(job.secrets);
  const script = job.script?.trim() ? job.script : null;
  const statements = script === null ? [] : splitStatements(script);
  assertStatementsStayInRun(statements);

  const setup = async (step: Promise<void>): Promise<void> => {
    try {
      await step;
    } catch (error) {
      if (error instanceof ScError) throw error;
      throw engineFailure(`${session.engineName} could not prepare the SQL environment`, error, secretValues);
    }
  };
  const db = (name: ScriptDatabase): string => session.database(name);

  for (const name of SCRIPT_DATABASES)
    await setup(session.setup(`CREATE DATABASE ${quoteIdentifier(db(name))}`));
  for (const table of job.inputs) await setup(loadTable(session, db('input'), table));
  for (const [index, table] of job.inputs.entries()) {
    const view = `page_idx_${index}`;
    // A file literally named page_idx_<n> keeps its name; its position alias is then not created.
    if (job.inputs.some((input) => input.name === view)) continue;
    await setup(
      session.setup(
        `CREATE VIEW ${qualifiedName(db('input'), view)} AS SELECT * FROM ${qualifiedName(db('input'), table.name)}`,
      ),
    );
  }
  for (const view of job.inputViews) {
    await setup(
      session.setup(
        `CREATE VIEW ${qualifiedName(db('input'), view.name)} AS ${session.localize(view.select)}`,
      ),
    );
  }
  for (const table of job.referenceData) await setup(loadTable(session, db('records'), table));
  for (const sql of metaSql(job, db('meta'))) await setup(session.setup(sql));
  for (const [name, members] of Object.entries(job.secrets)) {
    const assignments = Object.entries(members).map(
      ([key, value]) => `${quoteIdentifier(key)} = ${quoteString(value)}`,
    );
    if (assignments.length > 0) {
      await setup(
        session.setup(
          `CREATE NAMED COLLECTION ${quoteIdentifier(session.collection(name))} AS ${assignments.join(', ')}`,
        ),
      );
    }
  }

  if (script !== null) {
    try {
      await session.runScript(script, statements);
    } catch (error) {
      if (error instanceof ScError) throw error;
      throw sqlErrorFromEngine(error, job.limits, secretValues);
    }
  }

  await mkdir(job.outputDir, { recursive: true });
  const run: Run = async (sql, format, activity) => {
    try {
      return await session.query(sql, format);
    } catch (error) {
      if (error instanceof ScError) throw error;
      throw sqlErrorFromEngine(error, job.limits, secretValues, activity);
    }
  };
  const sources =
    script === null ? [defaultScopeSource(job, db('input'))] : await outputScopeSources(db('output'), run);
  const scopes: ScopeOutput[] = [];
  for (const source of sources) {
    scopes.push(
      await exportScope(source, job, run, async (select, path, rows, activity) => {
        try {
          await session.exportTo(select, path, rows);
        } catch (error) {
          if (error instanceof ScError) throw error;
          throw sqlErrorFromEngine(error, job.limits, secretValues, activity);
        }
      }),
    );
  }
  return { scopes };
}

async function loadTable(session: SqlJobSession, database: string, table: PreparedTable): Promise<void> {
  if (table.columns.length === 0)
    throw new SqlError('SQL_ENGINE_FAILED', `Table ${database}.${table.name} has no columns.`);
  const target = qualifiedName(database, table.name);
  // MergeTree, not Memory: on a ClickHouse Cloud service every replica must see the rows.
  await session.setup(
    `CREATE TABLE ${target} (${nullableStringColumns(table.columns)}) ENGINE = MergeTree ORDER BY tuple()`,
  );
  await session.load(target, table);
}

/** The statements that create and fill `meta.parameters` and `meta.current_execution`. */
function metaSql(job: SqlJob, meta: string): string[] {
  const parameters = qualifiedName(meta, 'parameters');
  const current = qualifiedName(meta, 'current_execution');
  const sql = [`CREATE TABLE ${parameters} (name String, value String) ENGINE = MergeTree ORDER BY tuple()`];
  const rows = Object.entries(job.parameters).map(
    ([name, value]) => `(${quoteString(name)}, ${quoteString(value)})`,
  );
  if (rows.length > 0) sql.push(`INSERT INTO ${parameters} VALUES ${rows.join(', ')}`);
  const m = job.currentExecution;
  sql.push(
    `CREATE TABLE ${current} (execution_id String, connector_id String, connector_api_name String, ` +
      'trigger_type String, initiated_by String, file_name String, file_size UInt64, is_dry_run Bool, ' +
      "started_at DateTime64(3, 'UTC')) ENGINE = MergeTree ORDER BY tuple()",
  );
  const text = [
    m.execution_id,
    m.connector_id,
    m.connector_api_name,
    m.trigger_type,
    m.initiated_by,
    m.file_name,
  ];
  sql.push(
    `INSERT INTO ${current} SELECT ${text.map(quoteString).join(', ')}, ${Math.max(0, Math.trunc(m.file_size))}, ` +
      `${m.is_dry_run ? 'true' : 'false'}, parseDateTime64BestEffort(${quoteString(m.started_at)}, 3, 'UTC')`,
  );
  return sql;
}

/** Where a scope's rows come from, its columns with their ClickHouse types. */
interface ScopeSource {
  name: string;
  table: string;
  columns: { name: string; type: string }[];
}

type Run = (sql: string, format: 'TabSeparated' | 'JSONEachRow', activity: string) => Promise<string>;
type Export = (select: string, path: string, rows: number, activity: string) => Promise<void>;

function defaultScopeSource(job: SqlJob, input: string): ScopeSource {
  const [only, ...others] = job.inputs;
  if (only === undefined) {
    throw new SqlError(
      'NO_OUTPUT_TABLES',
      'There is no input table and no SQL, so there is nothing to load. Provide an input file, or add SQL ' +
        'that creates a table in the output database (CREATE TABLE output.<name> AS SELECT …).',
    );
  }
  if (others.length > 0) {
    const names = job.inputs.map((table) => `input.${table.name}`).join(', ');
    throw new SqlError(
      'SQL_REQUIRED_FOR_MULTIPLE_TABLES',
      `The input has ${job.inputs.length} tables (${names}) but the connector has no SQL, so it is not clear ` +
        'which to load. Add SQL that creates one table per scope in the output database, e.g. ' +
        `CREATE TABLE output.${only.name} AS SELECT * FROM input.${only.name}.`,
    );
  }
  return {
    name: DEFAULT_SCOPE,
    table: qualifiedName(input, only.name),
    columns: only.columns.map((name) => ({ name, type: 'Nullable(String)' })),
  };
}

async function outputScopeSources(output: string, run: Run): Promise<ScopeSource[]> {
  const tables = jsonRows<{ name: string }>(
    await run(
      // A materialised view's hidden `.inner…` storage table is not a scope of its own.
      `SELECT name FROM system.tables WHERE database = ${quoteString(output)} AND NOT startsWith(name, '.inner') ORDER BY name`,
      'JSONEachRow',
      'listing the output tables',
    ),
  );
  if (tables.length === 0) {
    throw new SqlError(
      'NO_OUTPUT_TABLES',
      'The SQL created no table in the output database; create one with CREATE TABLE output.<name> AS SELECT …',
    );
  }
  const sources: ScopeSource[] = [];
  for (const { name } of tables) {
    const columns = jsonRows<{ name: string; type: string }>(
      await run(
        `SELECT name, type FROM system.columns WHERE database = ${quoteString(output)} AND table = ${quoteString(name)} ORDER BY position`,
        'JSONEachRow',
        `reading the columns of output.${name}`,
      ),
    );
    sources.push({ name, table: qualifiedName(output, name), columns });
  }
  return sources;
}

async function exportScope(
  source: ScopeSource,
  job: SqlJob,
  run: Run,
  exportTo: Export,
): Promise<ScopeOutput> {
  const activity = `exporting scope "${source.name}"`;
  const rows = Number((await run(`SELECT count() FROM ${source.table}`, 'TabSeparated', activity)).trim());
  if (rows > job.limits.maxRowsPerScope) {
    throw new SqlError(
      'ROW_LIMIT_EXCEEDED',
      `Scope "${source.name}" has ${rows} rows, more than the limit of ${job.limits.maxRowsPerScope} rows per scope ` +
        '(limits.maxRowsPerScope). Filter or aggregate the rows in the SQL, or raise the limit.',
    );
  }
  const path = join(job.outputDir, `${scopeFileName(source.name)}.jsonl`);
  const asText = rows > 0 ? await unsafeIntegerColumns(source, run, activity) : [];
  const replace =
    asText.length === 0
      ? ''
      : ` REPLACE (${asText.map((c) => `toString(${quoteIdentifier(c)}) AS ${quoteIdentifier(c)}`).join(', ')})`;
  await exportTo(`SELECT *${replace} FROM ${source.table}`, path, rows, activity);
  return { name: source.name, columns: source.columns.map((column) => column.name), rows, path };
}

/** The 64-bit-or-wider integer columns holding a value a JSON number cannot represent exactly. */
async function unsafeIntegerColumns(source: ScopeSource, run: Run, activity: string): Promise<string[]> {
  const wide = source.columns
    .filter((column) => WIDE_INTEGER_TYPE.test(column.type))
    .map((column) => column.name);
  if (wide.length === 0) return [];
  const checks = wide.map(
    (c) =>
      `max(${quoteIdentifier(c)}) > ${MAX_SAFE_INTEGER} OR min(${quoteIdentifier(c)}) < -${MAX_SAFE_INTEGER}`,
  );
  const flags = (await run(`SELECT ${checks.join(', ')} FROM ${source.table}`, 'TabSeparated', activity))
    .trim()
    .split('\t');
  return wide.filter((_, i) => flags[i] === '1' || flags[i] === 'true');
}

/** A file name for a scope: the name itself when it is plain, else with other characters %-encoded. */
function scopeFileName(scope: string): string {
  return scope.replace(/[^A-Za-z0-9_-]/gu, (c) =>
    [...Buffer.from(c, 'utf8')].map((byte) => `%${byte.toString(16).padStart(2, '0')}`).join(''),
  );
}

function jsonRows<T>(text: string): T[] {
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as T);
}
