import type { FieldValue, ResolvedRow, RowIssue, RowResult, VariableValue } from './model.ts';

/**
 * The execution report's sheets, columns and cell values (SPEC §7), as plain data. The XLSX writer only
 * streams what these functions return, so every rule about what a cell holds lives here.
 */

/** Excel's limits: https://support.microsoft.com/office/excel-specifications-and-limits-1672b34d-7043-467e-8e27-269d656771c3 */
export const MAX_SHEET_NAME_LENGTH = 31;
/** 1,048,576 rows per sheet, one of them the header. */
export const MAX_DATA_ROWS_PER_SHEET = 1_048_575;
export const MAX_CELL_TEXT_LENGTH = 32_767;

/** A cell is always a literal: text, a number, a boolean, or empty (null). Never a formula. */
export type ReportCell = string | number | boolean | null;

export interface ReportColumn {
  header: string;
  /** Width in characters. */
  width: number;
}

/** One sheet of the report: its wanted title (before cutting and de-duplication), columns, and row → cells. */
export interface SheetLayout<T> {
  title: string;
  columns: ReportColumn[];
  /** `index` is the 0-based position of the item in its sheet's source. */
  cells(item: T, index: number): ReportCell[];
}

export type SummaryItem = [label: string, value: string | number | boolean | null];

// ---------------------------------------------------------------------------------------------------
// Sheet names

// Excel refuses these in sheet names (control characters would not survive the XML either), names that
// start or end with an apostrophe, and `History`, which it keeps for change tracking.
// eslint-disable-next-line no-control-regex
const FORBIDDEN_SHEET_NAME_CHARS = /[\\/?*[\]:\u0000-\u001f\u007f\ufffe\uffff]/g;
const EDGE_APOSTROPHES = /^'+|'+$/g;
const RESERVED_SHEET_NAMES = ['history'];
const FALLBACK_SHEET_NAME = 'Sheet';

/**
 * A valid, unique sheet name for `wanted`: forbidden characters stripped, cut to 31 characters, and a
 * ` 2`, ` 3`… suffix while the name is taken (Excel compares names case-insensitively). `part` > 1 names
 * the continuation of a sheet past Excel's row limit: `Name 2`, `Name 3`…; suffixes are never cut off,
 * the name before them is.
 */
export function sheetName(wanted: string, taken: ReadonlySet<string>, part = 1): string {
  const base = wanted.replace(FORBIDDEN_SHEET_NAME_CHARS, '').replace(EDGE_APOSTROPHES, '').trim();
  const stem = base === '' ? FALLBACK_SHEET_NAME : base;
  const takenKeys = new Set([...RESERVED_SHEET_NAMES, ...[...taken].map((name) => name.toLowerCase())]);
  const partSuffix = part > 1 ? ` ${part}` : '';
  for (let copy = 1; ; copy++) {
    const suffix = partSuffix + (copy > 1 ? ` ${copy}` : '');
    const cut = cutText(stem, MAX_SHEET_NAME_LENGTH - suffix.length)
      .replace(EDGE_APOSTROPHES, '')
      .trimEnd();
    const candidate = (cut === '' ? FALLBACK_SHEET_NAME : cut) + suffix;
    if (!takenKeys.has(candidate.toLowerCase())) return candidate;
  }
}

// ---------------------------------------------------------------------------------------------------
// Sheet layouts

const ROW_COLUMN: ReportColumn = { header: 'Row', width: 8 };

export function summaryLayout(): SheetLayout<SummaryItem> {
  return {
    title: 'Summary Stats',
    columns: [
      { header: 'Item', width: 32 },
      { header: 'Value', width: 60 },
    ],
    cells: ([label, value]) => [textCell(label), scalarCell(value)],
  };
}

/** SQL output keeps every value as the engine typed it: a number-looking string stays a string. */
export function sqlOutputLayout(scope: string, columns: string[]): SheetLayout<Record<string, unknown>> {
  return {
    title: `SQL Output (${scope})`,
    columns: [ROW_COLUMN, ...columns.map(dataColumn)],
    cells: (record, index) => [index + 1, ...columns.map((column) => sqlCell(record[column]))],
  };
}

export function variablesLayout(scope: string, variables: string[]): SheetLayout<ResolvedRow> {
  return {
    title: `Extracted Variables (${scope})`,
    columns: [
      ROW_COLUMN,
      ...variables.map(dataColumn),
      { header: 'Status', width: 10 },
      { header: 'Error Codes', width: 30 },
      { header: 'Errors', width: 60 },
    ],
    cells: (resolved) => [
      resolved.row,
      ...variables.map((variable) => valueCell(resolved.values[variable])),
      resolved.errors.length === 0 ? 'valid' : 'invalid',
      joinCodes([], resolved.errors),
      joinMessages(resolved.errors),
    ],
  };
}

export function uploadLayout(objectName: string, scope: string, fields: string[]): SheetLayout<RowResult> {
  return {
    title: `${objectName} Upload (${scope})`,
    columns: [
      ROW_COLUMN,
      { header: 'Status', width: 12 },
      { header: 'Record ID', width: 38 },
      { header: 'Matched Rule', width: 13 },
      { header: 'Codes', width: 30 },
      { header: 'Errors', width: 60 },
      { header: 'Warnings', width: 60 },
      ...fields.map(dataColumn),
    ],
    cells: (result) => [
      result.row,
      result.outcome,
      result.recordId === null ? null : textCell(result.recordId),
      result.matchedRule,
      joinCodes(result.code === null ? [] : [result.code], result.errors, result.warnings),
      joinMessages(result.errors),
      joinMessages(result.warnings),
      ...fields.map((field) => valueCell(result.written[field])),
    ],
  };
}

function dataColumn(header: string): ReportColumn {
  return { header: textCell(header), width: Math.min(Math.max(header.length + 2, 12), 40) };
}

function joinCodes(first: string[], ...issueLists: RowIssue[][]): ReportCell {
  const codes = new Set(first);
  for (const issues of issueLists) for (const issue of issues) codes.add(issue.code);
  return codes.size === 0 ? null : textCell([...codes].join(', '));
}

function joinMessages(issues: RowIssue[]): ReportCell {
  return issues.length === 0 ? null : textCell(issues.map((issue) => issue.message).join('; '));
}

// ---------------------------------------------------------------------------------------------------
// Cell values

/**
 * A variable or field value: scalars keep their type, a list becomes `a, b, c`, blank stays empty.
 */
export function valueCell(value: VariableValue | FieldValue | undefined): ReportCell {
  if (value === undefined) return null;
  if (Array.isArray(value)) return value.length === 0 ? null : textCell(value.join(', '));
  return scalarCell(value);
}

/**
 * A value from the SQL engine: scalars keep their type, lists and objects become JSON text, dates ISO
 * text, and a 64-bit integer too large for a double becomes its exact digits.
 */
export function sqlCell(value: unknown): ReportCell {
  switch (typeof value) {
    case 'string':
    case 'number':
    case 'boolean':
      return scalarCell(value);
    case 'bigint':
      return Number.isSafeInteger(Number(value)) ? Number(value) : String(value);
    case 'undefined':
      return null;
    case 'object':
      if (value === null) return null;
      if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
      return textCell(JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? String(v) : v)));
    default:
      return textCell(String(value));
  }
}

function scalarCell(value: string | number | boolean | null): ReportCell {
  if (typeof value === 'string') return textCell(value);
  // Excel has no NaN or Infinity: a number cell holding one makes the whole file unreadable.
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  return value;
}

// U+FFFE and U+FFFF are not allowed in XML: one of them makes Excel refuse the whole file. (exceljs drops
// the control characters XML forbids, and Node encodes a lone surrogate as U+FFFD.)
const NON_XML_CHARS = /[\ufffe\uffff]/g;

/**
 * Text that fits in one cell and in XML. Longer text is cut and ends with a note of its full length, so a
 * reader sees that the cell is incomplete.
 */
export function textCell(value: string): string {
  const text = value.replace(NON_XML_CHARS, '');
  if (text.length <= MAX_CELL_TEXT_LENGTH) return text;
  const note = `… [truncated: ${text.length} characters]`;
  return cutText(text, MAX_CELL_TEXT_LENGTH - note.length) + note;
}

/** The first `length` UTF-16 units of `text`, one fewer when the cut would split a surrogate pair. */
function cutText(text: string, length: number): string {
  if (text.length <= length) return text;
  const last = text.charCodeAt(length - 1);
  return text.slice(0, last >= 0xd800 && last <= 0xdbff ? length - 1 : length);
}
