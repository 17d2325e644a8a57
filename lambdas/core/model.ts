/**
 * Plain data shared by the core, the ports and the pipeline.
 */

/**
 * A value of a record field, stored normalised:
 * text, longtext, email, phone (E.164), dropdown and radio (the option label): string;
 * integer, decimal, money: number; checkbox: boolean; date: `YYYY-MM-DD`; datetime: ISO 8601 UTC
 * (`2024-05-01T13:45:00.000Z`); checkboxes: option labels; relationship: the related record's id.
 * An unset field is absent from `fields` (never null).
 */
export type FieldValue = string | number | boolean | string[];

export interface StoredRecord {
  id: string;
  /** Object api name. */
  object: string;
  archived: boolean;
  createdAt: string;
  updatedAt: string;
  fields: Record<string, FieldValue>;
}

/**
 * A resolved variable value: string, email, phone (E.164), uuid: string; number: number;
 * boolean: boolean; date: `YYYY-MM-DD`; datetime: ISO 8601 UTC; arrays: a list of those. null = blank.
 */
export type ScalarValue = string | number | boolean;
export type VariableValue = ScalarValue | ScalarValue[] | null;

/** An error or warning on a row, with a stable code (`INVALID_DATE`, `RELATED_RECORD_NOT_FOUND`…). */
export interface RowIssue {
  code: string;
  message: string;
  /** The variable or field the issue is about, when there is one. */
  variable?: string;
  field?: string;
}

/** One row of a scope after variable resolution. `row` is the 1-based row number in the scope. */
export interface ResolvedRow {
  row: number;
  values: Record<string, VariableValue>;
  /** Empty when the row is valid. */
  errors: RowIssue[];
}

export const ROW_OUTCOMES = ['created', 'updated', 'unchanged', 'skipped', 'failed', 'unprocessed'] as const;
export type RowOutcome = (typeof ROW_OUTCOMES)[number];

/** What one load step did with one row. */
export interface RowResult {
  row: number;
  outcome: RowOutcome;
  recordId: string | null;
  /** 1-based index of the matching rule that decided the outcome; null when none did. */
  matchedRule: number | null;
  /** Reason code for skipped and unchanged rows (`MULTIPLE_MATCHES`, `DIFF_UNCHANGED`…). */
  code: string | null;
  errors: RowIssue[];
  warnings: RowIssue[];
  /** The field values written (created or updated), keyed by field api name. */
  written: Record<string, FieldValue | null>;
  /** Hash of the row's mapped variable values, for diff checking. */
  hash: string;
}

export const EXECUTION_STATUSES = [
  'queued',
  'running',
  'succeeded',
  'partial_success',
  'failed',
  'cancelled',
] as const;
export type ExecutionStatus = (typeof EXECUTION_STATUSES)[number];
export const TERMINAL_STATUSES: ReadonlySet<ExecutionStatus> = new Set([
  'succeeded',
  'partial_success',
  'failed',
  'cancelled',
]);

export const CONNECTOR_STATUSES = ['setup', 'operational', 'need_attention', 'inactive'] as const;
export type ConnectorStatus = (typeof CONNECTOR_STATUSES)[number];

export const TRIGGER_TYPES = ['upload', 's3', 'api', 'webhook', 'schedule', 'replay'] as const;
export type TriggerType = (typeof TRIGGER_TYPES)[number];

export const EXECUTION_STAGES = ['queued', 'sql', 'variables', 'load', 'report', 'finalize', 'done'] as const;
export type ExecutionStage = (typeof EXECUTION_STAGES)[number];

export interface ScopeCounts {
  rows: number;
  valid: number;
  invalid: number;
}

export interface StepCounts {
  name: string;
  object: string;
  created: number;
  updated: number;
  unchanged: number;
  skipped: number;
  failed: number;
  unprocessed: number;
}

export interface ExecutionCounts {
  scopes: Record<string, ScopeCounts>;
  steps: StepCounts[];
}

export interface ExecutionError {
  code: string;
  message: string;
}

export interface Execution {
  id: string;
  connectorId: string;
  connectorApiName: string;
  connectorName: string;
  connectorVersion: number;
  status: ExecutionStatus;
  dryRun: boolean;
  diffCheck: boolean;
  trigger: TriggerType;
  initiatedBy: string;
  createdAt: string;
  startedAt: string | null;
  endedAt: string | null;
  stage: ExecutionStage;
  progress: { rowsDone: number; rowsTotal: number; chunksDone: number; chunksTotal: number };
  counts: ExecutionCounts;
  error: ExecutionError | null;
  /**
   * `table` names the input table of a single-table file made by the platform instead of by its file
   * name: `webhooks_raw` for webhook batches, `schedule` for scheduler ticks.
   */
  inputFile: { name: string; size: number; key: string; table?: string } | null;
  sqlOutputKey: string | null;
  reportKey: string | null;
  cancelRequested: boolean;
  /**
   * Why loading stopped before the end, once it has: a cancel seen at a chunk boundary, the stop rule, or
   * a chunk that failed. Absent or null while loading runs (or ran) to the end.
   */
  stop?: RunStop | null;
  /** The execution-ended webhook, once the run ended with a URL set: how delivery ended, and every attempt. */
  webhook?: WebhookDelivery | null;
  /** True once the execution-ended webhook and emails were sent (whatever their outcome). */
  notified?: boolean;
}

export interface RunStop {
  /** Also the code of every row the run never reached (`unprocessed`). */
  code: 'CANCELLED' | 'STOP_RULE' | 'EXECUTION_FAILED';
  error: ExecutionError | null;
}

export interface WebhookAttempt {
  at: string;
  durationMs: number;
  /** `http` with its status, `network` with a message, or `refused` (a target address that is not allowed). */
  outcome:
    | { kind: 'http'; status: number }
    | { kind: 'network'; message: string }
    | { kind: 'refused'; reason: string };
}

export interface WebhookDelivery {
  status: 'delivered' | 'rejected' | 'expired' | 'refused' | 'pending';
  attempts: WebhookAttempt[];
}
