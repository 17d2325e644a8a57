import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { format, resolveConfig } from 'prettier';
import { describe, expect, it } from 'vitest';
import { ScError } from '../../lambdas/core/errors.ts';
import type { Execution, ExecutionStatus } from '../../lambdas/core/model.ts';
import { catalogRunExecution } from '../helpers/factories.ts';
import {
  buildExecutionEndedPayload,
  executionEndedPayloadJsonSchema,
  executionEndedPayloadSchema,
  type ExecutionEndedExtra,
} from '../../lambdas/core/webhook-payload.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const SCHEMA_FILE = 'docs/webhook-payload.schema.json';
const SAMPLE_FILE = 'docs/webhook-payload.sample.json';
const REGENERATE = 'npx vitest run --project unit test/unit/webhook-payload.test.ts -u';

const catalogRun = catalogRunExecution();

const presigned = (key: string) =>
  `https://sc-artifacts-123456789012.s3.eu-west-1.amazonaws.com/${key}` +
  '?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=ASIAEXAMPLE%2F20250612%2Feu-west-1%2Fs3%2Faws4_request' +
  '&X-Amz-Date=20250612T143053Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host' +
  '&X-Amz-Signature=5d41402abc4b2a76b9719d911017c5925d41402abc4b2a76b9719d911017c592';

const catalogExtra: ExecutionEndedExtra = {
  reportUrl: presigned(catalogRun.reportKey!),
  inputFileUrl: presigned(catalogRun.inputFile!.key),
  urlExpiresAt: '2025-06-13T14:30:53.000Z',
};

const noUrls: ExecutionEndedExtra = { reportUrl: null, inputFileUrl: null, urlExpiresAt: null };

const formatJson = async (file: string, value: unknown) => {
  const path = join(ROOT, file);
  return format(JSON.stringify(value), { ...(await resolveConfig(path)), filepath: path });
};

describe('the published documents', () => {
  it(`${SCHEMA_FILE} equals a fresh generation from the zod schema (regenerate: ${REGENERATE})`, async () => {
    await expect(await formatJson(SCHEMA_FILE, executionEndedPayloadJsonSchema())).toMatchFileSnapshot(
      join(ROOT, SCHEMA_FILE),
    );
  });

  it(`${SAMPLE_FILE} is what the catalog example's partial success sends (regenerate: ${REGENERATE})`, async () => {
    const payload = buildExecutionEndedPayload(catalogRun, catalogExtra);
    await expect(await formatJson(SAMPLE_FILE, payload)).toMatchFileSnapshot(join(ROOT, SAMPLE_FILE));
  });

  it('the sample validates against the zod schema and has every key, none of them absent', () => {
    const sample = JSON.parse(readFileSync(join(ROOT, SAMPLE_FILE), 'utf8')) as Record<string, unknown>;
    expect(executionEndedPayloadSchema.safeParse(sample).error?.issues ?? []).toEqual([]);
    expect(Object.keys(sample).sort()).toEqual(Object.keys(executionEndedPayloadSchema.shape).sort());
  });

  it('the JSON Schema has an $id, a title, and a description on every property', () => {
    const schema = executionEndedPayloadJsonSchema() as {
      properties: Record<string, { description?: string }>;
      required: string[];
    };
    expect(schema).toMatchObject({ $id: expect.any(String), title: expect.any(String) });
    const undescribed = Object.entries(schema.properties).filter(([, property]) => !property.description);
    expect(undescribed.map(([key]) => key)).toEqual([]);
    expect(schema.required.sort()).toEqual(Object.keys(schema.properties).sort());
    expect(schema).not.toHaveProperty('additionalProperties');
  });

  it('docs/webhook.md lists every key of the payload', () => {
    const doc = readFileSync(join(ROOT, 'docs/webhook.md'), 'utf8');
    const keys = [
      ...Object.keys(executionEndedPayloadSchema.shape),
      ...Object.keys(executionEndedPayloadSchema.shape.steps.element.shape).map((key) => `steps[].${key}`),
    ];
    expect(keys.filter((key) => !doc.includes(`| \`${key}\``))).toEqual([]);
  });
});

describe('buildExecutionEndedPayload', () => {
  it('sums the scopes into the row totals and the steps into the outcome totals', () => {
    const payload = buildExecutionEndedPayload(
      {
        ...catalogRun,
        counts: {
          scopes: { orders: { rows: 10, valid: 8, invalid: 2 }, lines: { rows: 30, valid: 30, invalid: 0 } },
          steps: [
            {
              name: 'A',
              object: 'a',
              created: 1,
              updated: 2,
              unchanged: 3,
              skipped: 4,
              failed: 5,
              unprocessed: 6,
            },
            {
              name: 'B',
              object: 'b',
              created: 10,
              updated: 20,
              unchanged: 30,
              skipped: 0,
              failed: 0,
              unprocessed: 7,
            },
          ],
        },
      },
      noUrls,
    );
    expect(payload).toMatchObject({
      inputRows: 40,
      validRows: 38,
      invalidRows: 2,
      created: 11,
      updated: 22,
      unchanged: 33,
      skipped: 4,
      failed: 5,
      unprocessed: 13,
    });
    expect(payload.steps.map((step) => step.name)).toEqual(['A', 'B']);
  });

  it('keeps every key for an execution cancelled while queued: nulls and zeros, never absent', () => {
    const cancelled: Execution = {
      ...catalogRun,
      status: 'cancelled',
      startedAt: null,
      stage: 'queued',
      counts: { scopes: {}, steps: [] },
      inputFile: null,
      sqlOutputKey: null,
      reportKey: null,
    };
    const payload = buildExecutionEndedPayload(cancelled, noUrls);
    expect(Object.keys(payload).sort()).toEqual(Object.keys(executionEndedPayloadSchema.shape).sort());
    expect(payload).toMatchObject({
      status: 'cancelled',
      startedAt: null,
      durationSeconds: null,
      inputFileName: null,
      inputRows: 0,
      created: 0,
      errorCode: null,
      errorMessage: null,
      reportUrl: null,
      inputFileUrl: null,
      urlsExpireAt: null,
      steps: [],
    });
    expect(executionEndedPayloadSchema.safeParse(payload).success).toBe(true);
  });

  it('carries the error of a failed execution', () => {
    const payload = buildExecutionEndedPayload(
      {
        ...catalogRun,
        status: 'failed',
        error: { code: 'SQL_ASSERTION_FAILED', message: 'A throwIf assertion in the SQL failed.' },
      },
      noUrls,
    );
    expect(payload).toMatchObject({ errorCode: 'SQL_ASSERTION_FAILED', errorMessage: expect.any(String) });
    expect(executionEndedPayloadSchema.safeParse(payload).success).toBe(true);
  });

  it.each<[string, Partial<Execution>, number | null]>([
    [
      'milliseconds are kept',
      { startedAt: '2025-01-01T00:00:00.000Z', endedAt: '2025-01-01T00:01:02.345Z' },
      62.345,
    ],
    [
      'a clock step backwards gives 0',
      { startedAt: '2025-01-01T00:00:01.000Z', endedAt: '2025-01-01T00:00:00.000Z' },
      0,
    ],
    ['never started gives null', { startedAt: null }, null],
  ])('durationSeconds: %s', (_, overrides, expected) => {
    expect(buildExecutionEndedPayload({ ...catalogRun, ...overrides }, noUrls).durationSeconds).toBe(
      expected,
    );
  });

  it('uses the execution id as the event id unless given one', () => {
    expect(buildExecutionEndedPayload(catalogRun, noUrls).eventId).toBe(catalogRun.id);
    expect(buildExecutionEndedPayload(catalogRun, { ...noUrls, eventId: 'evt-2' }).eventId).toBe('evt-2');
  });

  it.each<ExecutionStatus>(['queued', 'running'])('refuses an execution that is still %s', (status) => {
    const build = () => buildExecutionEndedPayload({ ...catalogRun, status, endedAt: null }, noUrls);
    expect(build).toThrow(ScError);
    expect(build).toThrow(/only once it has ended/);
  });

  it('copies only the step counts into steps, not other properties of the step', () => {
    const step = { ...catalogRun.counts.steps[0]!, extra: 'internal' };
    const payload = buildExecutionEndedPayload(
      { ...catalogRun, counts: { ...catalogRun.counts, steps: [step] } },
      noUrls,
    );
    expect(payload.steps[0]).not.toHaveProperty('extra');
  });
});

describe('executionEndedPayloadSchema', () => {
  const valid = buildExecutionEndedPayload(catalogRun, catalogExtra);

  it.each<[string, Record<string, unknown>]>([
    ['a running status', { status: 'running' }],
    ['another event', { event: 'execution.started' }],
    ['an absent error code', { errorCode: undefined }],
    ['a negative count', { failed: -1 }],
    ['a fractional count', { created: 1.5 }],
    ['a timestamp with an offset', { endedAt: '2025-06-12T16:30:52+02:00' }],
    ['a report url that is no URL', { reportUrl: 'report.xlsx' }],
  ])('refuses %s', (_, change) => {
    expect(executionEndedPayloadSchema.safeParse({ ...valid, ...change }).success).toBe(false);
  });
});
