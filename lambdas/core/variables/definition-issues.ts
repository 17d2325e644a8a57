import type { DefinitionIssue } from '../errors.ts';
import type { RowIssue } from '../model.ts';
import { createCoercionContext, createValueReader } from './coerce.ts';
import type { CoercionContext } from './coerce.ts';
import type { ResolveOptions, VariableDeclaration } from './declaration.ts';
import {
  declaredInputFormat,
  hasInputFormats,
  inputFormatsOf,
  outputFormatNamed,
  outputFormatsOf,
} from './formats.ts';

const DEFAULT_OPTIONS: ResolveOptions = { timezone: 'UTC', defaultCountry: 'US' };

// An unknown time zone or country is a settings problem, reported where settings are checked; the
// static values are still checked, with the defaults.
function contextOrDefault(options: ResolveOptions): CoercionContext {
  try {
    return createCoercionContext(options);
  } catch {
    return createCoercionContext(DEFAULT_OPTIONS);
  }
}

/** Types whose values are lists of their own kind; SPEC §5 gives no array form to the others. */
const ARRAY_TYPES: ReadonlySet<string> = new Set(['string', 'number', 'email', 'phone']);

/**
 * The problems of a connector's variable declarations that its zod schema cannot see: a name used
 * twice, an `array` on a type without arrays, an `inputFormat` or `outputFormat` the type does not
 * have, and a static `value` that does not read as its type (or is blank while `required`). Static
 * datetimes and phones are read with `options` (default `UTC` and `US`, the settings defaults).
 * Paths index `variables`, e.g. `variables[2].array`.
 */
export function variableDefinitionIssues(
  variables: readonly VariableDeclaration[],
  options: ResolveOptions = DEFAULT_OPTIONS,
): DefinitionIssue[] {
  const issues: DefinitionIssue[] = [];
  const firstIndex = new Map<string, number>();
  let context: CoercionContext | undefined;

  variables.forEach((v, i) => {
    const at = (key: string) => `variables[${i}].${key}`;
    const first = firstIndex.get(v.name);
    if (first === undefined) {
      firstIndex.set(v.name, i);
    } else {
      const message = `the name "${v.name}" is already used by variables[${first}]; names must be unique`;
      issues.push({ path: at('name'), message });
    }

    if (v.array !== undefined && !ARRAY_TYPES.has(v.type)) {
      issues.push({
        path: at('array'),
        message: `${v.type} variables cannot be arrays (variable ${v.name}); remove "array"`,
      });
    }
    const inputFormatOk = v.inputFormat === undefined || declaredInputFormat(v) !== undefined;
    if (!inputFormatOk) {
      const known = hasInputFormats(v.type)
        ? `use one of ${inputFormatsOf(v.type).join(', ')}`
        : `${v.type} variables take no inputFormat`;
      issues.push({
        path: at('inputFormat'),
        message: `unknown ${v.type} inputFormat "${v.inputFormat}" (variable ${v.name}); ${known}`,
      });
    }
    if (v.outputFormat !== undefined && outputFormatNamed(v.type, v.outputFormat) === undefined) {
      const formats = outputFormatsOf(v.type);
      const known =
        formats.length > 0 ? `use one of ${formats.join(', ')}` : `${v.type} variables take no outputFormat`;
      issues.push({
        path: at('outputFormat'),
        message: `unknown ${v.type} outputFormat "${v.outputFormat}" (variable ${v.name}); ${known}`,
      });
    }

    if (v.value !== undefined && inputFormatOk) {
      context ??= contextOrDefault(options);
      const problem = staticValueProblem(v, context);
      if (problem !== undefined) issues.push({ path: at('value'), message: problem });
    }
  });
  return issues;
}

/** Why a static value cannot be used, or undefined when it reads as its type. */
function staticValueProblem(variable: VariableDeclaration, context: CoercionContext): string | undefined {
  const errors: RowIssue[] = [];
  const value = createValueReader(variable, declaredInputFormat(variable), context)(variable.value, errors);
  if (errors[0] !== undefined) return `the static value ${errors[0].message}`;
  if (value === null && variable.required === true) {
    return `the static value of required variable ${variable.name} is blank`;
  }
  return undefined;
}
