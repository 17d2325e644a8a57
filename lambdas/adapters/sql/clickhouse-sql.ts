/** Quotes a ClickHouse identifier with backticks, so any table or column name is safe in SQL text. */
export function quoteIdentifier(name: string): string {
  return `\`${name.replace(/\\/g, '\\\\').replace(/`/g, '\\`')}\``;
}

/** A ClickHouse string literal. */
export function quoteString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** `<database>.<table>` with both parts quoted. */
export function qualifiedName(database: string, table: string): string {
  return `${quoteIdentifier(database)}.${quoteIdentifier(table)}`;
}

/** A table structure where every column is `Nullable(String)`, as input tables are (SPEC §4). */
export function nullableStringColumns(columns: readonly string[]): string {
  return columns.map((column) => `${quoteIdentifier(column)} Nullable(String)`).join(', ');
}
