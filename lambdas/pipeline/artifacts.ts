/**
 * Where an execution's files live in the blob store. Stages hand each other these keys, never rows,
 * so the same stages run in Lambda behind Step Functions and in one local process.
 */
const pad = (n: number): string => String(n).padStart(6, '0');

export const artifacts = {
  input: (id: string, fileName: string) => `executions/${id}/input/${fileName}`,
  sqlScope: (id: string, scope: string) => `executions/${id}/sql/${scope}.jsonl`,
  plan: (id: string) => `executions/${id}/plan.json`,
  variablesChunk: (id: string, scopeIndex: number, chunk: number) =>
    `executions/${id}/variables/${scopeIndex}/${pad(chunk)}.jsonl`,
  resultsChunk: (id: string, stepIndex: number, chunk: number) =>
    `executions/${id}/results/${stepIndex}/${pad(chunk)}.jsonl`,
  baseline: (id: string, stepIndex: number) => `executions/${id}/baseline/${stepIndex}.tsv`,
  /** A dry run's would-be writes, saved where an invocation stopped: before chunk `nextChunk` of a step. */
  dryRunState: (id: string, stepIndex: number, nextChunk: number) =>
    `executions/${id}/dry-run/${stepIndex}-${pad(nextChunk)}.json`,
  report: (id: string) => `executions/${id}/report.xlsx`,
};

/** Where a webhook connector's received calls wait (SPEC §8 "Webhook"; `pipeline/webhooks.ts`). */
export type WebhookCallFolder = 'pending' | 'samples';

/**
 * Webhook calls of a connector: `pending/` until their window's batch is built, `samples/` while the
 * connector is not active, and `batches/` the claim of a batch being built (the keys it takes). A call's
 * file name starts with its receipt time in zero-padded milliseconds, so listing order is arrival order.
 */
export const webhookBlobs = {
  folder: (connectorId: string, folder: WebhookCallFolder) => `webhooks/${connectorId}/${folder}`,
  call: (connectorId: string, folder: WebhookCallFolder, receivedAt: number, receiptId: string) =>
    `webhooks/${connectorId}/${folder}/${String(receivedAt).padStart(13, '0')}-${receiptId}.json`,
  batches: (connectorId: string) => `webhooks/${connectorId}/batches`,
  batch: (connectorId: string, executionId: string) => `webhooks/${connectorId}/batches/${executionId}.json`,
};

/** What the SQL and variable stages found, read by every later stage. */
export interface ExecutionPlan {
  scopes: Array<{
    name: string;
    columns: string[];
    rows: number;
    valid: number;
    invalid: number;
    chunks: number;
  }>;
  /** One entry per load step, in order: the index of its scope in `scopes`. */
  steps: Array<{ name: string; object: string; scopeIndex: number }>;
  /** The diff-check baseline, pinned when the run starts: the previous successful live run, if any. */
  diffBaselineExecutionId: string | null;
}
