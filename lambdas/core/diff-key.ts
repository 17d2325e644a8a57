import type { LoadStep } from './connector-schema.ts';
import type { VariableValue } from './model.ts';

/**
 * The variables a step reads: those of its matching rules (a changed match value can route the row to
 * another record) and of its mapping rules, sorted and without duplicates.
 */
export function stepVariableNames(step: Pick<LoadStep, 'matching' | 'mapping'>): string[] {
  const names = [...step.matching.map((r) => r.variable), ...step.mapping.flatMap((r) => r.variables)];
  return [...new Set(names)].sort();
}

/**
 * The canonical text of what a step loads from a row, for diff checking (SPEC §6): the pipeline hashes it,
 * prefixed with the step's `stepFingerprint`, and skips the row as `DIFF_UNCHANGED` when the previous
 * successful live run loaded the same hash. Stable JSON with sorted keys; a missing value counts as blank.
 */
export function diffKey(
  stepIndex: number,
  variableNames: readonly string[],
  values: Readonly<Record<string, VariableValue>>,
): string {
  const picked: Record<string, VariableValue> = {};
  for (const name of variableNames) picked[name] = values[name] ?? null;
  return canonicalJson({ step: stepIndex, values: picked });
}

/**
 * What of a step decides how a row is loaded: its object, matching and mapping rules (not its name or
 * triggers). Part of every diff hash, so editing those rules invalidates the step's baseline.
 */
export function stepFingerprint(step: Pick<LoadStep, 'object' | 'matching' | 'mapping'>): string {
  return canonicalJson({ object: step.object, matching: step.matching, mapping: step.mapping });
}

/** JSON with object keys sorted at every level and `undefined` members left out, so equal data gives equal text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map((v) => (v === undefined ? null : sortKeys(v)));
  if (value === null || typeof value !== 'object') return value;
  const sorted: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) {
    const member = (value as Record<string, unknown>)[key];
    if (member !== undefined) sorted[key] = sortKeys(member);
  }
  return sorted;
}
