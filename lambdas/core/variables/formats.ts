import type { AnyVariableType, VariableType } from '../connector-schema.ts';
import {
  BOOLEAN_FORMATS,
  BOOLEAN_OUTPUT_FORMATS,
  booleanInputFormatNamed,
  booleanOutputFormatNamed,
  isInBooleanFormat,
} from './boolean.ts';
import type { BooleanFormat, BooleanOutputFormat } from './boolean.ts';
import {
  DATE_FORMATS,
  DATE_PATTERNS,
  dateInputFormatNamed,
  datePatternNamed,
  isInDateFormat,
} from './date-formats.ts';
import type { DateFormat, DatePattern } from './date-formats.ts';

/**
 * Which `inputFormat` and `outputFormat` each variable type takes. Only `date`, `datetime` and
 * `boolean` values are written in more than one way; the other types take no format.
 */

/** How a column's values are written: a date format (also for datetimes) or a boolean pair. */
export type InputFormat = DateFormat | BooleanFormat;
export type OutputFormat = DatePattern | BooleanOutputFormat;

/** The types whose input format is detected per column. */
export type DetectedType = 'date' | 'datetime' | 'boolean';

export function hasInputFormats(type: VariableType): type is DetectedType {
  return type === 'date' || type === 'datetime' || type === 'boolean';
}

/** The input format `name` stands for with a variable of `type`, or undefined when the type has no such format. */
export function inputFormatNamed(type: VariableType, name: string): InputFormat | undefined {
  if (type === 'date' || type === 'datetime') return dateInputFormatNamed(name);
  if (type === 'boolean') return booleanInputFormatNamed(name);
  return undefined;
}

/** The input format a variable declares (`inputFormat`), normalised; undefined when it declares none or an unknown one. */
export function declaredInputFormat(variable: {
  type: VariableType;
  inputFormat?: string | undefined;
}): InputFormat | undefined {
  return variable.inputFormat === undefined
    ? undefined
    : inputFormatNamed(variable.type, variable.inputFormat);
}

/** The output format `name` stands for with a variable of `type`, or undefined when the type has no such format. */
export function outputFormatNamed(type: AnyVariableType, name: string): OutputFormat | undefined {
  if (type === 'date') return datePatternNamed(name);
  if (type === 'boolean') return booleanOutputFormatNamed(name);
  return undefined;
}

/** The formats a type can be read in, in detection order: for messages and detection. */
export function inputFormatsOf(type: DetectedType): readonly InputFormat[] {
  return type === 'boolean' ? BOOLEAN_FORMATS : DATE_FORMATS;
}

/** The output formats a type can be written in, for messages. */
export function outputFormatsOf(type: AnyVariableType): readonly OutputFormat[] {
  if (type === 'date') return DATE_PATTERNS;
  return type === 'boolean' ? BOOLEAN_OUTPUT_FORMATS : [];
}

/** Whether a raw value of a `type` column is written in `format`: the test of format detection. */
export function isInFormat(type: DetectedType, raw: string | number | boolean, format: InputFormat): boolean {
  if (type === 'boolean') return isInBooleanFormat(raw, format as BooleanFormat);
  if (typeof raw === 'boolean') return false;
  return isInDateFormat(typeof raw === 'number' ? String(raw) : raw.trim(), format as DateFormat);
}
