import { z } from 'zod';

/**
 * The connector definition (SPEC §3, §5, §6): the `connector.json` file and the export format.
 * These schemas are the single source of the TypeScript types, the validation and the docs.
 */

export const CONNECTOR_TYPES = ['spreadsheet', 'webhook', 'scheduler'] as const;
export const VARIABLE_TYPES = ['string', 'number', 'boolean', 'date', 'datetime', 'email', 'phone'] as const;
export type VariableType = (typeof VARIABLE_TYPES)[number];
/** Record variables exposed by load steps carry this type. */
export type AnyVariableType = VariableType | 'uuid';

export const ARRAY_DELIMITERS = [',', ';', '|', '\t', '{}', '[]'] as const;
export type ArrayDelimiter = (typeof ARRAY_DELIMITERS)[number];

export const ON_NO_MATCH = ['create_new', 'next_rule_ignore_previous', 'do_not_upload'] as const;
export const ON_SINGLE_MATCH = [
  'update_current',
  'next_rule',
  'next_rule_ignore_previous',
  'do_not_upload',
] as const;
export const ON_MULTIPLE_MATCHES = ['do_not_upload', 'next_rule', 'next_rule_ignore_previous'] as const;
export const ON_ARCHIVED_MATCH = [
  'create_new',
  'unarchive_and_update',
  'unarchive_only',
  'next_rule',
  'next_rule_ignore_previous',
  'do_not_upload',
] as const;
export type MatchAction =
  | (typeof ON_NO_MATCH)[number]
  | (typeof ON_SINGLE_MATCH)[number]
  | (typeof ON_MULTIPLE_MATCHES)[number]
  | (typeof ON_ARCHIVED_MATCH)[number];

export const CONFLICT_POLICIES = [
  'overwrite',
  'overwrite_except_null',
  'only_update_blank',
  'only_add_options',
] as const;
export type ConflictPolicy = (typeof CONFLICT_POLICIES)[number];

const name = z.string().trim().min(1, 'must not be empty');

export const variableSchema = z
  .strictObject({
    /** Unique name; load steps refer to it. */
    name,
    /** The SQL output table (scope) it reads. Default: the only scope (`default` without SQL). */
    scope: name.optional(),
    /** The output column. Default: `name`. */
    source: name.optional(),
    type: z.enum(VARIABLE_TYPES),
    /** A blank value makes the row invalid (`REQUIRED_MISSING`). Default false. */
    required: z.boolean().default(false),
    /** Split the value into a list on this delimiter; `{}` and `[]` read `{a,b}` and `[a,b]`. */
    array: z.strictObject({ delimiter: z.enum(ARRAY_DELIMITERS) }).optional(),
    /** Overrides per-column format detection, e.g. `DD/MM/YYYY`, `yes_no`, `excel_serial`. */
    inputFormat: z.string().min(1).optional(),
    /** How the value is written into text fields and shown in the report, e.g. `Yes/No`. */
    outputFormat: z.string().min(1).optional(),
    /** A static value instead of a source column. */
    value: z.union([z.string(), z.number(), z.boolean()]).optional(),
  })
  .refine((v) => !(v.value !== undefined && v.source !== undefined), {
    message: 'a variable has either a static "value" or a "source", not both',
    path: ['value'],
  });
export type VariableDefinition = z.output<typeof variableSchema>;

export const matchingRuleSchema = z
  .strictObject({
    /** The object field compared with the variable. */
    field: name.optional(),
    /** Compare the variable with the record id instead of a field. */
    matchByRecordId: z.boolean().optional(),
    variable: name,
    onNoMatch: z.enum(ON_NO_MATCH).default('create_new'),
    onSingleMatch: z.enum(ON_SINGLE_MATCH).default('update_current'),
    onMultipleMatches: z.enum(ON_MULTIPLE_MATCHES).default('do_not_upload'),
    onArchivedMatch: z.enum(ON_ARCHIVED_MATCH).default('create_new'),
  })
  .refine((r) => (r.field !== undefined) !== (r.matchByRecordId === true), {
    message: 'a matching rule names either a "field" or "matchByRecordId": true',
  });
export type MatchingRule = z.output<typeof matchingRuleSchema>;

export const mappingRuleSchema = z
  .strictObject({
    field: name,
    /** One or more variables; several are joined with a space (text fields only). */
    variables: z.array(name).min(1).optional(),
    /** Shorthand for `variables: [variable]`. */
    variable: name.optional(),
    conflict: z.enum(CONFLICT_POLICIES).default('only_update_blank'),
    /** Add unknown option labels to the field instead of failing the row. Default false. */
    createOptions: z.boolean().default(false),
    /** For relationship fields: find the related record whose `field` equals the variable. */
    lookup: z.strictObject({ field: name }).optional(),
  })
  .refine((m) => (m.variables === undefined) !== (m.variable === undefined), {
    message: 'a mapping rule names "variables" (a list) or "variable", exactly one of them',
  })
  .transform(({ variable, variables, ...rest }) => ({
    ...rest,
    variables: variables ?? [variable as string],
  }));
export type MappingRule = z.output<typeof mappingRuleSchema>;

export const loadStepSchema = z.strictObject({
  name,
  /** Destination object api name. */
  object: name,
  /** The scope whose valid rows this step loads. Default: the only scope. */
  scope: name.optional(),
  matching: z.array(matchingRuleSchema).default([]),
  mapping: z.array(mappingRuleSchema).default([]),
  /** Exposes, per row, the id of the record this step matched or created (type `uuid`). */
  recordVariable: name.optional(),
  triggers: z
    .strictObject({ onCreate: z.boolean().default(false), onUpdate: z.boolean().default(false) })
    .default({ onCreate: false, onUpdate: false }),
});
export type LoadStep = z.output<typeof loadStepSchema>;

export const settingsSchema = z.strictObject({
  /** Live runs of this connector at once; 0 pauses. Default 1. */
  maxConcurrentExecutions: z.number().int().min(0).default(1),
  /** Skip rows whose mapped values were loaded by the previous successful live run. Default false. */
  diffCheck: z.boolean().default(false),
  /** Rows per load chunk. Default 1000. */
  chunkSize: z.number().int().min(1).max(100_000).default(1000),
  /** `rate(5 minutes)` or `cron(…)` (EventBridge syntax), for scheduler and webhook connectors. */
  cadence: z.string().optional(),
  notificationEmail: z.string().optional(),
  errorNotificationEmail: z.string().optional(),
  executionEndedWebhookUrl: z.string().url().optional(),
  webhookSecret: z.string().optional(),
  /** Stop and fail the run when a step's failed rows exceed this percentage. */
  maxFailedRowsPercent: z.number().min(0).max(100).optional(),
  /** Time zone of datetimes written without an offset. Default `UTC`. */
  timezone: z.string().default('UTC'),
  /** Country of phone numbers written without a country code. Default `US`. */
  defaultCountry: z.string().length(2).default('US'),
  /** Limits on the connector's SQL (SPEC §4); each defaults to the platform's limit. */
  sqlLimits: z
    .strictObject({
      /** Seconds a statement may run. Default 300. */
      maxExecutionSeconds: z.number().int().min(1).max(3600).optional(),
      /** Memory a query may use, in bytes. Default 10 GB. */
      maxMemoryBytes: z.number().int().min(100_000_000).optional(),
      /** Rows an output table (scope) may hold. Default 10,000,000. */
      maxRowsPerScope: z.number().int().min(1).optional(),
    })
    .default({}),
});
export type ConnectorSettings = z.output<typeof settingsSchema>;

export const sqlSourceSchema = z.union([
  z.strictObject({ file: name }),
  z.strictObject({ script: z.string() }),
]);

export const connectorDefinitionSchema = z.strictObject({
  name,
  /** Derived from `name` when absent; stable across renames. */
  apiName: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,63}$/, 'must be lowercase letters, digits and _, at most 64 characters')
    .optional(),
  description: z.string().default(''),
  type: z.enum(CONNECTOR_TYPES).default('spreadsheet'),
  sql: sqlSourceSchema.optional(),
  parameters: z.record(z.string(), z.string()).default({}),
  secrets: z.array(name).default([]),
  referenceData: z.array(z.strictObject({ object: name, fields: z.array(name).default([]) })).default([]),
  variables: z.array(variableSchema).default([]),
  loadSteps: z.array(loadStepSchema).default([]),
  settings: settingsSchema.default(settingsSchema.parse({})),
});
export type ConnectorDefinitionInput = z.input<typeof connectorDefinitionSchema>;
export type ConnectorDefinitionParsed = z.output<typeof connectorDefinitionSchema>;

/** A connector as the engine uses it: api name fixed, SQL resolved to its text (or null). */
export interface ConnectorDefinition extends Omit<ConnectorDefinitionParsed, 'sql' | 'apiName'> {
  apiName: string;
  /** The SQL script, or null when the connector has no SQL. */
  sql: string | null;
}
