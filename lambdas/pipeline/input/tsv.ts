const TSV_SPECIAL = /[\\\t\n\r\0]/;
const TSV_SPECIAL_ALL = /[\\\t\n\r\0]/g;
const TSV_ESCAPES: Record<string, string> = {
  '\\': '\\\\',
  '\t': '\\t',
  '\n': '\\n',
  '\r': '\\r',
  '\0': '\\0',
};

/** The NULL field of ClickHouse's TabSeparated format. */
export const TSV_NULL = '\\N';

/**
 * One field of a ClickHouse TabSeparated line, the format of every PreparedTable file: `null` is `\N`;
 * backslash, tab, line breaks and NUL are backslash-escaped, so a `\N` in the data stays text.
 */
export function tsvField(value: string | null): string {
  if (value === null) return TSV_NULL;
  return TSV_SPECIAL.test(value) ? value.replace(TSV_SPECIAL_ALL, (c) => TSV_ESCAPES[c] ?? c) : value;
}
