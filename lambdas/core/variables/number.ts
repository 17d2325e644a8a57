/**
 * `number` values (SPEC §5): every character but digits, `.` and a leading `-` is ignored, so
 * `$16.99 USD` is 16.99, `41 Apples` is 41 and `1,234.50` is 1234.5.
 */

// Most values are already plain decimals; they skip the character scan.
const PLAIN_DECIMAL = /^-?(?:\d+(?:\.\d*)?|\.\d+)$/;
// `1.5E+3` is how databases and spreadsheets print large and tiny numbers; stripping the `E` would
// silently turn it into 1.53.
const SCIENTIFIC = /^-?(?:\d+(?:\.\d*)?|\.\d+)[eE][+-]?\d+$/;

const DIGIT_0 = 48;
const DIGIT_9 = 57;
const DOT = 46;
const MINUS = 45;

/**
 * The number in `raw`, or undefined when it has no digits or more than one decimal point. A JSON
 * number is taken as is. A `-` counts when it comes before the first digit (`USD -3.5` is -3.5); a `.`
 * counts when a digit follows it, so the abbreviation dot in `Rs. 500` or `approx. 41` is ignored.
 */
export function parseNumber(raw: string | number | boolean): number | undefined {
  if (typeof raw === 'number') return finite(raw);
  if (typeof raw === 'boolean') return undefined;
  const text = raw.trim();
  if (PLAIN_DECIMAL.test(text) || SCIENTIFIC.test(text)) return finite(Number(text));

  let digits = '';
  let negative = false;
  let sawDigit = false;
  let points = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code >= DIGIT_0 && code <= DIGIT_9) {
      digits += text[i];
      sawDigit = true;
    } else if (code === DOT) {
      const next = text.charCodeAt(i + 1);
      if (next >= DIGIT_0 && next <= DIGIT_9) {
        points++;
        digits += '.';
      }
    } else if (code === MINUS && !sawDigit) {
      negative = true;
    }
  }
  if (!sawDigit || points > 1) return undefined;
  const value = finite(Number(digits));
  return value === undefined ? undefined : withoutNegativeZero(negative ? -value : value);
}

const EXPONENT_FORM = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/;

/**
 * A number as a plain decimal, without exponent or thousands separators: `1234.5`, `0.0000001`,
 * `1000000000000000000000`. JavaScript prints such numbers with an exponent from 1e21 and below 1e-6.
 */
export function formatNumber(value: number): string {
  const text = String(withoutNegativeZero(value));
  const m = EXPONENT_FORM.exec(text);
  if (m === null) return text;
  const [, sign = '', lead = '', fraction = '', exponentText = '0'] = m;
  const digits = lead + fraction;
  const point = 1 + Number(exponentText);
  if (point <= 0) return `${sign}0.${'0'.repeat(-point)}${digits}`;
  if (point >= digits.length) return sign + digits + '0'.repeat(point - digits.length);
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}

function finite(value: number): number | undefined {
  return Number.isFinite(value) ? withoutNegativeZero(value) : undefined;
}

function withoutNegativeZero(value: number): number {
  return value === 0 ? 0 : value;
}
