import type { z } from 'zod';
import type { DefinitionIssue } from './errors.ts';

/** Renders a zod path as a JSON path: `loadSteps[0].matching[1].variable`. */
export function jsonPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out;
}

export function zodIssues(error: z.ZodError): DefinitionIssue[] {
  return error.issues.map((issue) => ({ path: jsonPath(issue.path), message: issue.message }));
}
