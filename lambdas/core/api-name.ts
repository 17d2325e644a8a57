/** Longest api name we derive (SPEC §3). */
export const API_NAME_MAX_LENGTH = 64;

/**
 * Derives an api name from a display name: lowercase, every run of characters outside `[a-z0-9]`
 * becomes `_`, trimmed of `_`, a leading digit gets a `_` prefix, at most 64 characters.
 * `Order Import` → `order_import`; `2024 Sales!` → `_2024_sales`.
 */
export function deriveApiName(name: string): string {
  let slug = name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
  if (slug === '') slug = 'unnamed';
  if (/^[0-9]/.test(slug)) slug = `_${slug}`;
  return slug.slice(0, API_NAME_MAX_LENGTH).replace(/_+$/, '');
}

/**
 * Makes `base` unique against `taken` with `_2`, `_3`… suffixes, keeping the result within 64 characters.
 */
export function uniqueApiName(base: string, taken: ReadonlySet<string>): string {
  if (!taken.has(base)) return base;
  for (let n = 2; ; n++) {
    const suffix = `_${n}`;
    const candidate = `${base.slice(0, API_NAME_MAX_LENGTH - suffix.length)}${suffix}`;
    if (!taken.has(candidate)) return candidate;
  }
}
