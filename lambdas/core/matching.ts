import type { AnyVariableType, MatchAction, MatchingRule } from './connector-schema.ts';
import { DefinitionError } from './errors.ts';
import { toFieldValue, type FormatScalar } from './field-values.ts';
import { matchKey } from './match-keys.ts';
import type { VariableValue } from './model.ts';
import type { FieldDefinition } from './object-schema.ts';
import type { RowCode } from './row-codes.ts';

/** A record found by a matching rule. */
export interface MatchCandidate {
  id: string;
  archived: boolean;
  /** ISO 8601; picks the archived record to use when several match. */
  updatedAt: string;
}

/**
 * The records (archived ones too) whose field of rule `ruleIndex` (0-based) has match key `key`, as the
 * run sees them now. `within` narrows the search to these record ids; null searches every record.
 */
export type MatchLookup = (
  ruleIndex: number,
  key: string,
  within: readonly string[] | null,
) => readonly MatchCandidate[];

/** What a load step does with a row. `rule` is the 1-based matching rule that decided; null without rules. */
export type MatchDecision =
  | { kind: 'create'; rule: number | null }
  | { kind: 'update'; recordId: string; rule: number; unarchive: boolean }
  | { kind: 'unarchive_only'; recordId: string; rule: number }
  | {
      kind: 'skip';
      code: RowCode;
      message: string;
      rule: number;
      /** The single record matched, for SINGLE_MATCH_DO_NOT_UPLOAD: the step's record variable still holds it. */
      recordId?: string;
    };

/** Actions that hand the row to the next rule; the last rule may not use them. */
export const CONTINUE_ACTIONS: ReadonlySet<MatchAction> = new Set(['next_rule', 'next_rule_ignore_previous']);

/** The four actions of a rule, by the name they have in the definition. */
export const MATCH_ACTION_KEYS = [
  'onNoMatch',
  'onSingleMatch',
  'onMultipleMatches',
  'onArchivedMatch',
] as const;

/** Ids listed in a skip message before "…". */
const LISTED_IDS = 5;

/** What a rule found: one active record, several, only archived ones, or none. */
type Situation = 'single' | 'multiple' | 'archived' | 'none';

const SKIP_CODES: Record<Situation, RowCode> = {
  single: 'SINGLE_MATCH_DO_NOT_UPLOAD',
  multiple: 'MULTIPLE_MATCHES',
  archived: 'ARCHIVED_MATCH_DO_NOT_UPLOAD',
  none: 'NO_MATCH_DO_NOT_UPLOAD',
};

const FOUND: Record<Situation, (found: readonly MatchCandidate[]) => string> = {
  single: (found) => `record ${found[0]!.id}`,
  multiple: (found) => `${found.length} records (${listIds(found)})`,
  archived: (found) => `only archived records (${listIds(found)})`,
  none: () => 'no record',
};

/**
 * Decides, for one row, whether a load step creates, updates, unarchives or skips (SPEC §6).
 * `keys[i]` is the row's match key for rule i (see `matchValueKey`); null means blank, which counts as no
 * match without a look-up.
 *
 * Per rule, in order: one active (non-archived) candidate → `onSingleMatch`; several → `onMultipleMatches`;
 * none active but archived ones → `onArchivedMatch`, using the most recently updated archived record (ties:
 * the smallest id); none → `onNoMatch`. `next_rule` passes the rule's candidates on, so the next rule
 * searches only among them (after an archived match: the archived candidates); `next_rule_ignore_previous`
 * searches every record again. `create_new` always creates a new record, also after narrowing.
 */
export function matchRow(
  rules: readonly MatchingRule[],
  keys: readonly (string | null)[],
  lookup: MatchLookup,
): MatchDecision {
  if (rules.length === 0) return { kind: 'create', rule: null };
  let within: readonly string[] | null = null;
  for (const [index, rule] of rules.entries()) {
    const number = index + 1;
    const key = keys[index] ?? null;
    const candidates: readonly MatchCandidate[] = key === null ? [] : lookup(index, key, within);
    const active = candidates.filter((c) => !c.archived);
    const archived = candidates.filter((c) => c.archived);
    const [situation, action, found]: [Situation, MatchAction, readonly MatchCandidate[]] =
      active.length === 1
        ? ['single', rule.onSingleMatch, active]
        : active.length > 1
          ? ['multiple', rule.onMultipleMatches, active]
          : archived.length > 0
            ? ['archived', rule.onArchivedMatch, archived]
            : ['none', rule.onNoMatch, []];

    switch (action) {
      case 'create_new':
        return { kind: 'create', rule: number };
      case 'update_current':
        return { kind: 'update', recordId: found[0]!.id, rule: number, unarchive: false };
      case 'unarchive_and_update':
        return { kind: 'update', recordId: mostRecentlyUpdated(found).id, rule: number, unarchive: true };
      case 'unarchive_only':
        return { kind: 'unarchive_only', recordId: mostRecentlyUpdated(found).id, rule: number };
      case 'do_not_upload': {
        const about = `matching rule ${number} (${rule.field ?? 'record id'} = ${key === null ? 'blank' : JSON.stringify(key)})`;
        const message = `${about} found ${FOUND[situation](found)}; the rule says do_not_upload`;
        const skip: MatchDecision = { kind: 'skip', code: SKIP_CODES[situation], message, rule: number };
        return situation === 'single' ? { ...skip, recordId: found[0]!.id } : skip;
      }
      case 'next_rule':
        within = found.map((c) => c.id);
        break;
      case 'next_rule_ignore_previous':
        within = null;
        break;
    }
  }
  // Definition checks reject a last rule that continues; a definition that skipped them is a bug, not a row error.
  throw new DefinitionError('matching rules', [
    {
      path: `matching[${rules.length - 1}]`,
      message: 'the last matching rule may not use next_rule or next_rule_ignore_previous',
    },
  ]);
}

/**
 * The match key of a row's value for a rule comparing it with `field` (null: the record id), normalised like
 * the stored values it is compared with (`core/match-keys.ts`): the value is first converted as it would be
 * written into the field. Null when the value is blank or can never equal a stored value.
 */
export function matchValueKey(
  field: FieldDefinition | null,
  variableType: AnyVariableType,
  value: VariableValue,
  format: FormatScalar,
): string | null {
  if (field === null) return typeof value === 'string' ? matchKey({ type: 'text' }, value) : null;
  const converted = toFieldValue(field, variableType, value, format, { createOptions: true });
  return matchKey(field, converted.value);
}

function mostRecentlyUpdated(candidates: readonly MatchCandidate[]): MatchCandidate {
  const time = (c: MatchCandidate) => Date.parse(c.updatedAt) || 0;
  return [...candidates].sort((a, b) => time(b) - time(a) || a.id.localeCompare(b.id))[0]!;
}

/** Record ids for a message: the first few, then "…". */
export function listIds(records: readonly (string | { id: string })[]): string {
  const ids = records.slice(0, LISTED_IDS).map((r) => (typeof r === 'string' ? r : r.id));
  return records.length > LISTED_IDS ? `${ids.join(', ')}, …` : ids.join(', ');
}
