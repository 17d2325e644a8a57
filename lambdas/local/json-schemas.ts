import { z } from 'zod';
import { connectorDefinitionSchema } from '../core/connector-schema.ts';
import { objectDefinitionInputSchema } from '../core/object-schema.ts';

/**
 * JSON Schema documents of `connector.json` and `objects/*.json`, generated from the zod schemas
 * (STYLE rule 4) for editors: completion, hover text and enum checks. zod stays the validator: the
 * cross-field rules (`value` or `source`, `field` or `matchByRecordId`, `variable` or `variables`) and
 * the checks against objects are not in these documents; `sc validate` and every run check them.
 * `npm run docs` writes them to `docs/`; a unit test fails when the committed files drift.
 */

export const CONNECTOR_SCHEMA_ID = 'urn:smartconnector:schema:connector';
export const OBJECT_SCHEMA_ID = 'urn:smartconnector:schema:object';

type JsonSchema = Record<string, unknown>;

/** The input side of `connector.json`: keys with a default may be left out. */
export function connectorJsonSchema(): JsonSchema {
  return document(connectorDefinitionSchema, CONNECTOR_DESCRIPTIONS, {
    $id: CONNECTOR_SCHEMA_ID,
    title: 'SmartConnector connector definition (connector.json)',
    description:
      'A connector: optional ClickHouse SQL, typed execution variables and ordered load steps. ' +
      'Reference: docs/connector-format.md.',
  });
}

/** The input side of `objects/<apiName>.json`. */
export function objectJsonSchema(): JsonSchema {
  return document(objectDefinitionInputSchema, OBJECT_DESCRIPTIONS, {
    $id: OBJECT_SCHEMA_ID,
    title: 'SmartConnector object definition (objects/*.json)',
    description:
      'An object (the destination of load steps) and its typed fields. Every object has a required ' +
      'text field `name`; it is added when absent. Reference: docs/connector-format.md.',
  });
}

/**
 * Descriptions by property path: `.` between keys, `[]` for each item of a list or each value of a map
 * (`variables[].scope`, `fields[].type`). They follow the TSDoc of the zod schemas and SPEC; the unit test
 * checks that every property has one and that no entry is stale. Once the core schemas carry
 * `.meta({ description })`, zod emits them itself and these tables go.
 */
export const CONNECTOR_DESCRIPTIONS: Readonly<Record<string, string>> = {
  name: 'Display name of the connector.',
  apiName:
    'Lowercase letters, digits and `_`, at most 64 characters. Derived from `name` when absent and made ' +
    'unique with `_2`, `_3`…; stable across renames.',
  description: 'Free text. Default "".',
  type: 'How runs are triggered: `spreadsheet` (a file), `webhook` (batched calls) or `scheduler` (a cadence). Default `spreadsheet`.',
  sql:
    '`{ "file": "connector.sql" }` or `{ "script": "…" }`. Optional for spreadsheet connectors, required ' +
    'for webhook connectors and for activating scheduler connectors. In a connector folder, ' +
    '`connector.sql` is used when `sql` is absent.',
  'sql.file': 'Path of the SQL file, relative to the connector folder.',
  'sql.script': 'The SQL script, inline.',
  parameters: 'Name → text value; SQL reads them from `meta.parameters(name, value)`. Default {}.',
  secrets: 'Names of secrets, each exposed to SQL as a ClickHouse named collection. Default [].',
  referenceData:
    'Objects whose non-archived records SQL reads as `records.<object>`: `id` plus the listed fields. Default [].',
  'referenceData[].object': 'Object api name.',
  'referenceData[].fields': 'Fields to include besides `id` (api names or labels). Default [].',
  variables: 'The typed execution variables. Only declared variables reach load steps. Default [].',
  'variables[].name': 'Unique name; load steps refer to it.',
  'variables[].scope':
    'The SQL output table (scope) it reads. Default: the only scope (`default` without SQL). A static ' +
    'variable without a scope applies to every scope.',
  'variables[].source': 'The output column. Default: `name`. Not allowed together with `value`.',
  'variables[].type': 'string, number, boolean, date, datetime, email or phone.',
  'variables[].required': 'A blank value makes the row invalid (`REQUIRED_MISSING`). Default false.',
  'variables[].array':
    'Split the value into a list on this delimiter. Only string, number, email and phone variables.',
  'variables[].array.delimiter':
    '`,` `;` `|` or a tab; `{}` reads `{a,b}` and `[]` reads `[a,b]` or a JSON array.',
  'variables[].inputFormat':
    'Overrides per-column format detection (date, datetime, boolean), e.g. `DD/MM/YYYY`, `excel_serial`, `yes_no`.',
  'variables[].outputFormat':
    'How the value is written into text fields: a date pattern such as `DD/MM/YYYY`, or `True/False`, `Yes/No`, `On/Off` for booleans.',
  'variables[].value': 'A static value instead of a source column, read as the variable type.',
  loadSteps: 'Ordered load steps; each creates or updates records of one object. Default [].',
  'loadSteps[].name': 'Display name of the step (report sheet and counts).',
  'loadSteps[].object': 'Destination object api name.',
  'loadSteps[].scope': 'The scope whose valid rows this step loads. Default: the only scope.',
  'loadSteps[].matching': 'Matching rules, tried in order. Default []: every row creates a record.',
  'loadSteps[].matching[].field':
    'The object field compared with the variable (api name or label). Either `field` or `matchByRecordId`.',
  'loadSteps[].matching[].matchByRecordId': 'Compare the variable with the record id instead of a field.',
  'loadSteps[].matching[].variable': 'The variable (or earlier record variable) whose value is compared.',
  'loadSteps[].matching[].onNoMatch': 'No record matched (or the value is blank). Default `create_new`.',
  'loadSteps[].matching[].onSingleMatch': 'Exactly one active record matched. Default `update_current`.',
  'loadSteps[].matching[].onMultipleMatches':
    'Several active records matched. Default `do_not_upload`; `next_rule` narrows the next rule to them.',
  'loadSteps[].matching[].onArchivedMatch': 'Only archived records matched. Default `create_new`.',
  'loadSteps[].mapping': 'Which variables are written into which fields. Default [].',
  'loadSteps[].mapping[].field': 'The destination field (api name or label). Map each field once.',
  'loadSteps[].mapping[].variables':
    'One or more variables; several are joined with a space (text fields only). Give this or `variable`.',
  'loadSteps[].mapping[].variable': 'Shorthand for `variables: [variable]`.',
  'loadSteps[].mapping[].conflict':
    'What an update does with the stored value: `overwrite`, `overwrite_except_null`, ' +
    '`only_update_blank` (default) or `only_add_options` (checkboxes: union).',
  'loadSteps[].mapping[].createOptions':
    'Add unknown option labels to the field instead of failing the row. Default false.',
  'loadSteps[].mapping[].lookup':
    'For relationship fields: find the related record whose `field` equals the variable.',
  'loadSteps[].mapping[].lookup.field': 'Field of the related object (api name or label).',
  'loadSteps[].recordVariable':
    'Exposes, per row, the id of the record this step matched or created (type `uuid`) to later steps on the same scope.',
  'loadSteps[].triggers':
    'Publish one event per created or updated record. Default { onCreate: false, onUpdate: false }.',
  'loadSteps[].triggers.onCreate': 'An event per created record. Default false.',
  'loadSteps[].triggers.onUpdate': 'An event per updated record. Default false.',
  settings: 'Run settings; every key has a default or is optional.',
  'settings.maxConcurrentExecutions': 'Live runs of this connector at once; 0 pauses. Default 1.',
  'settings.diffCheck':
    'Skip rows whose mapped values the previous successful live run loaded. Overridable per run. Default false.',
  'settings.chunkSize': 'Rows per load chunk, 1 to 100,000. Default 1000.',
  'settings.cadence':
    '`rate(5 minutes)` or `cron(…)` (EventBridge syntax), for scheduler and webhook connectors.',
  'settings.notificationEmail': 'Notified when a run ends.',
  'settings.errorNotificationEmail': 'Notified when a run ends failed or partial_success.',
  'settings.executionEndedWebhookUrl': 'Receives a POST when a run ends.',
  'settings.webhookSecret': 'Signs the execution-ended webhook (HMAC-SHA256).',
  'settings.maxFailedRowsPercent':
    "Stop and fail the run when a step's failed rows exceed this percentage (0–100).",
  'settings.sqlLimits': "Limits on the connector's SQL; each defaults to the platform's limit.",
  'settings.sqlLimits.maxExecutionSeconds': 'Seconds a statement may run, 1 to 3600. Default 300.',
  'settings.sqlLimits.maxMemoryBytes': 'Memory a query may use, in bytes. Default 10 GB.',
  'settings.sqlLimits.maxRowsPerScope': 'Rows an output table (scope) may hold. Default 10,000,000.',
  'settings.timezone': 'IANA time zone of datetimes written without an offset. Default `UTC`.',
  'settings.defaultCountry':
    'Two-letter ISO country of phone numbers written without a country code. Default `US`.',
};

export const OBJECT_DESCRIPTIONS: Readonly<Record<string, string>> = {
  apiName: 'Object api name, used by connectors. Derived from `name` when absent.',
  name: 'Display name, e.g. `Products`; also the report sheet title.',
  description: 'Free text.',
  fields:
    'The fields: a list, or a map keyed by field api name. A required text field `name` is added when absent.',
  'fields[].apiName':
    "The field's key in records and connectors. Derived from `name` when absent (list form); the map key in the map form.",
  'fields[].name':
    'Display name; also the key when `apiName` is absent. Required in the list form; defaults to the map key in the map form.',
  'fields[].label': 'Display label. Default: `name`.',
  'fields[].type':
    'text, longtext, email, phone, integer, decimal, money, checkbox, date, datetime, dropdown, radio, checkboxes or relationship.',
  'fields[].required': 'A record cannot be created without it, nor updated to blank. Default false.',
  'fields[].options': 'Option labels of `dropdown`, `radio` and `checkboxes` fields (required for them).',
  'fields[].relatedObject': 'The object a `relationship` field points to (required for it).',
  'fields[].description': 'Free text.',
};

function document(
  schema: z.ZodType,
  descriptions: Readonly<Record<string, string>>,
  header: { $id: string; title: string; description: string },
): JsonSchema {
  const emptyListDefaults: (string | number)[][] = [];
  const generated = z.toJSONSchema(schema, {
    io: 'input',
    override: ({ zodSchema, path }) => {
      const def = zodSchema._zod.def;
      if (def.type === 'default' && Array.isArray(def.defaultValue) && def.defaultValue.length === 0) {
        emptyListDefaults.push(path);
      }
    },
  }) as JsonSchema;
  // zod leaves every default out of the input side of a schema that transforms (a mapping rule turns
  // `variable` into `variables`), so `loadSteps` and `mapping` would lose `default: []`. An empty list
  // reads the same on both sides, so it is put back.
  for (const path of emptyListDefaults) {
    const node = path.reduce<unknown>((at, key) => (at as Record<string, unknown>)[key], generated);
    (node as JsonSchema).default ??= [];
  }
  const { $schema, ...body } = generated;
  describe(body, '', descriptions);
  return { $schema, ...header, ...body };
}

/**
 * Sets `description` on every node whose path has one. The branches of an `anyOf` share their parent's
 * path and leave the description to the parent.
 */
function describe(
  node: unknown,
  path: string,
  descriptions: Readonly<Record<string, string>>,
  self = true,
): void {
  if (typeof node !== 'object' || node === null) return;
  const schema = node as JsonSchema;
  const text = descriptions[path];
  if (self && path !== '' && text !== undefined) schema.description = text;
  const properties = (schema.properties ?? {}) as Record<string, unknown>;
  for (const [key, child] of Object.entries(properties)) {
    describe(child, path === '' ? key : `${path}.${key}`, descriptions);
  }
  describe(schema.items, `${path}[]`, descriptions);
  describe(schema.additionalProperties, `${path}[]`, descriptions);
  for (const branch of (schema.anyOf ?? []) as unknown[]) describe(branch, path, descriptions, false);
}
