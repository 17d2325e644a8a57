import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { SqlError } from '../../../core/errors.ts';
import type { PreparedTable, ScopeOutput, SqlJob, SqlResult } from '../../../ports/sql-engine.ts';
import { nullableStringColumns, qualifiedName, quoteIdentifier, quoteString } from './clickhouse-sql.ts';
import { engineFailure, secretValuesOf, sqlErrorFromEngine } from './sql-errors.ts';

/** The part of a chDB `Session` a job needs: synchronous queries returning text. */
export interface QuerySession {
  query(sql: string, format?: string): string;
}

/** The scope of a connector without SQL: its single input table. */
export const DEFAULT_SCOPE = 'default';

const DATABASES = ['input', 'output', 'meta', 'connector', 'records'] as const;

/** Integers beyond ±(2^53 − 1) lose precision as JSON numbers, so such columns are exported as strings. */
const MAX_SAFE_INTEGER = Number.MAX_SAFE_INTEGER;
const WIDE_INTEGER_TYPE = /^(?:Nullable\(|LowCardinality\()*U?Int(?:64|128|256)\)*$/;

/**
 * Settings for the JSONEachRow export of scopes, applied after the script so it cannot change them:
 * 64-bit integers and decimals as JSON numbers (wide integer columns holding unsafe values are
 * converted to strings first), `Date` as `YYYY-MM-DD`, `DateTime` as ISO 8601 UTC with its `Z`, so a
 * `datetime` variable never reads a SQL instant as local time in the connector's time zone.
 */
const EXPORT_SETTINGS = [
  'output_format_json_quote_64bit_integers = 0',
  'output_format_json_quote_64bit_floats = 0',
  'output_format_json_quote_decimals = 0',
  'output_format_json_escape_forward_slashes = 0',
  "date_time_output_format = 'iso'",
];

/**
 * Runs one SqlJob in a fresh chDB session (SPEC §4): loads the inputs, reference data, parameters,
 * execution metadata and secrets; runs the script in database `connector` under the job's limits;
 * and exports every table of database `output` (or, with no script, the single input table as scope
 * `default`) to `<outputDir>/<scope>.jsonl`. Throws SqlError; every message has the secrets redacted.
 */
export function runSqlJob(session: QuerySession, job: SqlJob): SqlResult {
  const secretValues = secretValuesOf(job.secrets);
  const setup = (sql: string): void => {
    try {
      session.query(sql, 'Null');
    } catch (error) {
      throw engineFailure('chDB could not prepare the SQL environment', error, secretValues);
    }
  };

  // UTC, as ClickHouse Cloud servers run, so the same script gives the same dates on both.
  setup("SET session_timezone = 'UTC'");
  for (const database of DATABASES) setup(`CREATE DATABASE ${quoteIdentifier(database)}`);
  job.inputs.forEach((table) => setup(loadTableSql('input', table)));
  job.inputs.forEach((table, index) => {
    const view = `page_idx_${index}`;
    // A file literally named page_idx_<n> keeps its name; its position alias is then not created.
    if (job.inputs.some((input) => input.name === view)) return;
    setup(
      `CREATE VIEW ${qualifiedName('input', view)} AS SELECT * FROM ${qualifiedName('input', table.name)}`,
    );
  });
  for (const view of job.inputViews)
    setup(`CREATE VIEW ${qualifiedName('input', view.name)} AS ${view.select}`);
  job.referenceData.forEach((table) => setup(loadTableSql('records', table)));
  setupMeta(job, setup);
  for (const [name, members] of Object.entries(job.secrets)) {
    const assignments = Object.entries(members).map(
      ([key, value]) => `${quoteIdentifier(key)} = ${quoteString(value)}`,
    );
    if (assignments.length > 0)
      setup(`CREATE NAMED COLLECTION ${quoteIdentifier(name)} AS ${assignments.join(', ')}`);
  }
  setup(
    `SET max_execution_time = ${Math.max(1, Math.ceil(job.limits.maxExecutionSeconds))}, ` +
      `max_memory_usage = ${Math.max(0, Math.floor(job.limits.maxMemoryBytes))}`,
  );
  setup('USE connector');

  const script = job.script?.trim() ? job.script : null;
  if (script !== null) {
    try {
      // The Null format discards what the script's SELECTs return instead of buffering it here.
      session.query(script, 'Null');
    } catch (error) {
      throw sqlErrorFromEngine(error, job.limits, secretValues);
    }
  }

  for (const setting of EXPORT_SETTINGS) setup(`SET ${setting}`);
  mkdirSync(job.outputDir, { recursive: true });
  const run = (sql: string, format: string, activity: string): string => {
    try {
      return session.query(sql, format);
    } catch (error) {
      throw sqlErrorFromEngine(error, job.limits, secretValues, activity);
    }
  };
  const sources = script === null ? [defaultScopeSource(job)] : outputScopeSources(run);
  return { scopes: sources.map((source) => exportScope(source, job, run)) };
}

function loadTableSql(database: string, table: PreparedTable): string {
  if (table.columns.length === 0)
    throw new SqlError('SQL_ENGINE_FAILED', `Table ${database}.${table.name} has no columns.`);
  const structure = nullableStringColumns(table.columns);
  const target = qualifiedName(database, table.name);
  return (
    `CREATE TABLE ${target} (${structure}) ENGINE = MergeTree ORDER BY tuple(); ` +
    `INSERT INTO ${target} SELECT * FROM file(${quoteString(table.path)}, 'TabSeparated', ${quoteString(structure)})`
  );
}

function setupMeta(job: SqlJob, setup: (sql: string) => void): void {
  setup(`CREATE TABLE meta.parameters (name String, value String) ENGINE = Memory`);
  const parameters = Object.entries(job.parameters);
  if (parameters.length > 0) {
    const rows = parameters.map(([name, value]) => `(${quoteString(name)}, ${quoteString(value)})`);
    setup(`INSERT INTO meta.parameters VALUES ${rows.join(', ')}`);
  }
  const meta = job.currentExecution;
  setup(
    'CREATE TABLE meta.current_execution (execution_id String, connector_id String, connector_api_name String, ' +
      'trigger_type String, initiated_by String, file_name String, file_size UInt64, is_dry_run Bool, ' +
      "started_at DateTime64(3, 'UTC')) ENGINE = Memory",
  );
  const text = [
    meta.execution_id,
    meta.connector_id,
    meta.connector_api_name,
    meta.trigger_type,
    meta.initiated_by,
    meta.file_name,
  ].map(quoteString);
  setup(
    `INSERT INTO meta.current_execution SELECT ${text.join(', ')}, ${Math.max(0, Math.trunc(meta.file_size))}, ` +
      `${meta.is_dry_run ? 'true' : 'false'}, parseDateTime64BestEffort(${quoteString(meta.started_at)}, 3, 'UTC')`,
  );
}

/** Where a scope's rows come from, its columns with their ClickHouse types. */
interface ScopeSource {
  name: string;
  table: string;
  columns: { name: string; type: string }[];
}

type Run = (sql: string, format: string, activity: string) => string;

function defaultScopeSource(job: SqlJob): ScopeSource {
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
    table: qualifiedName('input', only.name),
    columns: only.columns.map((name) => ({ name, type: 'Nullable(String)' })),
  };
}

function outputScopeSources(run: Run): ScopeSource[] {
  const tables = jsonRows<{ name: string }>(
    run(
      // A materialised view's hidden `.inner…` storage table is not a scope of its own.
      "SELECT name FROM system.tables WHERE database = 'output' AND NOT startsWith(name, '.inner') ORDER BY name",
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
  return tables.map(({ name }) => ({
    name,
    table: qualifiedName('output', name),
    columns: jsonRows<{ name: string; type: string }>(
      run(
        `SELECT name, type FROM system.columns WHERE database = 'output' AND table = ${quoteString(name)} ORDER BY position`,
        'JSONEachRow',
        `reading the columns of output.${name}`,
      ),
    ),
  }));
}

function exportScope(source: ScopeSource, job: SqlJob, run: Run): ScopeOutput {
  const activity = `exporting scope "${source.name}"`;
  const rows = Number(run(`SELECT count() FROM ${source.table}`, 'TabSeparated', activity).trim());
  if (rows > job.limits.maxRowsPerScope) {
    throw new SqlError(
      'ROW_LIMIT_EXCEEDED',
      `Scope "${source.name}" has ${rows} rows, more than the limit of ${job.limits.maxRowsPerScope} rows per scope ` +
        '(limits.maxRowsPerScope). Filter or aggregate the rows in the SQL, or raise the limit.',
    );
  }
  const path = join(job.outputDir, `${scopeFileName(source.name)}.jsonl`);
  const asText = rows > 0 ? unsafeIntegerColumns(source, run, activity) : [];
  const replace =
    asText.length === 0
      ? ''
      : ` REPLACE (${asText.map((c) => `toString(${quoteIdentifier(c)}) AS ${quoteIdentifier(c)}`).join(', ')})`;
  run(
    `SELECT *${replace} FROM ${source.table} INTO OUTFILE ${quoteString(path)} TRUNCATE FORMAT JSONEachRow`,
    'Null',
    activity,
  );
  return { name: source.name, columns: source.columns.map((column) => column.name), rows, path };
}

/** The 64-bit-or-wider integer columns holding a value a JSON number cannot represent exactly. */
function unsafeIntegerColumns(source: ScopeSource, run: Run, activity: string): string[] {
  const wide = source.columns
    .filter((column) => WIDE_INTEGER_TYPE.test(column.type))
    .map((column) => column.name);
  if (wide.length === 0) return [];
  const checks = wide.map(
    (c) =>
      `max(${quoteIdentifier(c)}) > ${MAX_SAFE_INTEGER} OR min(${quoteIdentifier(c)}) < -${MAX_SAFE_INTEGER}`,
  );
  const flags = run(`SELECT ${checks.join(', ')} FROM ${source.table}`, 'TabSeparated', activity)
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
