import { z } from 'zod';
import { ScError } from './errors.ts';
import { EXECUTION_STATUSES, TERMINAL_STATUSES, TRIGGER_TYPES, type Execution } from './model.ts';

/**
 * The body of the execution-ended webhook (SPEC §7, docs/webhook.md). It is flat and every key is always
 * present (null, never absent), so a receiver such as Workato learns the whole shape from one sample; the
 * step counts are the one list, because the number of steps varies by connector. Changes are additive:
 * keys are never removed, renamed or retyped without a new `schemaVersion`.
 */

export const EXECUTION_ENDED_EVENT = 'execution.ended';
export const WEBHOOK_SCHEMA_VERSION = 1;

/** The statuses an execution can end in; the webhook fires on each of them. */
export const ENDED_STATUSES = EXECUTION_STATUSES.filter((status) => TERMINAL_STATUSES.has(status));

const count = (meaning: string) => z.int().nonnegative().describe(meaning);
const timestamp = z.iso.datetime();

export const webhookStepCountsSchema = z.object({
  name: z.string().describe('The load step name, as in connector.json.'),
  object: z.string().describe('Api name of the object the step loads.'),
  created: count('Rows that created a record.'),
  updated: count('Rows that updated a record.'),
  unchanged: count('Rows whose record already held these values, or that diff checking passed over.'),
  skipped: count('Rows a matching rule skipped (`do_not_upload`).'),
  failed: count('Rows the step could not write, e.g. a required field would be blank.'),
  unprocessed: count('Rows never reached: the run was cancelled or stopped first.'),
});

export const executionEndedPayloadSchema = z
  .object({
    schemaVersion: z
      .literal(WEBHOOK_SCHEMA_VERSION)
      .describe('Version of this payload shape. Only a breaking change raises it.'),
    event: z.literal(EXECUTION_ENDED_EVENT).describe('Always `execution.ended`.'),
    eventId: z
      .string()
      .describe('Id of this event. The execution id, since an execution ends once; dedupe on `executionId`.'),
    executionId: z.string().describe('Id of the execution; also sent as the `Idempotency-Key` header.'),
    connectorId: z.string().describe('Id of the connector.'),
    connectorApiName: z.string().describe('Api name of the connector (stable across renames).'),
    connectorName: z.string().describe('Display name of the connector.'),
    connectorVersion: z
      .int()
      .positive()
      .describe('The connector version the execution ran (pinned at start).'),
    status: z.enum(ENDED_STATUSES).describe('How it ended: succeeded, partial_success, failed or cancelled.'),
    dryRun: z.boolean().describe('True for a dry run, which wrote no records.'),
    trigger: z.enum(TRIGGER_TYPES).describe('What started it: upload, s3, api, webhook, schedule or replay.'),
    initiatedBy: z.string().describe('Who or what started it: a user, an API key name, or the system.'),
    diffCheck: z
      .boolean()
      .describe(
        'True when the run used diff checking: rows loaded unchanged by the last live run were passed over.',
      ),
    startedAt: timestamp
      .nullable()
      .describe('When it started running (ISO 8601 UTC); null if it never started.'),
    endedAt: timestamp.describe('When it ended (ISO 8601 UTC).'),
    durationSeconds: z
      .number()
      .nonnegative()
      .nullable()
      .describe('Seconds from `startedAt` to `endedAt`, to the millisecond; null if it never started.'),
    inputFileName: z.string().nullable().describe('Name of the input file; null when there was none.'),
    inputRows: count('Rows in the input after SQL: the sum over scopes.'),
    validRows: count('Input rows whose variables all resolved: the sum over scopes.'),
    invalidRows: count('Input rows with a variable error, never loaded: the sum over scopes.'),
    created: count('Rows that created a record: the sum over steps.'),
    updated: count('Rows that updated a record: the sum over steps.'),
    unchanged: count('Rows unchanged: the sum over steps.'),
    skipped: count('Rows skipped: the sum over steps.'),
    failed: count('Rows failed: the sum over steps.'),
    unprocessed: count('Rows unprocessed: the sum over steps.'),
    errorCode: z
      .string()
      .nullable()
      .describe(
        'Stable code of the error that failed the execution (e.g. `SQL_ASSERTION_FAILED`); null when none.',
      ),
    errorMessage: z.string().nullable().describe('What went wrong and what to do; null when none.'),
    reportUrl: z
      .url()
      .nullable()
      .describe('Time-limited download URL of the XLSX report; null when no report was built.'),
    inputFileUrl: z.url().nullable().describe('Time-limited download URL of the input file; null when none.'),
    urlsExpireAt: timestamp
      .nullable()
      .describe('When `reportUrl` and `inputFileUrl` stop working (ISO 8601 UTC); null when both are null.'),
    steps: z.array(webhookStepCountsSchema).describe('Counts per load step, in step order.'),
  })
  .describe('The body of the execution-ended webhook: one flat object per ended execution.');

export type ExecutionEndedPayload = z.infer<typeof executionEndedPayloadSchema>;

/** What the payload needs beyond the execution: the presigned URLs, which the caller signs. */
export interface ExecutionEndedExtra {
  reportUrl: string | null;
  inputFileUrl: string | null;
  /** When the presigned URLs expire; null when there are none. */
  urlExpiresAt: string | null;
  /** Default: the execution id. */
  eventId?: string;
}

/**
 * The webhook body for an ended execution. Totals: `inputRows`, `validRows` and `invalidRows` sum the
 * scopes; `created` … `unprocessed` sum the steps, so a row loaded by two steps counts once per step.
 */
export function buildExecutionEndedPayload(
  execution: Execution,
  extra: ExecutionEndedExtra,
): ExecutionEndedPayload {
  const { status, endedAt } = execution;
  if (!isEnded(status) || endedAt === null) {
    throw new ScError(
      'EXECUTION_NOT_ENDED',
      `Execution ${execution.id} is ${status}: the execution-ended webhook is sent only once it has ended.`,
      { context: { executionId: execution.id } },
    );
  }
  const scopes = Object.values(execution.counts.scopes);
  const steps = execution.counts.steps.map((step) => ({
    name: step.name,
    object: step.object,
    created: step.created,
    updated: step.updated,
    unchanged: step.unchanged,
    skipped: step.skipped,
    failed: step.failed,
    unprocessed: step.unprocessed,
  }));
  const sum = <T>(items: T[], value: (item: T) => number) =>
    items.reduce((total, item) => total + value(item), 0);
  return {
    schemaVersion: WEBHOOK_SCHEMA_VERSION,
    event: EXECUTION_ENDED_EVENT,
    eventId: extra.eventId ?? execution.id,
    executionId: execution.id,
    connectorId: execution.connectorId,
    connectorApiName: execution.connectorApiName,
    connectorName: execution.connectorName,
    connectorVersion: execution.connectorVersion,
    status,
    dryRun: execution.dryRun,
    trigger: execution.trigger,
    initiatedBy: execution.initiatedBy,
    diffCheck: execution.diffCheck,
    startedAt: execution.startedAt,
    endedAt,
    durationSeconds: execution.startedAt === null ? null : durationSeconds(execution.startedAt, endedAt),
    inputFileName: execution.inputFile?.name ?? null,
    inputRows: sum(scopes, (scope) => scope.rows),
    validRows: sum(scopes, (scope) => scope.valid),
    invalidRows: sum(scopes, (scope) => scope.invalid),
    created: sum(steps, (step) => step.created),
    updated: sum(steps, (step) => step.updated),
    unchanged: sum(steps, (step) => step.unchanged),
    skipped: sum(steps, (step) => step.skipped),
    failed: sum(steps, (step) => step.failed),
    unprocessed: sum(steps, (step) => step.unprocessed),
    errorCode: execution.error?.code ?? null,
    errorMessage: execution.error?.message ?? null,
    reportUrl: extra.reportUrl,
    inputFileUrl: extra.inputFileUrl,
    urlsExpireAt: extra.urlExpiresAt,
    steps,
  };
}

function isEnded(status: Execution['status']): status is ExecutionEndedPayload['status'] {
  return TERMINAL_STATUSES.has(status);
}

function durationSeconds(startedAt: string, endedAt: string): number {
  return Math.max(0, Date.parse(endedAt) - Date.parse(startedAt)) / 1000;
}

/**
 * The published JSON Schema of the payload (docs/webhook-payload.schema.json). It is generated for input,
 * so it lists no `additionalProperties: false`: a receiver that validates keeps working when keys are added.
 */
export function executionEndedPayloadJsonSchema(): Record<string, unknown> {
  const { $schema, ...body } = z.toJSONSchema(executionEndedPayloadSchema, {
    io: 'input',
    override: ({ jsonSchema }) => {
      // zod spells out its date-time regex and JavaScript's safe-integer bound; `format` says the first and
      // no count comes near the second, so both are left out to keep the document readable.
      if (jsonSchema.format === 'date-time') delete jsonSchema.pattern;
      if (jsonSchema.maximum === Number.MAX_SAFE_INTEGER) delete jsonSchema.maximum;
    },
  });
  return {
    $schema,
    $id: 'urn:smartconnector:schema:webhook-execution-ended',
    title: 'SmartConnector execution-ended webhook payload',
    ...body,
  };
}
