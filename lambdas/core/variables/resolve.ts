import { DefinitionError } from '../errors.ts';
import type { ResolvedRow, RowIssue, VariableValue } from '../model.ts';
import { createCoercionContext, createValueReader } from './coerce.ts';
import type { ValueReader } from './coerce.ts';
import type { ResolveOptions, VariableDeclaration } from './declaration.ts';
import { variableDefinitionIssues } from './definition-issues.ts';
import type { DetectedFormats } from './detect-formats.ts';
import { declaredInputFormat } from './formats.ts';
import { REQUIRED_MISSING } from './issues.ts';

/** Resolves one raw SQL output row; `rowNumber` is its 1-based number in the scope. */
export type RowResolver = (rawRow: Readonly<Record<string, unknown>>, rowNumber: number) => ResolvedRow;

type Step =
  | { kind: 'static'; name: string; value: VariableValue }
  | { kind: 'column'; name: string; source: string; required: boolean; read: ValueReader };

/**
 * A resolver for the rows of one scope (SPEC §5): every declared variable gets a value (null when
 * blank or invalid) and every problem of the row is collected, not just the first. `formats` comes
 * from {@link createFormatDetector}; a variable's explicit `inputFormat` wins over it.
 *
 * Everything that does not depend on the row is settled here, once: throws a `DefinitionError` when
 * the declarations have problems ({@link variableDefinitionIssues}) and an `ScError` when the time
 * zone or default country is unknown.
 */
export function createRowResolver(
  variables: readonly VariableDeclaration[],
  formats: Readonly<DetectedFormats>,
  options: ResolveOptions,
): RowResolver {
  const context = createCoercionContext(options);
  const issues = variableDefinitionIssues(variables, options);
  if (issues.length > 0) throw new DefinitionError('The connector variables', issues);

  const steps: Step[] = variables.map((v) => {
    const read = createValueReader(v, declaredInputFormat(v) ?? formats[v.name], context);
    // Static values were checked above, so reading one cannot fail.
    if (v.value !== undefined) return { kind: 'static', name: v.name, value: read(v.value, []) };
    return { kind: 'column', name: v.name, source: v.source ?? v.name, required: v.required === true, read };
  });

  return (rawRow, rowNumber) => {
    const values: Record<string, VariableValue> = {};
    const errors: RowIssue[] = [];
    for (const step of steps) {
      if (step.kind === 'static') {
        // A copy, so no row shares a list with another.
        values[step.name] = Array.isArray(step.value) ? [...step.value] : step.value;
        continue;
      }
      const present = Object.hasOwn(rawRow, step.source);
      const issuesBefore = errors.length;
      const value = present ? step.read(rawRow[step.source], errors) : null;
      values[step.name] = value;
      if (value === null && step.required && errors.length === issuesBefore) {
        errors.push(requiredMissing(step.name, step.source, present));
      }
    }
    return { row: rowNumber, values, errors };
  };
}

function requiredMissing(name: string, source: string, present: boolean): RowIssue {
  const message = present
    ? `required value is blank (variable ${name}${source === name ? '' : `, column "${source}"`})`
    : `required value is missing: the SQL output has no column "${source}" (variable ${name}); check the variable's "source" and the SQL`;
  return { code: REQUIRED_MISSING, message, variable: name };
}

interface CachedResolver {
  /** A copy, so that a caller changing its object in place cannot leave a stale resolver behind. */
  formats: Readonly<DetectedFormats>;
  timezone: string;
  defaultCountry: string;
  resolve: RowResolver;
}
// Callers resolve a scope row by row with the same arguments; preparing the variables once per scope
// instead of once per row matters at 200,000 rows. Keyed weakly, so a finished scope leaves nothing behind.
const resolvers = new WeakMap<readonly VariableDeclaration[], CachedResolver>();

/**
 * Resolve one raw row: {@link createRowResolver} for a single call. Repeated calls with the same
 * `variables` array and equal formats and options reuse the prepared resolver, so `variables` must not
 * be changed in place between calls.
 */
export function resolveRow(
  variables: readonly VariableDeclaration[],
  rawRow: Readonly<Record<string, unknown>>,
  rowNumber: number,
  formats: Readonly<DetectedFormats>,
  options: ResolveOptions,
): ResolvedRow {
  let cached = resolvers.get(variables);
  if (
    cached === undefined ||
    !sameFormats(cached.formats, formats) ||
    cached.timezone !== options.timezone ||
    cached.defaultCountry !== options.defaultCountry
  ) {
    const { timezone, defaultCountry } = options;
    const resolve = createRowResolver(variables, formats, options);
    cached = { formats: { ...formats }, timezone, defaultCountry, resolve };
    resolvers.set(variables, cached);
  }
  return cached.resolve(rawRow, rowNumber);
}

function sameFormats(a: Readonly<DetectedFormats>, b: Readonly<DetectedFormats>): boolean {
  if (a === b) return true;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  for (const key of keys) if (a[key] !== b[key] || !Object.hasOwn(b, key)) return false;
  return true;
}
