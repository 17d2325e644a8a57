import type { RunOutcome } from '../core/execution-status.ts';
import type { ResolvedRow, RowResult } from '../core/model.ts';
import { findField } from '../core/object-schema.ts';
import { writeReport, type ReportInput } from '../adapters/report/xlsx-report-writer.ts';
import { artifacts, type ExecutionPlan } from './artifacts.ts';
import { loadContext } from './context.ts';
import { readJsonlBlob } from './jsonl.ts';
import type { Ports } from './ports.ts';

export type { RunOutcome };

/**
 * Writes the XLSX report (SPEC §7) from the stored SQL output, resolved rows and row results, streaming
 * every sheet. Rows a stopped run never reached are reported `unprocessed`.
 */
export async function buildReportStage(
  ports: Ports,
  executionId: string,
  plan: ExecutionPlan,
  outcome: RunOutcome,
): Promise<string> {
  const { execution, definition } = await loadContext(ports, executionId);
  await ports.executions.update(executionId, { stage: 'report' });
  const endedAt = ports.clock.now();
  const started = execution.startedAt ? new Date(execution.startedAt) : endedAt;

  const summary: ReportInput['summary'] = [
    ['Execution', execution.id],
    ['Connector', execution.connectorName],
    ['Connector API name', execution.connectorApiName],
    ['Connector version', execution.connectorVersion],
    ['Mode', execution.dryRun ? 'Dry run' : 'Live'],
    ['Status', outcome.status],
    ['Trigger', execution.trigger],
    ['Initiated by', execution.initiatedBy],
    ['Started at', started.toISOString()],
    ['Ended at', endedAt.toISOString()],
    ['Duration (s)', Math.round((endedAt.getTime() - started.getTime()) / 100) / 10],
    ['Input file', execution.inputFile?.name ?? null],
    ['Input file size (bytes)', execution.inputFile?.size ?? null],
    ['Diff check', execution.diffCheck ? 'On' : 'Off'],
    ['Error', outcome.error ? `${outcome.error.code}: ${outcome.error.message}` : null],
  ];
  const counts = (await ports.executions.get(executionId))?.counts ?? execution.counts;
  for (const scope of plan.scopes) {
    const c = counts.scopes[scope.name];
    summary.push([`Scope ${scope.name}: rows`, c?.rows ?? scope.rows]);
    summary.push([`Scope ${scope.name}: valid`, c?.valid ?? scope.valid]);
    summary.push([`Scope ${scope.name}: invalid`, c?.invalid ?? scope.invalid]);
  }
  for (const [i, step] of counts.steps.entries()) {
    for (const key of ['created', 'updated', 'unchanged', 'skipped', 'failed', 'unprocessed'] as const) {
      summary.push([`Step ${i + 1} ${step.name} (${step.object}): ${key}`, step[key]]);
    }
  }

  const input: ReportInput = {
    summary,
    sqlOutputs:
      definition.sql === null
        ? []
        : plan.scopes.map((scope) => ({
            scope: scope.name,
            columns: scope.columns,
            rows: readJsonlBlob<Record<string, unknown>>(
              ports.blobs,
              artifacts.sqlScope(executionId, scope.name),
            ),
          })),
    variables: plan.scopes.map((scope, scopeIndex) => ({
      scope: scope.name,
      variables: definition.variables
        .filter(
          (v) => (v.value !== undefined && v.scope === undefined) || (v.scope ?? scope.name) === scope.name,
        )
        .map((v) => v.name),
      rows: scopeRows(ports, executionId, scopeIndex, scope.chunks),
    })),
    steps: await Promise.all(
      definition.loadSteps.map(async (step, stepIndex) => {
        const object = await ports.connectors.getObject(step.object);
        const scopeIndex = plan.steps[stepIndex]!.scopeIndex;
        return {
          name: step.name,
          objectName: object?.name ?? step.object,
          scope: plan.scopes[scopeIndex]!.name,
          fields: step.mapping.map((m) =>
            object ? (findField(object, m.field)?.apiName ?? m.field) : m.field,
          ),
          rows: stepRows(ports, executionId, stepIndex, scopeIndex, plan, outcome.unprocessedCode),
        };
      }),
    ),
  };

  const key = artifacts.report(executionId);
  const path = await ports.blobs.stagingPath(key);
  await writeReport(path, input);
  await ports.blobs.commitLocal(key, path);
  await ports.executions.update(executionId, { reportKey: key });
  return key;
}

async function* scopeRows(
  ports: Ports,
  id: string,
  scopeIndex: number,
  chunks: number,
): AsyncGenerator<ResolvedRow> {
  for (let chunk = 0; chunk < chunks; chunk++) {
    yield* readJsonlBlob<ResolvedRow>(ports.blobs, artifacts.variablesChunk(id, scopeIndex, chunk));
  }
}

/** A step's results chunk by chunk; a chunk the run never reached yields its valid rows as unprocessed. */
async function* stepRows(
  ports: Ports,
  id: string,
  stepIndex: number,
  scopeIndex: number,
  plan: ExecutionPlan,
  unprocessedCode = 'EXECUTION_FAILED',
): AsyncGenerator<RowResult> {
  for (let chunk = 0; chunk < plan.scopes[scopeIndex]!.chunks; chunk++) {
    const resultsKey = artifacts.resultsChunk(id, stepIndex, chunk);
    if (await ports.blobs.exists(resultsKey)) {
      yield* readJsonlBlob<RowResult>(ports.blobs, resultsKey);
      continue;
    }
    for await (const row of readJsonlBlob<ResolvedRow>(
      ports.blobs,
      artifacts.variablesChunk(id, scopeIndex, chunk),
    )) {
      if (row.errors.length > 0) continue;
      yield unprocessedResult(row.row, unprocessedCode);
    }
  }
}

export function unprocessedResult(row: number, code: string): RowResult {
  return {
    row,
    outcome: 'unprocessed',
    recordId: null,
    matchedRule: null,
    code,
    errors: [],
    warnings: [],
    written: {},
    hash: '',
  };
}
