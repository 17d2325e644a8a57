import type { AnyVariableType, ConflictPolicy, MappingRule } from './connector-schema.ts';
import { DefinitionError } from './errors.ts';
import { isBlankValue, toFieldValue, type FormatScalar } from './field-values.ts';
import { listIds, matchValueKey } from './matching.ts';
import type { FieldValue, RowIssue, ScalarValue, StoredRecord, VariableValue } from './model.ts';
import { findField, type FieldDefinition, type FieldType, type ObjectDefinition } from './object-schema.ts';

/** What a load step knows about a variable it reads. Record variables have type `uuid`. */
export interface VariableInfo {
  type: AnyVariableType;
  array?: boolean;
}

/** The text form of a resolved value of `variable` (its `outputFormat` applied). */
export type FormatVariable = (value: ScalarValue, variable: string) => string;

/** Values of several variables mapped to one text field are joined with this. */
export const JOINED_VARIABLES_SEPARATOR = ' ';

/** The fixed inputs of one step's mapping: the same for every row. */
export interface MappingContext {
  /** The step's object. */
  object: ObjectDefinition;
  mapping: readonly MappingRule[];
  /** Every object by api name; relationship lookups read the related object's field. */
  objects: ReadonlyMap<string, ObjectDefinition>;
  /** The variables the step can read, record variables included, by name. */
  variables: Readonly<Record<string, VariableInfo>>;
  format: FormatVariable;
}

/** The look-up a relationship mapping rule needs for one row: the records of `object` whose `field` has `key`. */
export interface RowLookup {
  /** 0-based index of the mapping rule. */
  rule: number;
  /** Related object api name. */
  object: string;
  /** Api name of the related object's field. */
  field: string;
  /** The row's match key for it; null when the value is blank or can never match. */
  key: string | null;
}

/**
 * The relationship look-ups of one row, so a caller can fetch a whole chunk's related records in one batch
 * before calling `planWrite` row by row; `planWrite` computes the same keys.
 */
export function rowLookups(
  context: MappingContext,
  values: Readonly<Record<string, VariableValue>>,
): RowLookup[] {
  const lookups: RowLookup[] = [];
  for (const [index, rule] of context.mapping.entries()) {
    const field = fieldOf(context, index);
    if (field.type !== 'relationship' || rule.lookup === undefined) continue;
    const related = relatedField(context, index, field, rule.lookup.field);
    const variable = rule.variables[0]!;
    const key = matchValueKey(
      related.field,
      variableOf(context, index, variable).type,
      values[variable] ?? null,
      (v) => context.format(v, variable),
    );
    lookups.push({ rule: index, object: related.object.apiName, field: related.field.apiName, key });
  }
  return lookups;
}

export interface PlanWriteInput extends MappingContext {
  /** The row's resolved values by variable name (record variables of earlier steps included). */
  values: Readonly<Record<string, VariableValue>>;
  /** The matched record to update, or null to create one. */
  existing: StoredRecord | null;
  /** Ids of the non-archived related records found for a `RowLookup` (by its rule index and key). */
  resolveLookup: (ruleIndex: number, key: string) => readonly string[];
}

/** What to write for one row. When `errors` is not empty the row fails and nothing is written. */
export interface WritePlan {
  /**
   * Create: every mapped non-blank value. Update: only the values that change; null clears the field.
   * Empty when the row fails.
   */
  fields: Record<string, FieldValue | null>;
  /** Create: always true. Update: whether any field changes. */
  changed: boolean;
  errors: RowIssue[];
  warnings: RowIssue[];
  /** Option labels to add to the object before the write (`createOptions`), in order of appearance. */
  newOptions: { field: string; label: string }[];
}

/** A mapped field's value for this row before the conflict policy. */
interface Incoming {
  field: FieldDefinition;
  rule: MappingRule;
  value: FieldValue | null;
  /** The relationship could not be resolved: the field is not written (never cleared). */
  unresolved?: RowIssue;
  newOption?: string[];
}

/**
 * Plans the write of one row to one record (SPEC §6, Mapping): converts the mapped values, applies each
 * rule's conflict policy against `existing`, and checks required fields. A create writes every non-blank
 * mapped value. An update writes what `applyConflictPolicy` decides, and only where it differs from the
 * stored value (`sameFieldValue`). A required field may be neither missing on create nor cleared on update.
 */
export function planWrite(input: PlanWriteInput): WritePlan {
  const errors: RowIssue[] = [];
  const warnings: RowIssue[] = [];
  const incoming: Incoming[] = [];
  const lookups = new Map(rowLookups(input, input.values).map((l) => [l.rule, l]));
  for (const [index, rule] of input.mapping.entries()) {
    const result = incomingValue(input, index, rule, lookups.get(index));
    if (result.error) errors.push(result.error);
    else incoming.push(result.incoming);
  }

  const fields: Record<string, FieldValue | null> = {};
  for (const { field, rule, value, unresolved } of incoming) {
    if (unresolved) continue;
    if (input.existing === null) {
      if (value !== null) fields[field.apiName] = value;
      continue;
    }
    const stored = input.existing.fields[field.apiName] ?? null;
    const target = applyConflictPolicy(rule.conflict, stored, value);
    if (!sameFieldValue(field.type, stored, target)) fields[field.apiName] = target;
  }

  const failedFields = new Set(errors.map((e) => e.field));
  for (const field of input.object.fields) {
    if (!field.required || failedFields.has(field.apiName)) continue;
    const mapped = incoming.find((i) => i.field.apiName === field.apiName);
    const missing =
      input.existing === null ? fields[field.apiName] === undefined : fields[field.apiName] === null;
    if (!missing) continue;
    const message = requiredMessage(field, mapped, input.existing !== null);
    // The unresolved relationship is the reason of this error, not a warning besides it.
    if (mapped?.unresolved) mapped.unresolved = undefined;
    errors.push({ code: 'REQUIRED_FIELD_MISSING', message, field: field.apiName });
  }
  for (const { unresolved } of incoming) if (unresolved) warnings.push(unresolved);
  if (errors.length > 0) return { fields: {}, changed: false, errors, warnings, newOptions: [] };

  const newOptions: WritePlan['newOptions'] = [];
  for (const { field, newOption } of incoming) {
    const written = fields[field.apiName];
    for (const label of newOption ?? []) {
      if (written === label || (Array.isArray(written) && written.includes(label))) {
        newOptions.push({ field: field.apiName, label });
        warnings.push({
          code: 'OPTION_CREATED',
          message: `added option "${label}" to field "${field.apiName}" (createOptions)`,
          field: field.apiName,
        });
      }
    }
  }
  const changed = input.existing === null || Object.keys(fields).length > 0;
  return { fields, changed, errors, warnings, newOptions };
}

/**
 * The value a field should hold after an update under `policy` (SPEC §6); null means blank.
 * `only_add_options` unions list values (stored labels first, in their order, then the new ones; labels
 * compare case-insensitively); on a single-value field it acts like `only_update_blank`.
 */
export function applyConflictPolicy(
  policy: ConflictPolicy,
  stored: FieldValue | null,
  incoming: FieldValue | null,
): FieldValue | null {
  const storedValue = isBlankValue(stored) ? null : stored;
  switch (policy) {
    case 'overwrite':
      return incoming;
    case 'overwrite_except_null':
      return incoming ?? storedValue;
    case 'only_update_blank':
      return storedValue ?? incoming;
    case 'only_add_options': {
      if (!Array.isArray(incoming) || !Array.isArray(storedValue)) return storedValue ?? incoming;
      const seen = new Set(storedValue.map((l) => l.toLowerCase()));
      return [...storedValue, ...incoming.filter((l) => !seen.has(l.toLowerCase()))];
    }
  }
}

/**
 * Whether a stored value and a planned one are the same, so writing would change nothing: blanks (unset,
 * empty text, empty list) are equal; numbers compare numerically, datetimes as instants, checkboxes as sets
 * of labels, relationship ids case-insensitively, everything else as exact text.
 */
export function sameFieldValue(type: FieldType, a: FieldValue | null, b: FieldValue | null): boolean {
  const [aBlank, bBlank] = [isBlankValue(a), isBlankValue(b)];
  if (aBlank || bBlank) return aBlank && bBlank;
  switch (type) {
    case 'integer':
    case 'decimal':
    case 'money':
      return Number(a) === Number(b);
    case 'datetime':
      return Date.parse(String(a)) === Date.parse(String(b));
    case 'relationship':
      return String(a).toLowerCase() === String(b).toLowerCase();
    case 'checkboxes': {
      const [left, right] = [new Set(asList(a)), new Set(asList(b))];
      return left.size === right.size && [...left].every((l) => right.has(l));
    }
    default:
      return a === b || (typeof a !== 'object' && typeof b !== 'object' && String(a) === String(b));
  }
}

function asList(value: FieldValue | null): string[] {
  return Array.isArray(value) ? value : [String(value)];
}

function incomingValue(
  context: PlanWriteInput,
  index: number,
  rule: MappingRule,
  lookup: RowLookup | undefined,
): { error: RowIssue; incoming?: undefined } | { error?: undefined; incoming: Incoming } {
  const field = fieldOf(context, index);
  const formatOf =
    (variable: string): FormatScalar =>
    (v) =>
      context.format(v, variable);

  if (rule.variables.length > 1) {
    if (field.type !== 'text' && field.type !== 'longtext') {
      return {
        error: {
          code: 'TYPE_MISMATCH',
          message: `several variables can only be joined into a text field; "${field.apiName}" is ${field.type}`,
          field: field.apiName,
        },
      };
    }
    const parts = rule.variables.map((name) => {
      const converted = toFieldValue(
        field,
        variableOf(context, index, name).type,
        context.values[name] ?? null,
        formatOf(name),
      );
      return converted.value === null ? '' : String(converted.value);
    });
    const joined = parts.filter((p) => p !== '').join(JOINED_VARIABLES_SEPARATOR);
    return { incoming: { field, rule, value: joined === '' ? null : joined } };
  }

  const name = rule.variables[0]!;
  const variable = variableOf(context, index, name);
  const value = context.values[name] ?? null;
  if (lookup !== undefined) return { incoming: lookedUp(context, field, rule, name, value, lookup) };

  const converted = toFieldValue(field, variable.type, value, formatOf(name), {
    createOptions: rule.createOptions,
  });
  if (converted.error) return { error: { ...converted.error, variable: name } };
  if (field.type === 'relationship' && converted.value === null) {
    const unresolved: RowIssue = {
      code: 'RELATED_RECORD_NOT_FOUND',
      message: `record variable "${name}" is blank (its step matched or created no record for this row)`,
      variable: name,
      field: field.apiName,
    };
    return { incoming: { field, rule, value: null, unresolved } };
  }
  return {
    incoming: {
      field,
      rule,
      value: converted.value,
      ...(converted.newOption ? { newOption: converted.newOption } : {}),
    },
  };
}

function lookedUp(
  context: PlanWriteInput,
  field: FieldDefinition,
  rule: MappingRule,
  variable: string,
  value: VariableValue,
  lookup: RowLookup,
): Incoming {
  if (isBlankValue(value)) return { field, rule, value: null };
  const ids = lookup.key === null ? [] : context.resolveLookup(lookup.rule, lookup.key);
  if (ids.length === 1) return { field, rule, value: ids[0]! };
  const about = `${lookup.object} record${ids.length > 1 ? 's have' : ' has'} ${lookup.field} = ${JSON.stringify(value)}`;
  const unresolved: RowIssue =
    ids.length === 0
      ? { code: 'RELATED_RECORD_NOT_FOUND', message: `no ${about}`, variable, field: field.apiName }
      : {
          code: 'RELATED_RECORD_AMBIGUOUS',
          message: `${ids.length} ${about} (${listIds(ids)}); pick a lookup field with unique values`,
          variable,
          field: field.apiName,
        };
  return { field, rule, value: null, unresolved };
}

function requiredMessage(field: FieldDefinition, mapped: Incoming | undefined, update: boolean): string {
  const name = `required field "${field.apiName}"`;
  if (mapped === undefined) {
    return `${name} is not mapped, so the record cannot be created; map a variable to it`;
  }
  if (update) return `${name} would be cleared by a blank value (conflict: ${mapped.rule.conflict})`;
  if (mapped.unresolved) return `${name} has no value: ${mapped.unresolved.message}`;
  const variables = mapped.rule.variables.map((v) => `"${v}"`).join(', ');
  return `${name} is blank (variable ${variables}), so the record cannot be created`;
}

function fieldOf(context: MappingContext, index: number): FieldDefinition {
  const ref = context.mapping[index]!.field;
  const field = findField(context.object, ref);
  if (field === undefined) {
    throw new DefinitionError(`mapping of object ${context.object.apiName}`, [
      {
        path: `mapping[${index}].field`,
        message: `unknown field "${ref}" on object ${context.object.apiName}`,
      },
    ]);
  }
  return field;
}

function variableOf(context: MappingContext, index: number, name: string): VariableInfo {
  const variable = context.variables[name];
  if (variable === undefined) {
    throw new DefinitionError(`mapping of object ${context.object.apiName}`, [
      { path: `mapping[${index}].variables`, message: `unknown variable "${name}"` },
    ]);
  }
  return variable;
}

function relatedField(
  context: MappingContext,
  index: number,
  field: FieldDefinition,
  ref: string,
): { object: ObjectDefinition; field: FieldDefinition } {
  const object = field.relatedObject === undefined ? undefined : context.objects.get(field.relatedObject);
  const target = object === undefined ? undefined : findField(object, ref);
  if (object === undefined || target === undefined) {
    throw new DefinitionError(`mapping of object ${context.object.apiName}`, [
      {
        path: `mapping[${index}].lookup.field`,
        message: `field "${field.apiName}" looks up "${ref}" on object ${field.relatedObject ?? '(none)'}, which does not exist`,
      },
    ]);
  }
  return { object, field: target };
}
