import { describe, expect, it } from 'vitest';
import { DefinitionError } from '../../lambdas/core/errors.ts';
import { parseObjectDefinition } from '../../lambdas/core/object-schema.ts';

/**
 * Object and field api names become DynamoDB key parts, SQL names, file names in the dev package and words
 * on a command line, so only letters, digits and `_` are accepted.
 */
describe('object and field api names', () => {
  it('accepts derived and written names of letters, digits and _', () => {
    const object = parseObjectDefinition({
      apiName: 'vendor_2',
      name: 'Vendors',
      fields: [{ name: 'Vendor Name' }, { apiName: 'Code_1', name: 'Code', type: 'text' }].map((f) => ({
        type: 'text',
        ...f,
      })),
    });
    expect(object.apiName).toBe('vendor_2');
    expect(object.fields.map((f) => f.apiName)).toEqual(['name', 'vendor_name', 'Code_1']);
  });

  it.each([
    ['a path', { apiName: '../etc', name: 'X', fields: [] }, 'apiName'],
    ['a space', { apiName: 'my object', name: 'X', fields: [] }, 'apiName'],
    ['a leading digit', { apiName: '1st', name: 'X', fields: [] }, 'apiName'],
    [
      'a field with a quote',
      { name: 'X', fields: [{ apiName: "o'brien", name: 'O', type: 'text' }] },
      'fields[0].apiName',
    ],
    ['a map key with a slash', { name: 'X', fields: { 'a/b': { type: 'text' } } }, 'fields'],
  ])('refuses %s with the JSON path and the rule', (_, raw, path) => {
    let error: unknown;
    try {
      parseObjectDefinition(raw);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(DefinitionError);
    const issues = (error as DefinitionError).issues;
    expect(issues.some((i) => i.path.startsWith(path))).toBe(true);
    expect((error as DefinitionError).message).toContain('letters, digits and _');
  });
});
