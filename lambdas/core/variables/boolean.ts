/**
 * `boolean` values (SPEC §5): true/false, yes/no, on/off, 1/0, t/f, checked/unchecked, in any case.
 * Each pair is also an input format, so a connector can insist on one of them.
 */

/** The pairs in detection order; an `inputFormat` names one of them. */
export const BOOLEAN_FORMATS = [
  'true_false',
  'yes_no',
  'on_off',
  'one_zero',
  't_f',
  'checked_unchecked',
] as const;
export type BooleanFormat = (typeof BOOLEAN_FORMATS)[number];

const PAIRS: Record<BooleanFormat, readonly [string, string]> = {
  true_false: ['true', 'false'],
  yes_no: ['yes', 'no'],
  on_off: ['on', 'off'],
  one_zero: ['1', '0'],
  t_f: ['t', 'f'],
  checked_unchecked: ['checked', 'unchecked'],
};

// Every word belongs to exactly one pair, so one lookup gives both the value and its pair.
const WORDS = new Map<string, { value: boolean; format: BooleanFormat }>(
  BOOLEAN_FORMATS.flatMap((format) => [
    [PAIRS[format][0], { value: true, format }],
    [PAIRS[format][1], { value: false, format }],
  ]),
);

/**
 * The boolean in `raw`, or undefined when it is not one of the words (of the `format` pair, when
 * given). JSON booleans are taken as is, whatever the format.
 */
export function parseBoolean(
  raw: string | number | boolean,
  format: BooleanFormat | undefined,
): boolean | undefined {
  if (typeof raw === 'boolean') return raw;
  const word = WORDS.get(typeof raw === 'number' ? String(raw) : raw.trim().toLowerCase());
  if (word === undefined || (format !== undefined && word.format !== format)) return undefined;
  return word.value;
}

/** Whether `raw` is written in the pair `format`: the test format detection runs on every value. */
export function isInBooleanFormat(raw: string | number | boolean, format: BooleanFormat): boolean {
  return parseBoolean(raw, format) !== undefined;
}

/** The words of a pair as an error message shows them: `yes/no`. */
export function booleanFormatWords(format: BooleanFormat): string {
  return PAIRS[format].join('/');
}

// An inputFormat names a pair by its code (`yes_no`) or its words (`Yes/No`), in any case.
const INPUT_NAMES = new Map<string, BooleanFormat>(
  BOOLEAN_FORMATS.flatMap((format): [string, BooleanFormat][] => [
    [format, format],
    [PAIRS[format].join('/'), format],
  ]),
);

/** The pair an `inputFormat` names (`yes_no`, `Yes/No`), or undefined when it names none. */
export function booleanInputFormatNamed(inputFormat: string): BooleanFormat | undefined {
  return INPUT_NAMES.get(inputFormat.trim().toLowerCase());
}

/** How a boolean is written into text fields and the report. */
export const BOOLEAN_OUTPUT_FORMATS = ['True/False', 'Yes/No', 'On/Off'] as const;
export type BooleanOutputFormat = (typeof BOOLEAN_OUTPUT_FORMATS)[number];

const OUTPUT_NAMES = new Map<string, BooleanOutputFormat>([
  ['true/false', 'True/False'],
  ['true_false', 'True/False'],
  ['yes/no', 'Yes/No'],
  ['yes_no', 'Yes/No'],
  ['on/off', 'On/Off'],
  ['on_off', 'On/Off'],
]);

/** The output format an `outputFormat` names (`Yes/No`, `yes_no`, any case), or undefined when it names none. */
export function booleanOutputFormatNamed(outputFormat: string): BooleanOutputFormat | undefined {
  return OUTPUT_NAMES.get(outputFormat.trim().toLowerCase());
}

/** A boolean as text: `True`/`False` by default, or per the output format. */
export function formatBoolean(value: boolean, outputFormat: BooleanOutputFormat = 'True/False'): string {
  const slash = outputFormat.indexOf('/');
  return value ? outputFormat.slice(0, slash) : outputFormat.slice(slash + 1);
}
