import type { AnyVariableType } from '../connector-schema.ts';
import type { ScalarValue, VariableValue } from '../model.ts';
import { formatBoolean } from './boolean.ts';
import type { BooleanOutputFormat } from './boolean.ts';
import type { DatePattern } from './date-formats.ts';
import { formatDate } from './date.ts';
import { outputFormatNamed } from './formats.ts';
import { formatNumber } from './number.ts';

/** The variable facts that decide how its value is written. */
export interface FormattedVariable {
  type: AnyVariableType;
  outputFormat?: string | undefined;
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

/**
 * A resolved value as text, for text fields and the report: numbers as plain decimals (`1234.5`),
 * booleans per `outputFormat` (`True`/`False` by default, `Yes`/`No`, `On`/`Off`), dates as
 * `YYYY-MM-DD` or the `outputFormat` pattern (`DD/MM/YYYY`), datetimes as ISO 8601 UTC, lists as their
 * items joined with `, `, and a blank value as `''`.
 */
export function formatVariableValue(value: VariableValue | undefined, variable: FormattedVariable): string {
  if (value === null || value === undefined) return '';
  const outputFormat =
    variable.outputFormat === undefined ? undefined : outputFormatNamed(variable.type, variable.outputFormat);
  if (!Array.isArray(value)) return formatScalar(value, variable.type, outputFormat);
  return value.map((item) => formatScalar(item, variable.type, outputFormat)).join(', ');
}

function formatScalar(value: ScalarValue, type: AnyVariableType, outputFormat: string | undefined): string {
  if (typeof value === 'number') return formatNumber(value);
  if (typeof value === 'boolean') {
    return formatBoolean(
      value,
      type === 'boolean' ? (outputFormat as BooleanOutputFormat | undefined) : undefined,
    );
  }
  if (type === 'date' && outputFormat !== undefined && ISO_DATE.test(value)) {
    return formatDate(value, outputFormat as DatePattern);
  }
  return value;
}
