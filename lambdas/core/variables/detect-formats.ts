import type { VariableDeclaration } from './declaration.ts';
import { declaredInputFormat, hasInputFormats, inputFormatsOf, isInFormat } from './formats.ts';
import type { DetectedType, InputFormat } from './formats.ts';

/**
 * The input format of each `date`, `datetime` and `boolean` variable, by variable name: the explicit
 * `inputFormat`, else the detected one. `undefined` means no single format fits the column: each value
 * is then read in the first format of the list that reads it (our rule for mixed-form columns, which
 * SPEC §5 leaves open).
 */
export type DetectedFormats = Record<string, InputFormat | undefined>;

/** Streams a scope's rows once, before resolution, to choose each column's input format (SPEC §5). */
export interface FormatDetector {
  /** Look at one raw SQL output row. */
  observe(rawRow: Readonly<Record<string, unknown>>): void;
  /** The formats chosen from the rows observed so far. */
  result(): DetectedFormats;
}

interface Column {
  name: string;
  source: string;
  type: DetectedType;
  formats: readonly InputFormat[];
  /** Bit i set: `formats[i]` has read every value seen so far. */
  candidates: number;
  /** Some value fit no remaining candidate but another format: no single format fits the column. */
  mixed: boolean;
  sawValue: boolean;
}

/**
 * A detector for the columns of `variables`. The first format of the list that reads every non-blank
 * value wins, so a column where both month-first and day-first fit (`01/02/2024`) is read month-first
 * and one `13/01/2024` makes it day-first. Values no format reads (`n/a`) are left out of detection:
 * they are invalid whatever the format, and must not push a clean column into per-value reading.
 * Cost: one test per value and remaining candidate; memory: a few numbers per column.
 */
export function createFormatDetector(variables: readonly VariableDeclaration[]): FormatDetector {
  const fixed: DetectedFormats = {};
  const columns: Column[] = [];
  for (const v of variables) {
    if (!hasInputFormats(v.type)) continue;
    if (v.inputFormat !== undefined) {
      fixed[v.name] = declaredInputFormat(v);
    } else if (v.value === undefined) {
      const formats = inputFormatsOf(v.type);
      const candidates = 2 ** formats.length - 1;
      columns.push({
        name: v.name,
        source: v.source ?? v.name,
        type: v.type,
        formats,
        candidates,
        mixed: false,
        sawValue: false,
      });
    }
  }

  return {
    observe(rawRow) {
      for (const column of columns) {
        if (column.mixed || !Object.hasOwn(rawRow, column.source)) continue;
        const raw = rawRow[column.source];
        if (typeof raw === 'string') {
          const text = raw.trim();
          if (text !== '') narrow(column, text);
        } else if (typeof raw === 'number' || typeof raw === 'boolean') {
          narrow(column, raw);
        }
      }
    },
    result() {
      const detected: DetectedFormats = { ...fixed };
      for (const column of columns) {
        const first = 31 - Math.clz32(column.candidates & -column.candidates);
        detected[column.name] = column.mixed || !column.sawValue ? undefined : column.formats[first];
      }
      return detected;
    },
  };
}

function narrow(column: Column, raw: string | number | boolean): void {
  const { formats, type } = column;
  let fitting = 0;
  for (let i = 0, bit = 1; i < formats.length; i++, bit <<= 1) {
    if ((column.candidates & bit) !== 0 && isInFormat(type, raw, formats[i] as InputFormat)) fitting |= bit;
  }
  if (fitting !== 0) {
    column.candidates = fitting;
    column.sawValue = true;
    return;
  }
  // Only a value no remaining candidate reads pays for a test of the other formats.
  for (let i = 0, bit = 1; i < formats.length; i++, bit <<= 1) {
    if ((column.candidates & bit) === 0 && isInFormat(type, raw, formats[i] as InputFormat)) {
      column.mixed = true;
      return;
    }
  }
}
