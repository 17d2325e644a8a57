import type { PreparedTable, SqlJob } from '../../../ports/sql-engine.ts';
import { nullableStringColumns, quoteString } from '../clickhouse-sql.ts';
import {
  EXPORT_SETTINGS,
  jobSettings,
  type ScriptDatabase,
  type Settings,
  type SqlJobSession,
} from '../sql-job.ts';

/** The part of a chDB `Session` a job needs: synchronous queries returning text. */
export interface QuerySession {
  query(sql: string, format?: string): string;
}

/**
 * One job in a chDB session of its own (the runner's process): the script's databases are real
 * databases of the same names, settings are session state (`SET`), and the script runs as one
 * multi-statement query, exactly as written.
 */
export class ChdbJobSession implements SqlJobSession {
  readonly engineName = 'chDB';
  private exportSettingsApplied = false;

  constructor(
    private readonly session: QuerySession,
    private readonly job: SqlJob,
  ) {
    this.set({ session_timezone: 'UTC' });
  }

  database(name: ScriptDatabase): string {
    return name;
  }

  collection(name: string): string {
    return name;
  }

  localize(sql: string): string {
    return sql;
  }

  setup(sql: string): Promise<void> {
    return this.attempt(() => {
      this.session.query(sql, 'Null');
    });
  }

  load(target: string, table: PreparedTable): Promise<void> {
    const structure = quoteString(nullableStringColumns(table.columns));
    return this.setup(
      `INSERT INTO ${target} SELECT * FROM file(${quoteString(table.path)}, 'TabSeparated', ${structure})`,
    );
  }

  runScript(script: string): Promise<void> {
    return this.attempt(() => {
      // Session settings the script may change with SET, as a chDB user would expect; the runner's
      // process limit and the server-wide memory cap still bound it.
      this.set(jobSettings(this.job.limits));
      this.session.query('USE connector', 'Null');
      // The Null format discards what the script's SELECTs return instead of buffering it here.
      this.session.query(script, 'Null');
    });
  }

  query(sql: string, format: 'TabSeparated' | 'JSONEachRow'): Promise<string> {
    return this.attempt(() => {
      this.applyExportSettings();
      return this.session.query(sql, format);
    });
  }

  exportTo(select: string, path: string): Promise<void> {
    return this.attempt(() => {
      this.applyExportSettings();
      this.session.query(`${select} INTO OUTFILE ${quoteString(path)} TRUNCATE FORMAT JSONEachRow`, 'Null');
    });
  }

  /** The job's limits and the export settings, set again after the script so it cannot change them. */
  private applyExportSettings(): void {
    if (this.exportSettingsApplied) return;
    this.set({ ...jobSettings(this.job.limits), ...EXPORT_SETTINGS });
    this.exportSettingsApplied = true;
  }

  private set(settings: Settings): void {
    const assignments = Object.entries(settings).map(
      ([name, value]) => `${name} = ${typeof value === 'number' ? value : quoteString(value)}`,
    );
    this.session.query(`SET ${assignments.join(', ')}`, 'Null');
  }

  /** chDB's session is synchronous; a failure becomes a rejection like the other engine's. */
  private async attempt<T>(work: () => T): Promise<T> {
    return work();
  }
}
