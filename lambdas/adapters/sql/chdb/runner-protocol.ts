import type { SqlJob, SqlResult } from '../../../ports/sql-engine.ts';

/** What the engine sends its child process over IPC: the job, and the chDB data directory to use. */
export interface RunnerRequest {
  job: SqlJob;
  dataDir: string;
}

/** What the child answers: the result, or an error already safe to show (secrets redacted). */
export type RunnerResponse = (
  | { ok: true; result: SqlResult }
  | { ok: false; error: { code: string; message: string; retryable: boolean } }
) & {
  /** The child's peak resident memory, for measurements. */
  peakRssBytes?: number;
};
