import { isSupportedCountry } from 'libphonenumber-js';
import { IANAZone } from 'luxon';
import { parseCadence } from './cadence.ts';
import {
  ON_ARCHIVED_MATCH,
  ON_MULTIPLE_MATCHES,
  ON_NO_MATCH,
  ON_SINGLE_MATCH,
  type AnyVariableType,
  type ConnectorDefinition,
  type LoadStep,
  type MappingRule,
  type MatchAction,
  type MatchingRule,
} from './connector-schema.ts';
import type { DefinitionIssue } from './errors.ts';
import { typeCompatibility } from './field-values.ts';
import { CONTINUE_ACTIONS, MATCH_ACTION_KEYS } from './matching.ts';
import { variableDefinitionIssues } from './variables/index.ts';
import {
  findField,
  OPTION_FIELD_TYPES,
  type FieldDefinition,
  type ObjectDefinition,
} from './object-schema.ts';

/*
 * Checks of a connector definition against the objects it loads (SPEC §3, §5, §6, §7), beyond what the
 * zod schema can see. `checkConnector` runs when a connector is saved; `activationIssues` adds what a
 * connector needs before it can run live. Every issue has a JSON path and a message that says what to do.
 */

/** The variable types that may be split into lists (SPEC §5). */
const ARRAY_VARIABLE_TYPES: ReadonlySet<string> = new Set(['string', 'number', 'email', 'phone']);

/** Webhook calls reach the connector as one batch that only SQL turns into rows (SPEC §3): needed to save. */
const NEEDS_SQL_TO_SAVE: ReadonlySet<string> = new Set(['webhook']);
/** A schedule tick carries no data, so SQL must fetch it: needed to activate. */
const NEEDS_SQL_TO_ACTIVATE: ReadonlySet<string> = new Set(['scheduler']);

/** The scope of a definition without SQL (SPEC §4). */
const DEFAULT_SCOPE = 'default';

const ACTION_VALUES: Record<(typeof MATCH_ACTION_KEYS)[number], readonly MatchAction[]> = {
  onNoMatch: ON_NO_MATCH,
  onSingleMatch: ON_SINGLE_MATCH,
  onMultipleMatches: ON_MULTIPLE_MATCHES,
  onArchivedMatch: ON_ARCHIVED_MATCH,
};

/** A variable as a step sees it: a declared variable or an earlier step's record variable. */
interface StepVariable {
  type: AnyVariableType;
  isArray: boolean;
  /** For record variables: the object whose records they hold, when that object is known. */
  recordObject?: string;
}

type Report = (path: string, message: string) => void;

/**
 * Everything wrong with a connector definition that its schema cannot see: unknown objects, fields and
 * variables, variables of another scope or of a later step, type mismatches between variables and fields,
 * misplaced `lookup`, `createOptions` and `only_add_options`, a last matching rule that continues, a
 * webhook connector without SQL, and invalid settings. Empty when the definition is sound.
 */
export function checkConnector(
  definition: ConnectorDefinition,
  objects: ReadonlyMap<string, ObjectDefinition>,
): DefinitionIssue[] {
  const issues: DefinitionIssue[] = [];
  const report: Report = (path, message) => issues.push({ path, message });

  if (NEEDS_SQL_TO_SAVE.has(definition.type) && definition.sql === null) {
    report(
      'sql',
      `a ${definition.type} connector needs SQL to turn its input into rows; add "sql": { "file": "connector.sql" }`,
    );
  }
  checkSettings(definition, report);
  definition.referenceData.forEach((entry, i) => {
    const object = knownObject(objects, entry.object, `referenceData[${i}].object`, report);
    entry.fields.forEach((ref, k) => {
      if (object && !findField(object, ref)) {
        report(`referenceData[${i}].fields[${k}]`, unknownField(object, ref));
      }
    });
  });
  checkScopes(definition, report);

  const firstByName = new Map<string, number>();
  definition.variables.forEach((variable, i) => {
    const first = firstByName.get(variable.name);
    if (first === undefined) {
      firstByName.set(variable.name, i);
    } else {
      report(
        `variables[${i}].name`,
        `duplicate variable name "${variable.name}"; variables[${first}] already has it`,
      );
    }
    if (variable.array && !ARRAY_VARIABLE_TYPES.has(variable.type)) {
      report(
        `variables[${i}].array`,
        `${variable.type} variables cannot be lists; remove "array" or use type string`,
      );
    }
  });

  // Formats and static values are the variables module's rules; names and arrays are checked above.
  for (const issue of variableDefinitionIssues(definition.variables, definition.settings)) {
    if (!/\.(name|array)$/.test(issue.path)) issues.push(issue);
  }

  const recordVariableStep = new Map<string, number>();
  definition.loadSteps.forEach((step, i) => {
    const path = `loadSteps[${i}]`;
    const name = step.recordVariable;
    if (name !== undefined) {
      const first = recordVariableStep.get(name);
      if (firstByName.has(name)) {
        report(
          `${path}.recordVariable`,
          `record variable "${name}" has the name of variables[${firstByName.get(name)}]; pick another name`,
        );
      } else if (first !== undefined) {
        report(
          `${path}.recordVariable`,
          `record variable "${name}" is already set by loadSteps[${first}]; pick another name`,
        );
      } else {
        recordVariableStep.set(name, i);
      }
    }
    const object = knownObject(objects, step.object, `${path}.object`, report);
    const variableOf = stepVariables(definition, objects, i);
    step.matching.forEach((rule, j) =>
      checkMatchingRule(rule, j, step, object, variableOf, `${path}.matching[${j}]`, report),
    );
    const mappedBy = new Map<string, number>();
    step.mapping.forEach((rule, j) => {
      const rulePath = `${path}.mapping[${j}]`;
      const field = object && findField(object, rule.field);
      if (object && !field) report(`${rulePath}.field`, unknownField(object, rule.field));
      if (field) {
        const first = mappedBy.get(field.apiName);
        if (first !== undefined) {
          report(
            `${rulePath}.field`,
            `field "${field.apiName}" is already mapped by mapping[${first}]; map each field once`,
          );
        } else {
          mappedBy.set(field.apiName, j);
        }
      }
      checkMappingRule(rule, field, objects, variableOf, rulePath, report);
    });
  });
  return issues;
}

/**
 * What keeps a connector from being activated (SPEC §7): `checkConnector`'s issues, plus at least one
 * variable and one load step, every step mapping at least one field and, when its matching can create
 * records, every required field of its object (`name` included), and SQL (and a cadence) where the
 * connector type needs them.
 */
export function activationIssues(
  definition: ConnectorDefinition,
  objects: ReadonlyMap<string, ObjectDefinition>,
): DefinitionIssue[] {
  const issues = checkConnector(definition, objects);
  const report: Report = (path, message) => issues.push({ path, message });
  if (definition.variables.length === 0) {
    report('variables', 'declare at least one variable; load steps read the rows through variables');
  }
  if (definition.loadSteps.length === 0) {
    report('loadSteps', 'add at least one load step; without one the connector loads nothing');
  }
  // A step that can create records without mapping a required field is not refused here: SPEC §6 makes
  // that a row failure (REQUIRED_FIELD_MISSING), and a connector whose matching only ever updates is
  // fine. A step does need at least one mapping rule to do anything at all.
  definition.loadSteps.forEach((step, i) => {
    if (step.mapping.length === 0) {
      report(`loadSteps[${i}].mapping`, `load step "${step.name}" needs at least one mapping rule`);
    }
  });
  if (NEEDS_SQL_TO_ACTIVATE.has(definition.type) && definition.sql === null) {
    report(
      'sql',
      `a ${definition.type} connector needs SQL to fetch its rows; add "sql": { "file": "connector.sql" }`,
    );
  }
  if (definition.sql !== null && definition.sql.trim() === '') {
    report('sql', 'the SQL script is empty; write it or remove "sql"');
  }
  if (definition.type === 'scheduler' && definition.settings.cadence === undefined) {
    report(
      'settings.cadence',
      'a scheduler connector needs a cadence, e.g. "rate(1 hour)" or "cron(0 6 * * ? *)"',
    );
  }
  if (definition.type === 'webhook' && definition.settings.cadence === undefined) {
    report(
      'settings.cadence',
      'a webhook connector needs a cadence: its calls are batched into one execution per window, e.g. "rate(5 minutes)"',
    );
  }
  return issues;
}

function checkSettings(definition: ConnectorDefinition, report: Report): void {
  const { cadence, timezone, defaultCountry } = definition.settings;
  // Exactly what EventBridge Scheduler accepts (core/cadence.ts), so a saved cadence always deploys.
  const parsed = cadence === undefined ? undefined : parseCadence(cadence);
  if (parsed && 'problem' in parsed) report('settings.cadence', parsed.problem);
  if (!IANAZone.isValidZone(timezone)) {
    report(
      'settings.timezone',
      `unknown time zone "${timezone}"; use an IANA name such as "UTC" or "Europe/Paris"`,
    );
  }
  if (!isSupportedCountry(defaultCountry.toUpperCase())) {
    report(
      'settings.defaultCountry',
      `unknown country "${defaultCountry}"; use a two-letter ISO code such as "US"`,
    );
  }
}

/**
 * Without SQL the only scope is `default`. With SQL an absent scope means the only output table, which is
 * ambiguous once the definition names several.
 */
function checkScopes(definition: ConnectorDefinition, report: Report): void {
  const owners = [
    ...definition.variables.map((v, i) => ({
      scope: v.scope,
      path: `variables[${i}].scope`,
      what: `variable "${v.name}"`,
    })),
    ...definition.loadSteps.map((s, i) => ({
      scope: s.scope,
      path: `loadSteps[${i}].scope`,
      what: `load step "${s.name}"`,
    })),
  ];
  const named = [...new Set(owners.map((o) => o.scope).filter((s) => s !== undefined))];
  for (const { scope, path, what } of owners) {
    if (definition.sql === null && scope !== undefined && scope !== DEFAULT_SCOPE) {
      report(
        path,
        `this connector has no SQL, so its only scope is "${DEFAULT_SCOPE}"; remove "scope" or add SQL that creates output.${scope}`,
      );
    } else if (definition.sql !== null && scope === undefined && named.length > 1) {
      report(path, `${what} needs a "scope": the definition names several (${named.join(', ')})`);
    }
  }
}

/**
 * Whether two scopes as written are the same. Without SQL every scope is `default` (one naming anything
 * else is reported once, by checkScopes). With SQL an absent scope is the only one the definition names;
 * when it names several, checkScopes reports the absent one and it matches any scope here.
 */
function sameScope(definition: ConnectorDefinition, a: string | undefined, b: string | undefined): boolean {
  if (definition.sql === null) return true;
  const named = new Set(
    [...definition.variables, ...definition.loadSteps].map((o) => o.scope).filter((s) => s !== undefined),
  );
  const only = named.size === 1 ? [...named][0] : undefined;
  const [x, y] = [a ?? only, b ?? only];
  return x === undefined || y === undefined || x === y;
}

/** Scopes differ only when both are named (see sameScope). */
function describeScope(scope: string | undefined): string {
  return `scope "${scope ?? DEFAULT_SCOPE}"`;
}

/**
 * The variables step `stepIndex` may read, by name: declared variables of its scope and record variables of
 * earlier steps on its scope. Reports (and returns undefined for) anything else, saying why.
 */
function stepVariables(
  definition: ConnectorDefinition,
  objects: ReadonlyMap<string, ObjectDefinition>,
  stepIndex: number,
): (name: string, path: string, report: Report) => StepVariable | undefined {
  const step = definition.loadSteps[stepIndex]!;
  return (name, path, report) => {
    const variable = definition.variables.find((v) => v.name === name);
    if (variable) {
      if (!sameScope(definition, variable.scope, step.scope)) {
        report(
          path,
          `variable "${name}" reads ${describeScope(variable.scope)}, but load step "${step.name}" loads ${describeScope(step.scope)}`,
        );
        return undefined;
      }
      return { type: variable.type, isArray: variable.array !== undefined };
    }
    const from = definition.loadSteps.findIndex((s) => s.recordVariable === name);
    const source = definition.loadSteps[from];
    if (source === undefined) {
      report(path, unknownVariable(definition, stepIndex, name));
      return undefined;
    }
    if (from >= stepIndex) {
      const when =
        from === stepIndex
          ? "is this step's own record variable"
          : `comes from loadSteps[${from}] ("${source.name}"), which runs later`;
      report(path, `record variable "${name}" ${when}; only later steps can read a record variable`);
      return undefined;
    }
    if (!sameScope(definition, source.scope, step.scope)) {
      report(
        path,
        `record variable "${name}" comes from load step "${source.name}" on ${describeScope(source.scope)}, but this step loads ${describeScope(step.scope)}`,
      );
      return undefined;
    }
    // An unknown object is reported on its own step; its records cannot be checked against fields.
    return {
      type: 'uuid',
      isArray: false,
      ...(objects.has(source.object) ? { recordObject: source.object } : {}),
    };
  };
}

function unknownVariable(definition: ConnectorDefinition, stepIndex: number, name: string): string {
  const scope = definition.loadSteps[stepIndex]!.scope;
  const known = [
    ...definition.variables.filter((v) => sameScope(definition, v.scope, scope)).map((v) => v.name),
    ...definition.loadSteps
      .slice(0, stepIndex)
      .filter((s) => s.recordVariable !== undefined && sameScope(definition, s.scope, scope))
      .map((s) => s.recordVariable!),
  ];
  return `unknown variable "${name}"; ${known.length > 0 ? `known variables: ${known.join(', ')}` : 'no variables are declared for this scope'}`;
}

function checkMatchingRule(
  rule: MatchingRule,
  index: number,
  step: LoadStep,
  object: ObjectDefinition | undefined,
  variableOf: ReturnType<typeof stepVariables>,
  path: string,
  report: Report,
): void {
  if (index === step.matching.length - 1) {
    for (const key of MATCH_ACTION_KEYS) {
      if (!CONTINUE_ACTIONS.has(rule[key])) continue;
      const allowed = ACTION_VALUES[key].filter((a) => !CONTINUE_ACTIONS.has(a)).join(', ');
      report(
        `${path}.${key}`,
        `the last matching rule has no next rule to pass the row to; use one of: ${allowed}`,
      );
    }
  }
  const field = rule.field === undefined || !object ? undefined : findField(object, rule.field);
  if (object && rule.field !== undefined && !field) report(`${path}.field`, unknownField(object, rule.field));
  const variable = variableOf(rule.variable, `${path}.variable`, report);
  if (!variable) return;
  if (variable.isArray) {
    report(
      `${path}.variable`,
      `a matching rule compares one value, but variable "${rule.variable}" is a list (it has "array")`,
    );
  } else if (rule.matchByRecordId) {
    if (variable.type !== 'uuid' && variable.type !== 'string') {
      report(
        `${path}.variable`,
        `matchByRecordId compares record ids, so it takes a record variable or a string variable, not the ${variable.type} variable "${rule.variable}"`,
      );
    }
  } else if (field) {
    checkFits(field, rule.variable, variable, `${path}.variable`, report);
  }
}

function checkMappingRule(
  rule: MappingRule,
  field: FieldDefinition | undefined,
  objects: ReadonlyMap<string, ObjectDefinition>,
  variableOf: ReturnType<typeof stepVariables>,
  path: string,
  report: Report,
): void {
  const variablePath = (k: number) =>
    rule.variables.length === 1 ? `${path}.variable` : `${path}.variables[${k}]`;
  const variables = rule.variables.map((name, k) => variableOf(name, variablePath(k), report));
  if (!field) return;

  const joinable = field.type === 'text' || field.type === 'longtext';
  if (rule.variables.length > 1 && !joinable) {
    report(
      `${path}.variables`,
      `several variables can only be joined into a text or longtext field; "${field.apiName}" is a ${field.type} field`,
    );
  }
  if (rule.conflict === 'only_add_options' && field.type !== 'checkboxes') {
    report(
      `${path}.conflict`,
      `only_add_options applies to checkboxes fields; "${field.apiName}" is a ${field.type} field, so use overwrite, overwrite_except_null or only_update_blank`,
    );
  }
  if (rule.createOptions && !OPTION_FIELD_TYPES.has(field.type)) {
    report(
      `${path}.createOptions`,
      `createOptions applies to dropdown, radio and checkboxes fields; "${field.apiName}" is a ${field.type} field`,
    );
  }
  if (rule.lookup !== undefined && field.type !== 'relationship') {
    report(
      `${path}.lookup`,
      `"lookup" applies to relationship fields; "${field.apiName}" is a ${field.type} field`,
    );
    return;
  }
  if (rule.variables.length > 1 && !joinable) return;

  if (field.type === 'relationship') {
    const related = field.relatedObject === undefined ? undefined : objects.get(field.relatedObject);
    if (!related) {
      report(
        `${path}.field`,
        `field "${field.apiName}" points to object ${field.relatedObject ?? '(none)'}, which is not defined`,
      );
      return;
    }
    const variable = variables[0];
    if (rule.lookup !== undefined) {
      const target = findField(related, rule.lookup.field);
      if (!target) report(`${path}.lookup.field`, unknownField(related, rule.lookup.field));
      else if (variable?.isArray)
        report(
          variablePath(0),
          `a lookup compares one value, but variable "${rule.variables[0]}" is a list (it has "array")`,
        );
      else if (variable) checkFits(target, rule.variables[0]!, variable, variablePath(0), report, related);
      return;
    }
    if (variable) checkFits(field, rule.variables[0]!, variable, variablePath(0), report);
    return;
  }
  rule.variables.forEach((name, k) => {
    const variable = variables[k];
    if (variable) checkFits(field, name, variable, variablePath(k), report);
  });
}

/** Reports a variable that does not fit a field (SPEC §6 type table, `typeCompatibility`). */
function checkFits(
  field: FieldDefinition,
  name: string,
  variable: StepVariable,
  path: string,
  report: Report,
  on?: ObjectDefinition,
): void {
  const target = on ? `field "${field.apiName}" of ${on.apiName}` : `field "${field.apiName}"`;
  const problem = typeCompatibility(field.type, variable.type, variable.isArray);
  if (problem !== null) {
    report(path, `variable "${name}" does not fit ${target}: ${problem}`);
  } else if (
    field.type === 'relationship' &&
    variable.recordObject !== undefined &&
    variable.recordObject !== field.relatedObject
  ) {
    report(
      path,
      `record variable "${name}" holds ${variable.recordObject} records, but ${target} points to ${field.relatedObject}`,
    );
  }
}

function knownObject(
  objects: ReadonlyMap<string, ObjectDefinition>,
  apiName: string,
  path: string,
  report: Report,
): ObjectDefinition | undefined {
  const object = objects.get(apiName);
  if (!object) {
    const known = [...objects.keys()].sort();
    report(
      path,
      `unknown object "${apiName}"; ${known.length > 0 ? `known objects: ${known.join(', ')}` : 'no objects are defined'}`,
    );
  }
  return object;
}

function unknownField(object: ObjectDefinition, ref: string): string {
  return `unknown field "${ref}" on object ${object.apiName}; known fields: ${object.fields.map((f) => f.apiName).join(', ')}`;
}
