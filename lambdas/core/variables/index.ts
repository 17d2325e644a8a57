/**
 * Execution variables (SPEC §5): reading raw SQL output values into typed, validated values,
 * detecting each column's input format, and writing values back as text.
 */
export { createFormatDetector } from './detect-formats.ts';
export type { DetectedFormats, FormatDetector } from './detect-formats.ts';
export { createRowResolver, resolveRow } from './resolve.ts';
export type { RowResolver } from './resolve.ts';
export { variableDefinitionIssues } from './definition-issues.ts';
export { formatVariableValue } from './format.ts';
export type { FormattedVariable } from './format.ts';
export { createCoercionContext, createValueReader } from './coerce.ts';
export type { CoercionContext, ValueReader } from './coerce.ts';
export type { ResolveOptions, VariableDeclaration } from './declaration.ts';
export { INVALID_VALUE_CODES, REQUIRED_MISSING, VARIABLE_ERROR_CODES } from './issues.ts';
export type { VariableErrorCode } from './issues.ts';
export { BOOLEAN_FORMATS, BOOLEAN_OUTPUT_FORMATS, parseBoolean } from './boolean.ts';
export type { BooleanFormat, BooleanOutputFormat } from './boolean.ts';
export { DATE_FORMATS, DATE_PATTERNS } from './date-formats.ts';
export type { DateFormat, DatePattern } from './date-formats.ts';
export { parseDate, formatDate } from './date.ts';
export { createTimeZone, parseDatetime } from './datetime.ts';
export type { TimeZone } from './datetime.ts';
export { parseEmail } from './email.ts';
export { parsePhone, phoneCountry } from './phone.ts';
export { formatNumber, parseNumber } from './number.ts';
export { inputFormatNamed, outputFormatNamed } from './formats.ts';
export type { InputFormat, OutputFormat } from './formats.ts';
