import { describe, expect, it } from 'vitest';
import { loadStepSchema, type LoadStep } from '../../lambdas/core/connector-schema.ts';
import { canonicalJson, diffKey, stepFingerprint, stepVariableNames } from '../../lambdas/core/diff-key.ts';

const step = loadStepSchema.parse({
  name: 'Products',
  object: 'products',
  matching: [{ field: 'sku', variable: 'sku' }],
  mapping: [
    { field: 'name', variables: ['first', 'last'] },
    { field: 'sku', variable: 'sku' },
    { field: 'price', variable: 'price' },
  ],
});

describe('diffKey', () => {
  it('is stable JSON of the step and the named values, keys sorted', () => {
    expect(diffKey(2, ['sku', 'price'], { price: 16.5, sku: 'A1', ignored: 'x' })).toBe(
      '{"step":2,"values":{"price":16.5,"sku":"A1"}}',
    );
  });

  it('does not depend on the order of names or values', () => {
    const a = diffKey(0, ['a', 'b'], { a: 1, b: [2, 3] });
    const b = diffKey(0, ['b', 'a'], { b: [2, 3], a: 1 });
    expect(a).toBe(b);
  });

  it.each([
    ['another step', diffKey(1, ['a'], { a: 1 })],
    ['another value', diffKey(0, ['a'], { a: 2 })],
    ['another type', diffKey(0, ['a'], { a: '1' })],
    ['a blank value', diffKey(0, ['a'], { a: null })],
    ['a list instead of a scalar', diffKey(0, ['a'], { a: [1] })],
  ])('changes with %s', (_, other) => {
    expect(diffKey(0, ['a'], { a: 1 })).not.toBe(other);
  });

  it('counts a missing value as blank', () => {
    expect(diffKey(0, ['a'], {})).toBe(diffKey(0, ['a'], { a: null }));
  });

  it('the step fingerprint changes with the step rules, not with unrelated step settings', () => {
    const base = stepFingerprint(step);
    const renamed: LoadStep = { ...step, name: 'Renamed', triggers: { onCreate: true, onUpdate: true } };
    expect(stepFingerprint(renamed)).toBe(base);
    const remapped = {
      ...step,
      mapping: step.mapping.map((r) => ({ ...r, conflict: 'overwrite' as const })),
    };
    expect(stepFingerprint(remapped)).not.toBe(base);
    expect(stepFingerprint({ ...step, object: 'other' })).not.toBe(base);
  });
});

describe('stepVariableNames', () => {
  it('lists the matching and mapping variables once, sorted', () => {
    expect(stepVariableNames(step)).toEqual(['first', 'last', 'price', 'sku']);
  });
});

describe('canonicalJson', () => {
  it('sorts keys at every level and drops undefined members', () => {
    expect(canonicalJson({ b: { d: 1, c: [{ f: 1, e: undefined }] }, a: undefined })).toBe(
      '{"b":{"c":[{"f":1}],"d":1}}',
    );
  });
});
