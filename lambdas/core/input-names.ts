/**
 * Naming rules for input tables and their columns (SPEC §4). A file, sheet or ZIP entry becomes a table
 * `input.<name>`; its header cells become column names. Both follow one rule: trim; every character
 * outside `[A-Za-z0-9_]` becomes `_`; lowercase; a leading digit gets a `_` prefix. Names repeated
 * within one set get a `__duplicate_<n>__` suffix so every table and column stays addressable.
 */

/**
 * Normalises one identifier; returns `''` for a blank one (the caller decides what blank means).
 * Each code point counts once, so `é` and `😀` each become a single `_`.
 * `Vendor Name` → `vendor_name`; `2024 Sales` → `_2024_sales`.
 */
export function normaliseIdentifier(raw: string): string {
  const name = raw
    .trim()
    .replace(/[^A-Za-z0-9_]/gu, '_')
    .toLowerCase();
  return /^[0-9]/.test(name) ? `_${name}` : name;
}

/**
 * Returns `name`, or when `taken` already holds it `<name>__duplicate_<n>__` with the smallest
 * `n ≥ 1` still free, and records the result in `taken`. The second `a` is `a__duplicate_1__`,
 * the third `a__duplicate_2__`.
 */
export function claimUniqueName(name: string, taken: Set<string>): string {
  let unique = name;
  for (let n = 1; taken.has(unique); n++) unique = `${name}__duplicate_${n}__`;
  taken.add(unique);
  return unique;
}

/**
 * The table name for a file, sheet or ZIP entry name: `vendors.csv` → `vendors_csv`. A blank name
 * becomes `_1`, like a blank header.
 */
export function normaliseTableName(fileOrSheetName: string): string {
  return normaliseIdentifier(fileOrSheetName) || '_1';
}

/**
 * Table names for several files or sheets of one input, in order, made unique with the duplicate
 * rule: sheets `Data` and `data` become `data` and `data__duplicate_1__`.
 */
export function normaliseTableNames(names: readonly string[]): string[] {
  const taken = new Set<string>();
  return names.map((name) => claimUniqueName(normaliseTableName(name), taken));
}

/**
 * Column names for a header row, in order. A blank or missing header becomes `_<k>` where `k` counts
 * the blank headers so far (not the column position): `['a', '', 'b', null]` → `['a', '_1', 'b', '_2']`.
 * A header equal to an earlier one — after normalisation, so `Name` repeats `name` — becomes
 * `<name>__duplicate_<n>__`, n from 1 for the second occurrence. The rule reads left to right, so
 * appending headers never renames earlier ones.
 */
export function normaliseHeaders(headers: readonly (string | null)[]): string[] {
  const taken = new Set<string>();
  let blanks = 0;
  return headers.map((header) => {
    const name = normaliseIdentifier(header ?? '') || `_${++blanks}`;
    return claimUniqueName(name, taken);
  });
}
