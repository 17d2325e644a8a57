import type { RowOutcome } from './model.ts';

/** Where a row code appears: as the reason of an outcome, or as a warning on a row that was loaded. */
export type RowCodeKind = Exclude<RowOutcome, 'created' | 'updated'> | 'warning';

/**
 * The stable codes a load step puts on a row (SPEC §6), each with the outcome it explains and its meaning.
 * Codes never change once published: the report, the webhook and users' automations rely on them.
 * Variable resolution has its own codes (`REQUIRED_MISSING`, `INVALID_NUMBER`…) for invalid rows, which
 * never reach a load step.
 */
export const ROW_CODES = {
  NO_MATCH_DO_NOT_UPLOAD: {
    kind: 'skipped',
    meaning: 'No record matched (or the match value was blank) and the rule says onNoMatch: do_not_upload.',
  },
  SINGLE_MATCH_DO_NOT_UPLOAD: {
    kind: 'skipped',
    meaning: 'Exactly one record matched and the rule says onSingleMatch: do_not_upload.',
  },
  MULTIPLE_MATCHES: {
    kind: 'skipped',
    meaning: 'Several active records matched and the rule says onMultipleMatches: do_not_upload.',
  },
  ARCHIVED_MATCH_DO_NOT_UPLOAD: {
    kind: 'skipped',
    meaning: 'Only archived records matched and the rule says onArchivedMatch: do_not_upload.',
  },
  NO_CHANGES: {
    kind: 'unchanged',
    meaning: 'The matched record already holds every value the step would write.',
  },
  DIFF_UNCHANGED: {
    kind: 'unchanged',
    meaning: 'Diff check: the previous successful live run loaded the same values for this step.',
  },
  REQUIRED_FIELD_MISSING: {
    kind: 'failed',
    meaning:
      'A required field would be blank: the record would be created without it, or an update would clear it.',
  },
  UNKNOWN_OPTION: {
    kind: 'failed',
    meaning:
      'A value is not one of the option labels of a dropdown, radio or checkboxes field (no createOptions).',
  },
  INVALID_INTEGER: {
    kind: 'failed',
    meaning: 'An integer field was given a number with a fraction.',
  },
  TYPE_MISMATCH: {
    kind: 'failed',
    meaning: 'A value does not fit the field type; the definition no longer matches the object.',
  },
  RELATED_RECORD_NOT_FOUND: {
    kind: 'warning',
    meaning: 'No related record was found for a relationship field, so the field was not written.',
  },
  RELATED_RECORD_AMBIGUOUS: {
    kind: 'warning',
    meaning: 'Several related records were found for a relationship field, so the field was not written.',
  },
  OPTION_CREATED: {
    kind: 'warning',
    meaning: 'A new option label was added to a field because its mapping rule sets createOptions.',
  },
  CANCELLED: {
    kind: 'unprocessed',
    meaning: 'The execution was cancelled before this row was loaded.',
  },
  STOP_RULE: {
    kind: 'unprocessed',
    meaning: 'The run stopped before this row because maxFailedRowsPercent was exceeded.',
  },
  EXECUTION_FAILED: {
    kind: 'unprocessed',
    meaning: 'The execution failed before this row was loaded.',
  },
} as const satisfies Record<string, { kind: RowCodeKind; meaning: string }>;

export type RowCode = keyof typeof ROW_CODES;
