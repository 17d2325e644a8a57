import type { FieldValue } from './model.ts';
import type { FieldDefinition, FieldType } from './object-schema.ts';

/**
 * The normalised keys under which a stored field value is found by matching and lookups (SPEC §6):
 * text-like values compare trimmed and case-insensitively, phones as E.164, numbers numerically.
 * A multi-value field has one key per option. Blank values have no key, so they never match.
 */
export function matchKeys(type: FieldType, value: FieldValue | null | undefined): string[] {
  if (value === null || value === undefined) return [];
  if (Array.isArray(value)) return value.flatMap((v) => matchKeys(type, v));
  switch (type) {
    case 'integer':
    case 'decimal':
    case 'money': {
      const n = typeof value === 'number' ? value : Number(value);
      return Number.isFinite(n) ? [String(n)] : [];
    }
    case 'checkbox':
      return [String(value === true || value === 'true')];
    case 'phone':
      return blankToNone(String(value).replace(/[^\d+]/g, ''));
    default:
      return blankToNone(String(value).trim().toLowerCase());
  }
}

/** The single key of a value compared with a field, or null when it is blank (counts as no match). */
export function matchKey(
  field: Pick<FieldDefinition, 'type'>,
  value: FieldValue | null | undefined,
): string | null {
  return matchKeys(field.type, value)[0] ?? null;
}

function blankToNone(key: string): string[] {
  return key === '' ? [] : [key];
}

/** Record ids compare case-insensitively: a pseudo-field for `matchByRecordId` rules. */
export const RECORD_ID_FIELD = '__id';
