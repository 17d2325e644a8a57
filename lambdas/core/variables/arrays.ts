import type { ArrayDelimiter } from '../connector-schema.ts';

/**
 * The items of an array variable's text (SPEC §5 `array.delimiter`), untrimmed and possibly blank:
 * the caller trims, drops blanks and reads each item. `{}` reads `{a,b}` (a Postgres array) and `[]`
 * reads `[a,b]` or a JSON array `["a","b"]`; inside those, a quoted item may hold commas.
 */
export function splitArrayText(text: string, delimiter: ArrayDelimiter): unknown[] {
  if (delimiter !== '{}' && delimiter !== '[]') return text.split(delimiter);
  const trimmed = text.trim();
  const [open, close] = delimiter === '{}' ? ['{', '}'] : ['[', ']'];
  const bracketed = trimmed.startsWith(open) && trimmed.endsWith(close);
  // Only JSON needs JSON.parse (for its escapes); `[a,b]` and `[1,2]` split the same either way.
  if (delimiter === '[]' && bracketed && trimmed.includes('"')) {
    const parsed = parseJsonArray(trimmed);
    if (parsed !== undefined) return parsed;
  }
  return splitBracketItems(bracketed ? trimmed.slice(1, -1) : trimmed);
}

function parseJsonArray(text: string): unknown[] | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    return Array.isArray(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

const COMMA = 44;
const BACKSLASH = 92;
const DOUBLE_QUOTE = 34;
const SINGLE_QUOTE = 39;
const SPACE_OR_CONTROL = 32;

/**
 * Split on commas outside quotes and drop the quotes. A quote opens only at the start of an item,
 * so the apostrophe in `{O'Brien,Smith}` is kept; a backslash escapes the next character in quotes.
 */
function splitBracketItems(inner: string): string[] {
  const items: string[] = [];
  let item = '';
  let quote = 0;
  let atItemStart = true;
  for (let i = 0; i < inner.length; i++) {
    const code = inner.charCodeAt(i);
    if (quote !== 0) {
      if (code === BACKSLASH && i + 1 < inner.length) item += inner[++i];
      else if (code === quote) quote = 0;
      else item += inner[i];
    } else if (code === COMMA) {
      items.push(item);
      item = '';
      atItemStart = true;
    } else if (atItemStart && (code === DOUBLE_QUOTE || code === SINGLE_QUOTE)) {
      quote = code;
      atItemStart = false;
    } else {
      item += inner[i];
      if (code > SPACE_OR_CONTROL) atItemStart = false;
    }
  }
  items.push(item);
  return items;
}
