import { describe, expect, it } from 'vitest';
import { matchingRuleSchema, type MatchingRule } from '../../lambdas/core/connector-schema.ts';
import { DefinitionError } from '../../lambdas/core/errors.ts';
import {
  matchRow,
  matchValueKey,
  type MatchCandidate,
  type MatchDecision,
  type MatchLookup,
} from '../../lambdas/core/matching.ts';
import type { ScalarValue } from '../../lambdas/core/model.ts';
import type { FieldDefinition, FieldType } from '../../lambdas/core/object-schema.ts';

/**
 * Records by the keys of the two fields rules compare: rule 1 reads `email`, rule 2 `phone`, rule 3 `sku`.
 *   A active  a@x    phone 1   sku s1
 *   B active  dup@x  phone 1
 *   C active  dup@x  phone 2
 *   D archived old@x phone 1   (updated in January)
 *   E archived old@x phone 3   (updated in June)
 *   G active  mix@x            H archived mix@x
 */
interface Row extends MatchCandidate {
  email?: string;
  phone?: string;
  sku?: string;
}
const records: Row[] = [
  { id: 'A', archived: false, updatedAt: '2024-01-01T00:00:00.000Z', email: 'a@x', phone: '1', sku: 's1' },
  { id: 'B', archived: false, updatedAt: '2024-01-01T00:00:00.000Z', email: 'dup@x', phone: '1' },
  { id: 'C', archived: false, updatedAt: '2024-01-01T00:00:00.000Z', email: 'dup@x', phone: '2' },
  { id: 'D', archived: true, updatedAt: '2024-01-15T00:00:00.000Z', email: 'old@x', phone: '1' },
  { id: 'E', archived: true, updatedAt: '2024-06-15T00:00:00.000Z', email: 'old@x', phone: '3' },
  { id: 'G', archived: false, updatedAt: '2024-01-01T00:00:00.000Z', email: 'mix@x' },
  { id: 'H', archived: true, updatedAt: '2024-01-01T00:00:00.000Z', email: 'mix@x' },
];
const FIELDS = ['email', 'phone', 'sku'] as const;

function recordingLookup(): { lookup: MatchLookup; calls: [number, string, string[] | null][] } {
  const calls: [number, string, string[] | null][] = [];
  const lookup: MatchLookup = (ruleIndex, key, within) => {
    calls.push([ruleIndex, key, within === null ? null : [...within]]);
    const field = FIELDS[ruleIndex]!;
    return records
      .filter((r) => r[field] === key && (within === null || within.includes(r.id)))
      .map(({ id, archived, updatedAt }) => ({ id, archived, updatedAt }));
  };
  return { lookup, calls };
}

function rule(field: string, actions: Partial<MatchingRule> = {}): MatchingRule {
  return { ...matchingRuleSchema.parse({ field, variable: field }), ...actions };
}

const next = { onSingleMatch: 'next_rule' } as const;

describe('matchRow', () => {
  it('creates without rules, and never looks anything up', () => {
    const { lookup, calls } = recordingLookup();
    expect(matchRow([], [], lookup)).toEqual({ kind: 'create', rule: null });
    expect(calls).toEqual([]);
  });

  it.each<
    [string, MatchingRule[], (string | null)[], Partial<MatchDecision>, [number, string, string[] | null][]]
  >([
    // onNoMatch
    [
      'no match → create_new (default)',
      [rule('email')],
      ['none@x'],
      { kind: 'create', rule: 1 },
      [[0, 'none@x', null]],
    ],
    [
      'no match → do_not_upload',
      [rule('email', { onNoMatch: 'do_not_upload' })],
      ['none@x'],
      { kind: 'skip', code: 'NO_MATCH_DO_NOT_UPLOAD', rule: 1 },
      [[0, 'none@x', null]],
    ],
    [
      'no match → next_rule_ignore_previous searches everything with rule 2',
      [rule('email', { onNoMatch: 'next_rule_ignore_previous' }), rule('phone')],
      ['none@x', '3'],
      { kind: 'create', rule: 2 },
      [
        [0, 'none@x', null],
        [1, '3', null],
      ],
    ],
    // blank values
    ['blank value → no match, no look-up', [rule('email')], [null], { kind: 'create', rule: 1 }, []],
    [
      'blank value → onNoMatch do_not_upload',
      [rule('email', { onNoMatch: 'do_not_upload' })],
      [null],
      { kind: 'skip', code: 'NO_MATCH_DO_NOT_UPLOAD', rule: 1 },
      [],
    ],
    [
      'blank value after narrowing → no match on that rule',
      [rule('email', next), rule('phone', { onNoMatch: 'do_not_upload' })],
      ['a@x', null],
      { kind: 'skip', code: 'NO_MATCH_DO_NOT_UPLOAD', rule: 2 },
      [[0, 'a@x', null]],
    ],
    // onSingleMatch
    [
      'single match → update_current (default)',
      [rule('email')],
      ['a@x'],
      { kind: 'update', recordId: 'A', rule: 1, unarchive: false },
      [[0, 'a@x', null]],
    ],
    [
      'single match → do_not_upload',
      [rule('email', { onSingleMatch: 'do_not_upload' })],
      ['a@x'],
      { kind: 'skip', code: 'SINGLE_MATCH_DO_NOT_UPLOAD', rule: 1, recordId: 'A' },
      [[0, 'a@x', null]],
    ],
    [
      'single match → next_rule narrows to it; rule 2 confirms it',
      [rule('email', next), rule('phone')],
      ['a@x', '1'],
      { kind: 'update', recordId: 'A', rule: 2 },
      [
        [0, 'a@x', null],
        [1, '1', ['A']],
      ],
    ],
    [
      'single match → next_rule; rule 2 finds nothing among it → create_new creates a new record',
      [rule('email', next), rule('phone')],
      ['a@x', '2'],
      { kind: 'create', rule: 2 },
      [
        [0, 'a@x', null],
        [1, '2', ['A']],
      ],
    ],
    [
      'single match → next_rule_ignore_previous searches all again',
      [rule('email', { onSingleMatch: 'next_rule_ignore_previous' }), rule('phone')],
      ['a@x', '2'],
      { kind: 'update', recordId: 'C', rule: 2 },
      [
        [0, 'a@x', null],
        [1, '2', null],
      ],
    ],
    // onMultipleMatches
    [
      'multiple matches → do_not_upload (default)',
      [rule('email')],
      ['dup@x'],
      { kind: 'skip', code: 'MULTIPLE_MATCHES', rule: 1 },
      [[0, 'dup@x', null]],
    ],
    [
      'multiple matches → next_rule narrows to them',
      [rule('email', { onMultipleMatches: 'next_rule' }), rule('phone')],
      ['dup@x', '1'],
      { kind: 'update', recordId: 'B', rule: 2 },
      [
        [0, 'dup@x', null],
        [1, '1', ['B', 'C']],
      ],
    ],
    [
      'multiple matches → next_rule_ignore_previous: phone 1 is on A and B too',
      [rule('email', { onMultipleMatches: 'next_rule_ignore_previous' }), rule('phone')],
      ['dup@x', '1'],
      { kind: 'skip', code: 'MULTIPLE_MATCHES', rule: 2 },
      [
        [0, 'dup@x', null],
        [1, '1', null],
      ],
    ],
    // onArchivedMatch
    [
      'archived match → create_new (default)',
      [rule('email')],
      ['old@x'],
      { kind: 'create', rule: 1 },
      [[0, 'old@x', null]],
    ],
    [
      'archived match → unarchive_and_update the most recently updated',
      [rule('email', { onArchivedMatch: 'unarchive_and_update' })],
      ['old@x'],
      { kind: 'update', recordId: 'E', rule: 1, unarchive: true },
      [[0, 'old@x', null]],
    ],
    [
      'archived match → unarchive_only the most recently updated',
      [rule('email', { onArchivedMatch: 'unarchive_only' })],
      ['old@x'],
      { kind: 'unarchive_only', recordId: 'E', rule: 1 },
      [[0, 'old@x', null]],
    ],
    [
      'archived match → do_not_upload',
      [rule('email', { onArchivedMatch: 'do_not_upload' })],
      ['old@x'],
      { kind: 'skip', code: 'ARCHIVED_MATCH_DO_NOT_UPLOAD', rule: 1 },
      [[0, 'old@x', null]],
    ],
    [
      'archived match → next_rule narrows to the archived ones; rule 2 decides on its own archived match',
      [
        rule('email', { onArchivedMatch: 'next_rule' }),
        rule('phone', { onArchivedMatch: 'unarchive_and_update' }),
      ],
      ['old@x', '1'],
      { kind: 'update', recordId: 'D', rule: 2, unarchive: true },
      [
        [0, 'old@x', null],
        [1, '1', ['D', 'E']],
      ],
    ],
    [
      'archived match → next_rule_ignore_previous',
      [rule('email', { onArchivedMatch: 'next_rule_ignore_previous' }), rule('phone')],
      ['old@x', '2'],
      { kind: 'update', recordId: 'C', rule: 2 },
      [
        [0, 'old@x', null],
        [1, '2', null],
      ],
    ],
    [
      'an active match wins over archived ones',
      [rule('email', { onArchivedMatch: 'do_not_upload' })],
      ['mix@x'],
      { kind: 'update', recordId: 'G', rule: 1 },
      [[0, 'mix@x', null]],
    ],
    // chains
    [
      'ignore_previous after narrowing drops the narrowing',
      [rule('email', next), rule('phone', { onSingleMatch: 'next_rule_ignore_previous' }), rule('sku')],
      ['a@x', '1', 's1'],
      { kind: 'update', recordId: 'A', rule: 3 },
      [
        [0, 'a@x', null],
        [1, '1', ['A']],
        [2, 's1', null],
      ],
    ],
    [
      'narrowing twice keeps narrowing',
      [rule('email', { onMultipleMatches: 'next_rule' }), rule('phone', next), rule('sku')],
      ['dup@x', '1', 's1'],
      { kind: 'create', rule: 3 },
      [
        [0, 'dup@x', null],
        [1, '1', ['B', 'C']],
        [2, 's1', ['B']],
      ],
    ],
  ])('%s', (_, rules, keys, expected, lookups) => {
    const { lookup, calls } = recordingLookup();
    expect(matchRow(rules, keys, lookup)).toMatchObject(expected);
    expect(calls).toEqual(lookups);
  });

  it('explains skips with the rule, its value and the records found', () => {
    const { lookup } = recordingLookup();
    const multiple = matchRow([rule('email')], ['dup@x'], lookup);
    expect(multiple).toEqual({
      kind: 'skip',
      code: 'MULTIPLE_MATCHES',
      rule: 1,
      message: 'matching rule 1 (email = "dup@x") found 2 records (B, C); the rule says do_not_upload',
    });
    const blank = matchRow([rule('email', { onNoMatch: 'do_not_upload' })], [null], lookup);
    expect(blank).toMatchObject({
      message: 'matching rule 1 (email = blank) found no record; the rule says do_not_upload',
    });
  });

  it('lists at most five ids', () => {
    const many = Array.from({ length: 7 }, (_, i) => ({ id: `r${i}`, archived: false, updatedAt: '' }));
    const decision = matchRow([rule('email')], ['k'], () => many);
    expect(decision).toMatchObject({
      message: expect.stringContaining('found 7 records (r0, r1, r2, r3, r4, …)'),
    });
  });

  it('names matchByRecordId rules "record id"', () => {
    const byId = {
      ...matchingRuleSchema.parse({ matchByRecordId: true, variable: 'id' }),
      onNoMatch: 'do_not_upload' as const,
    };
    expect(matchRow([byId], ['x'], () => [])).toMatchObject({
      message: 'matching rule 1 (record id = "x") found no record; the rule says do_not_upload',
    });
  });

  it('breaks a tie between archived records on update time by the smallest id', () => {
    const tied = [
      { id: 'z', archived: true, updatedAt: '2024-01-01T00:00:00.000Z' },
      { id: 'b', archived: true, updatedAt: '2024-01-01T00:00:00Z' },
    ];
    expect(matchRow([rule('email', { onArchivedMatch: 'unarchive_only' })], ['k'], () => tied)).toEqual({
      kind: 'unarchive_only',
      recordId: 'b',
      rule: 1,
    });
  });

  it.each(['onNoMatch', 'onSingleMatch', 'onMultipleMatches', 'onArchivedMatch'] as const)(
    'a last rule that continues from %s is a definition error',
    (action) => {
      const { lookup } = recordingLookup();
      const keys = {
        onNoMatch: 'none@x',
        onSingleMatch: 'a@x',
        onMultipleMatches: 'dup@x',
        onArchivedMatch: 'old@x',
      };
      const last = rule('email', { [action]: 'next_rule_ignore_previous' });
      expect(() => matchRow([last], [keys[action]], lookup)).toThrow(DefinitionError);
    },
  );
});

describe('matchValueKey', () => {
  const field = (type: FieldType, options: string[] = []): FieldDefinition => ({
    apiName: 'f',
    label: 'F',
    type,
    required: false,
    options,
  });
  const format = (v: ScalarValue) => String(v);

  it.each<
    [
      string,
      FieldDefinition | null,
      Parameters<typeof matchValueKey>[1],
      Parameters<typeof matchValueKey>[2],
      string | null,
    ]
  >([
    ['record id, case-insensitive', null, 'uuid', ' ABC-1 ', 'abc-1'],
    ['record id from a string variable', null, 'string', 'abc', 'abc'],
    ['record id, blank', null, 'uuid', null, null],
    ['text, trimmed and lowercased', field('text'), 'string', ' Widget ', 'widget'],
    ['text from a number, formatted', field('text'), 'number', 41, '41'],
    ['email, lowercased', field('email'), 'email', 'Ann@Example.com', 'ann@example.com'],
    ['phone', field('phone'), 'phone', '+14155550100', '+14155550100'],
    ['decimal, numerically', field('decimal'), 'number', 16.5, '16.5'],
    ['integer with a fraction never matches', field('integer'), 'number', 16.5, null],
    ['checkbox', field('checkbox'), 'boolean', false, 'false'],
    ['datetime from a date', field('datetime'), 'date', '2024-05-01', '2024-05-01t00:00:00.000z'],
    ['dropdown, by label', field('dropdown', ['Red']), 'string', 'RED', 'red'],
    ['dropdown, unknown label still has a key', field('dropdown', ['Red']), 'string', 'Teal', 'teal'],
    ['checkboxes, one label', field('checkboxes', ['Sale']), 'string', 'sale', 'sale'],
    ['relationship, by id', field('relationship'), 'uuid', 'ID-1', 'id-1'],
    ['blank', field('text'), 'string', '  ', null],
    ['mismatched type never matches', field('integer'), 'string', '4', null],
  ])('%s', (_, f, type, value, key) => {
    expect(matchValueKey(f, type, value, format)).toBe(key);
  });
});
