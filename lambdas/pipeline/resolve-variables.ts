import { ScError } from '../core/errors.ts';
import type { VariableDefinition } from '../core/connector-schema.ts';
import type { ResolvedRow, ScopeCounts } from '../core/model.ts';
import { createFormatDetector, resolveRow } from '../core/variables/index.ts';
import { artifacts, type ExecutionPlan } from './artifacts.ts';
import { loadContext } from './context.ts';
import { readJsonlBlob, toJsonl } from './jsonl.ts';
import type { Ports } from './ports.ts';
import type { SqlStageResult } from './run-sql.ts';

/**
 * Resolves the declared variables of every scope (SPEC §5): one pass detects each column's format,
 * a second resolves and validates every row and cuts the rows into load chunks of `chunkSize`.
 * Invalid rows stay in the chunks (for the report) and are never loaded.
 */
export async function resolveVariablesStage(
  ports: Ports,
  executionId: string,
  sql: SqlStageResult,
): Promise<ExecutionPlan> {
  const { definition, execution } = await loadContext(ports, executionId);
  await ports.executions.update(executionId, { stage: 'variables' });
  const connector = await ports.connectors.getConnector(execution.connectorId);
  const scopeNames = sql.scopes.map((s) => s.name);
  const scopeOf = defaultScopeResolver(scopeNames);

  const problems: string[] = [];
  definition.variables.forEach((v, i) => {
    if (v.value !== undefined && v.scope === undefined) return; // static values apply to every scope
    const scope = scopeOf(v.scope);
    if (scope === null) problems.push(scopeProblem(`variables[${i}] (${v.name})`, v.scope, scopeNames));
  });
  const steps = definition.loadSteps.map((step, i) => {
    const scope = scopeOf(step.scope);
    if (scope === null) problems.push(scopeProblem(`loadSteps[${i}] (${step.name})`, step.scope, scopeNames));
    return {
      name: step.name,
      object: step.object,
      scopeIndex: scope === null ? -1 : scopeNames.indexOf(scope),
    };
  });
  if (problems.length > 0) {
    throw new ScError('SCOPE_NOT_FOUND', problems.join('\n'));
  }

  const chunkSize = definition.settings.chunkSize;
  const plan: ExecutionPlan = {
    scopes: [],
    steps,
    diffBaselineExecutionId: execution.diffCheck ? (connector?.diffBaselineExecutionId ?? null) : null,
  };
  const counts: Record<string, ScopeCounts> = {};
  for (const [scopeIndex, scope] of sql.scopes.entries()) {
    const variables = definition.variables.filter(
      (v) => (v.value !== undefined && v.scope === undefined) || scopeOf(v.scope) === scope.name,
    );
    const key = artifacts.sqlScope(executionId, scope.name);
    const formats = await detectFormats(ports, key, variables);

    let rowNumber = 0;
    let valid = 0;
    let chunk: ResolvedRow[] = [];
    let chunks = 0;
    for await (const raw of readJsonlBlob<Record<string, unknown>>(ports.blobs, key)) {
      const resolved = resolveRow(variables, raw, ++rowNumber, formats, definition.settings);
      if (resolved.errors.length === 0) valid++;
      chunk.push(resolved);
      if (chunk.length === chunkSize) {
        await ports.blobs.put(artifacts.variablesChunk(executionId, scopeIndex, chunks++), toJsonl(chunk));
        chunk = [];
      }
    }
    if (chunk.length > 0) {
      await ports.blobs.put(artifacts.variablesChunk(executionId, scopeIndex, chunks++), toJsonl(chunk));
    }
    plan.scopes.push({ ...scope, rows: rowNumber, valid, invalid: rowNumber - valid, chunks });
    counts[scope.name] = { rows: rowNumber, valid, invalid: rowNumber - valid };
  }
  await ports.blobs.put(artifacts.plan(executionId), JSON.stringify(plan));
  await ports.executions.update(executionId, { counts: { scopes: counts, steps: [] } });
  return plan;
}

async function detectFormats(ports: Ports, key: string, variables: VariableDefinition[]) {
  const detector = createFormatDetector(variables);
  for await (const raw of readJsonlBlob<Record<string, unknown>>(ports.blobs, key)) detector.observe(raw);
  return detector.result();
}

/** Without SQL the only scope is `default`; with SQL, a variable or step with no scope reads the only scope. */
export function defaultScopeResolver(
  scopeNames: readonly string[],
): (scope: string | undefined) => string | null {
  return (scope) => {
    if (scope !== undefined) return scopeNames.includes(scope) ? scope : null;
    return scopeNames.length === 1 ? scopeNames[0]! : null;
  };
}

function scopeProblem(what: string, scope: string | undefined, scopes: readonly string[]): string {
  const known = scopes.join(', ') || '(none)';
  return scope === undefined
    ? `${what} names no scope, but the SQL produced several (${known}); set "scope" to one of them.`
    : `${what} reads scope "${scope}", but the SQL produced: ${known}.`;
}
