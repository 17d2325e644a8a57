import type { AnyVariableType } from './connector-schema.ts';
import type { FieldValue, RowIssue, ScalarValue, VariableValue } from './model.ts';
import type { FieldDefinition, FieldType } from './object-schema.ts';
import type { RowCode } from './row-codes.ts';

/** The text form of one resolved value (the variable's `outputFormat` applied), for text fields. */
export type FormatScalar = (value: ScalarValue) => string;

/** Items of an array variable written into a text field are joined with this. */
export const TEXT_LIST_SEPARATOR = ', ';

/** The variable types each field type takes (SPEC §6). Text fields take any scalar, formatted. */
const ACCEPTED: Record<FieldType, readonly AnyVariableType[] | 'any'> = {
  text: 'any',
  longtext: 'any',
  email: ['email'],
  phone: ['phone'],
  integer: ['number'],
  decimal: ['number'],
  money: ['number'],
  checkbox: ['boolean'],
  date: ['date'],
  datetime: ['datetime', 'date'],
  dropdown: ['string'],
  radio: ['string'],
  checkboxes: ['string'],
  relationship: ['uuid'],
};

/** Field types that take a list: text fields join it, checkboxes hold one label per item. */
const LIST_FIELD_TYPES: ReadonlySet<FieldType> = new Set(['text', 'longtext', 'checkboxes']);

/**
 * Why a variable of `variableType` cannot be written into a field of `fieldType`, or null when it can
 * (SPEC §6). Arrays fit text and longtext (items joined with ", ") and checkboxes (one label per item);
 * a single string also fits checkboxes (a one-label list). Relationship fields take record variables
 * (type `uuid`); a mapping rule with `lookup` is checked against the related field instead.
 */
export function typeCompatibility(
  fieldType: FieldType,
  variableType: AnyVariableType,
  isArray: boolean,
): string | null {
  const accepted = ACCEPTED[fieldType];
  const fits = accepted === 'any' || accepted.includes(variableType);
  if (fits && (!isArray || LIST_FIELD_TYPES.has(fieldType))) return null;
  if (fits) {
    return `${withArticle(fieldType)} field takes a single value, not a list (the variable has "array")`;
  }
  return `${withArticle(fieldType)} field takes ${describeAccepted(fieldType)}, not ${describeVariable(variableType, isArray)}`;
}

function describeAccepted(fieldType: FieldType): string {
  const accepted = ACCEPTED[fieldType];
  if (fieldType === 'relationship') {
    return 'a record variable (an earlier step\'s "recordVariable") or a "lookup"';
  }
  if (fieldType === 'checkboxes') return 'a string variable (a list, or a single label)';
  if (accepted === 'any') return 'any variable';
  return `${withArticle(accepted.join(' or '))} variable`;
}

function describeVariable(type: AnyVariableType, isArray: boolean): string {
  if (type === 'uuid') return 'a record variable';
  return isArray ? `a list of ${type} values` : `${withArticle(type)} variable`;
}

function withArticle(word: string): string {
  return `${/^[aeiou]/.test(word) ? 'an' : 'a'} ${word}`;
}

/** What a resolved value becomes in a field: the stored value, or the reason it cannot be stored. */
export interface FieldValueResult {
  /** The stored representation (see `FieldValue`); null when the value is blank or on error. */
  value: FieldValue | null;
  error?: RowIssue;
  /** Option labels that are not options of the field yet; only with `createOptions`. */
  newOption?: string[];
}

/**
 * Converts a resolved variable value into the stored representation of `field` (see `FieldValue`).
 * Blank values (null, whitespace, empty lists) give `{ value: null }`. A date written into a datetime field
 * becomes that date at 00:00 UTC. Option labels match case-insensitively and are stored as the field's
 * own label; an unknown label fails with `UNKNOWN_OPTION` unless `createOptions` is set, when it is stored
 * as written (trimmed) and reported in `newOption`.
 */
export function toFieldValue(
  field: FieldDefinition,
  variableType: AnyVariableType,
  value: VariableValue,
  format: FormatScalar,
  options: { createOptions?: boolean } = {},
): FieldValueResult {
  if (value === null) return { value: null };
  const items = Array.isArray(value) ? value.filter((v) => !isBlankScalar(v)) : null;
  if (items === null ? isBlankScalar(value as ScalarValue) : items.length === 0) return { value: null };
  const incompatible = typeCompatibility(field.type, variableType, items !== null);
  if (incompatible) {
    return failure(
      field,
      'TYPE_MISMATCH',
      `field "${field.apiName}" cannot take this value: ${incompatible}`,
    );
  }

  if (items !== null) {
    if (field.type === 'checkboxes') return optionLabels(field, items, options.createOptions ?? false);
    return text(
      items
        .map((v) => format(v))
        .filter((s) => s.trim() !== '')
        .join(TEXT_LIST_SEPARATOR),
    );
  }
  const scalar = value as ScalarValue;
  switch (field.type) {
    case 'text':
    case 'longtext':
      return text(format(scalar));
    case 'integer':
      if (typeof scalar !== 'number' || !Number.isFinite(scalar)) return mismatch(field, scalar);
      if (!Number.isInteger(scalar)) {
        return failure(
          field,
          'INVALID_INTEGER',
          `field "${field.apiName}" takes whole numbers, not ${scalar}`,
        );
      }
      return { value: scalar };
    case 'decimal':
    case 'money':
      return typeof scalar === 'number' && Number.isFinite(scalar)
        ? { value: scalar }
        : mismatch(field, scalar);
    case 'checkbox':
      return typeof scalar === 'boolean' ? { value: scalar } : mismatch(field, scalar);
    case 'date':
      return isIsoDate(scalar) ? { value: scalar } : mismatch(field, scalar);
    case 'datetime':
      if (variableType === 'date') {
        return isIsoDate(scalar) ? { value: `${scalar}T00:00:00.000Z` } : mismatch(field, scalar);
      }
      return isoDateTime(scalar) ?? mismatch(field, scalar);
    case 'dropdown':
    case 'radio': {
      const result = optionLabels(field, [scalar], options.createOptions ?? false);
      return Array.isArray(result.value) ? { ...result, value: result.value[0] ?? null } : result;
    }
    case 'checkboxes':
      return optionLabels(field, [scalar], options.createOptions ?? false);
    case 'email':
    case 'phone':
    case 'relationship':
      return typeof scalar === 'string' ? { value: scalar.trim() } : mismatch(field, scalar);
  }
}

/** Blank: null, an empty or whitespace-only string, or a list without a non-blank item. */
export function isBlankValue(value: VariableValue | FieldValue | undefined): boolean {
  if (value === null || value === undefined) return true;
  if (Array.isArray(value)) return value.every(isBlankScalar);
  return isBlankScalar(value);
}

function isBlankScalar(value: ScalarValue): boolean {
  return typeof value === 'string' && value.trim() === '';
}

function text(formatted: string): FieldValueResult {
  return { value: formatted.trim() === '' ? null : formatted };
}

/** Maps labels to the field's own labels, case-insensitively; duplicates collapse to the first. */
function optionLabels(
  field: FieldDefinition,
  values: readonly ScalarValue[],
  createOptions: boolean,
): FieldValueResult {
  const known = new Map(field.options.map((label) => [label.trim().toLowerCase(), label]));
  const labels = new Map<string, string>();
  const unknown: string[] = [];
  for (const raw of values) {
    const written = String(raw).trim();
    const key = written.toLowerCase();
    if (labels.has(key)) continue;
    const label = known.get(key);
    if (label !== undefined) labels.set(key, label);
    else {
      labels.set(key, written);
      unknown.push(written);
    }
  }
  if (unknown.length > 0 && !createOptions) {
    const list = unknown.map((l) => `"${l}"`).join(', ');
    return failure(
      field,
      'UNKNOWN_OPTION',
      `${list} ${unknown.length === 1 ? 'is not an option' : 'are not options'} of field "${field.apiName}" ` +
        `(options: ${field.options.join(', ') || 'none'}); add ${unknown.length === 1 ? 'it' : 'them'} to the object ` +
        'or set "createOptions": true on the mapping rule',
    );
  }
  return { value: [...labels.values()], ...(unknown.length > 0 ? { newOption: unknown } : {}) };
}

function isIsoDate(value: ScalarValue): value is string {
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(value)) return false;
  const date = new Date(`${value}T00:00:00.000Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().startsWith(value);
}

/** Normalises an ISO 8601 datetime to the stored form, `2024-05-01T13:45:00.000Z`. */
function isoDateTime(value: ScalarValue): FieldValueResult | null {
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}T/.test(value)) return null;
  const instant = new Date(value);
  return Number.isNaN(instant.getTime()) ? null : { value: instant.toISOString() };
}

function mismatch(field: FieldDefinition, value: ScalarValue): FieldValueResult {
  return failure(
    field,
    'TYPE_MISMATCH',
    `field "${field.apiName}" (${field.type}) cannot store ${JSON.stringify(value)}`,
  );
}

function failure(field: FieldDefinition, code: RowCode, message: string): FieldValueResult {
  return { value: null, error: { code, message, field: field.apiName } };
}
