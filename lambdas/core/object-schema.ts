import { z } from 'zod';
import { deriveApiName } from './api-name.ts';
import { DefinitionError } from './errors.ts';
import { zodIssues } from './zod-issues.ts';

export const FIELD_TYPES = [
  'text',
  'longtext',
  'email',
  'phone',
  'integer',
  'decimal',
  'money',
  'checkbox',
  'date',
  'datetime',
  'dropdown',
  'radio',
  'checkboxes',
  'relationship',
] as const;
export type FieldType = (typeof FIELD_TYPES)[number];

export const OPTION_FIELD_TYPES: ReadonlySet<FieldType> = new Set(['dropdown', 'radio', 'checkboxes']);

/**
 * An object or field api name: it becomes a DynamoDB key part, a SQL table or column name, a file name in
 * the dev package and a word on a command line, so only letters, digits and `_` (as derived names are).
 */
const API_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const API_NAME_RULE =
  'an api name is 1 to 64 letters, digits and _, not starting with a digit, e.g. "vendor_name"';
const apiNameSchema = z.string().regex(API_NAME, API_NAME_RULE);

const fieldInputShape = {
  /** The field's key in records and connectors. Derived from `name` when absent. */
  apiName: apiNameSchema.optional(),
  /** Display name; also the key when it is already an api name (`sku`). */
  name: z.string().min(1),
  /** Display label; defaults to `name`. */
  label: z.string().optional(),
  type: z.enum(FIELD_TYPES),
  /** A record cannot be created without it. Default false. */
  required: z.boolean().default(false),
  /** Option labels of `dropdown`, `radio` and `checkboxes` fields. */
  options: z.array(z.string().min(1)).optional(),
  /** The object a `relationship` field points to. */
  relatedObject: z.string().min(1).optional(),
  description: z.string().optional(),
};
const fieldInputSchema = z.object(fieldInputShape);

/** `objects/<apiName>.json`: fields as a list, or as a map keyed by field api name. */
export const objectDefinitionInputSchema = z.object({
  apiName: apiNameSchema.optional(),
  name: z.string().min(1),
  description: z.string().optional(),
  fields: z.union([
    z.array(fieldInputSchema),
    z.record(z.string(), z.object({ ...fieldInputShape, name: z.string().min(1).optional() })),
  ]),
});
export type ObjectDefinitionInput = z.input<typeof objectDefinitionInputSchema>;

export interface FieldDefinition {
  /** Key in records, matching and mapping rules. */
  apiName: string;
  label: string;
  type: FieldType;
  required: boolean;
  /** Option labels, in order; empty for non-option fields. */
  options: string[];
  relatedObject?: string;
}

export interface ObjectDefinition {
  apiName: string;
  name: string;
  fields: FieldDefinition[];
}

/**
 * Validates and normalises an object definition. Every object has a required text field `name`; it is
 * added when the file does not declare it.
 */
export function parseObjectDefinition(raw: unknown, source = 'object definition'): ObjectDefinition {
  const parsed = objectDefinitionInputSchema.safeParse(raw);
  if (!parsed.success) throw new DefinitionError(source, zodIssues(parsed.error));
  const input = parsed.data;
  const entries = Array.isArray(input.fields)
    ? input.fields.map((f, i) => ({ f, path: `fields[${i}]`, key: f.apiName ?? deriveApiName(f.name) }))
    : Object.entries(input.fields).map(([key, f]) => ({
        f: { ...f, name: f.name ?? key },
        path: `fields.${key}`,
        key,
      }));

  const issues: { path: string; message: string }[] = [];
  const fields: FieldDefinition[] = [];
  const seen = new Set<string>();
  for (const { f, path, key } of entries) {
    // A map key is the field's api name (checked here: inside the union zod would only say "Invalid input").
    if (!API_NAME.test(key)) issues.push({ path, message: API_NAME_RULE });
    if (seen.has(key)) issues.push({ path, message: `duplicate field "${key}"` });
    seen.add(key);
    if (OPTION_FIELD_TYPES.has(f.type) && f.options === undefined) {
      issues.push({
        path: `${path}.options`,
        message: `a ${f.type} field needs an "options" list of labels`,
      });
    }
    if (f.type === 'relationship' && !f.relatedObject) {
      issues.push({ path: `${path}.relatedObject`, message: 'a relationship field needs "relatedObject"' });
    }
    fields.push({
      apiName: key,
      label: f.label ?? f.name,
      type: f.type,
      required: f.required ?? false,
      options: f.options ?? [],
      ...(f.relatedObject ? { relatedObject: f.relatedObject } : {}),
    });
  }
  const nameField = fields.find((f) => f.apiName === 'name');
  if (!nameField) {
    fields.unshift({ apiName: 'name', label: 'Name', type: 'text', required: true, options: [] });
  } else if (nameField.type !== 'text') {
    issues.push({ path: 'fields.name', message: 'the "name" field must be of type text' });
  } else {
    nameField.required = true;
  }
  if (issues.length > 0) throw new DefinitionError(source, issues);
  return { apiName: input.apiName ?? deriveApiName(input.name), name: input.name, fields };
}

/** Finds a field by api name, then by label (case-insensitive), as connectors may name either. */
export function findField(object: ObjectDefinition, ref: string): FieldDefinition | undefined {
  return (
    object.fields.find((f) => f.apiName === ref) ??
    object.fields.find((f) => f.label.toLowerCase() === ref.toLowerCase()) ??
    object.fields.find((f) => f.apiName === deriveApiName(ref))
  );
}
