/** Limits on a connector's SQL (SPEC §4), all settable. */
export interface SqlLimits {
  /** Default 300. */
  maxExecutionSeconds: number;
  /** Default 10 GB. */
  maxMemoryBytes: number;
  /** Default 10,000,000. */
  maxRowsPerScope: number;
}

export const DEFAULT_SQL_LIMITS: SqlLimits = {
  maxExecutionSeconds: 300,
  maxMemoryBytes: 10_000_000_000,
  maxRowsPerScope: 10_000_000,
};

/** One row of `meta.current_execution`. */
export interface CurrentExecutionMeta {
  execution_id: string;
  connector_id: string;
  connector_api_name: string;
  trigger_type: string;
  initiated_by: string;
  file_name: string;
  file_size: number;
  is_dry_run: boolean;
  started_at: string;
}

/** A table ready to load: a UTF-8 TabSeparated file (`\N` = NULL) with no header, all columns strings. */
export interface PreparedTable {
  /** Normalised table name in the target database, e.g. `vendors_csv`. */
  name: string;
  /** Normalised column names, in order. */
  columns: string[];
  /** Local path of the TabSeparated file. */
  path: string;
  rows: number;
}

export interface SqlJob {
  executionId: string;
  /** Input tables in page order; `input.page_idx_<n>` views alias them. */
  inputs: PreparedTable[];
  /**
   * Views the platform adds to database `input` after the tables, e.g. `input.webhooks` over
   * `input.webhooks_raw`. `select` is ClickHouse SQL that names tables as scripts do (`input.<table>`).
   */
  inputViews: Array<{ name: string; select: string }>;
  /** `records.<object>` tables from the connector's reference data. */
  referenceData: PreparedTable[];
  /** The script, or null for no SQL: the single input table becomes the `default` scope. */
  script: string | null;
  parameters: Record<string, string>;
  currentExecution: CurrentExecutionMeta;
  /** Named collections: secret name → key/value members. Never logged. */
  secrets: Record<string, Record<string, string>>;
  /** Directory where the engine writes one `<scope>.jsonl` (JSONEachRow) file per scope. */
  outputDir: string;
  limits: SqlLimits;
}

export interface ScopeOutput {
  name: string;
  /** Column names in table order. */
  columns: string[];
  rows: number;
  /** Local path of the JSONEachRow file. */
  path: string;
}

export interface SqlResult {
  scopes: ScopeOutput[];
}

/**
 * Runs a connector's SQL over its prepared input and returns its scopes. chDB locally, ClickHouse Cloud
 * in AWS; the same script gives the same scopes on both. Failures reject with an `SqlError` carrying
 * the ClickHouse message.
 */
export interface SqlEngine {
  run(job: SqlJob): Promise<SqlResult>;
}
