import { describe, expect, it } from 'vitest';
import type { AnyVariableType } from '../../lambdas/core/connector-schema.ts';
import type { VariableValue } from '../../lambdas/core/model.ts';
import { formatVariableValue } from '../../lambdas/core/variables/index.ts';

describe('formatVariableValue', () => {
  it.each<[AnyVariableType, string | undefined, VariableValue, string]>([
    ['string', undefined, 'hello', 'hello'],
    ['string', undefined, null, ''],
    ['number', undefined, null, ''],
    ['number', undefined, 1234.5, '1234.5'],
    ['number', undefined, 1e21, '1000000000000000000000'],
    ['number', undefined, 0.0000001, '0.0000001'],
    ['number', undefined, -0, '0'],
    ['boolean', undefined, true, 'True'],
    ['boolean', undefined, false, 'False'],
    ['boolean', 'Yes/No', true, 'Yes'],
    ['boolean', 'On/Off', false, 'Off'],
    ['date', undefined, '2024-05-01', '2024-05-01'],
    ['date', 'MM/DD/YYYY', '2024-05-01', '05/01/2024'],
    ['date', 'DD.MM.YYYY', '2024-05-01', '01.05.2024'],
    ['datetime', undefined, '2024-05-01T13:45:00.000Z', '2024-05-01T13:45:00.000Z'],
    ['email', undefined, 'a@x.com', 'a@x.com'],
    ['phone', undefined, '+14155552671', '+14155552671'],
    ['uuid', undefined, '6b7a8c1e-0000-4000-8000-000000000001', '6b7a8c1e-0000-4000-8000-000000000001'],
    ['string', undefined, ['a', 'b', 'c'], 'a, b, c'],
    ['number', undefined, [1, 2.5, 1234.5], '1, 2.5, 1234.5'],
    ['email', undefined, [], ''],
    ['boolean', 'Yes/No', [true, false], 'Yes, No'],
    ['string', 'unknown', 'kept', 'kept'],
  ])('%s (outputFormat %s) writes %j as %j', (type, outputFormat, value, text) => {
    expect(formatVariableValue(value, { type, outputFormat })).toBe(text);
  });
});
