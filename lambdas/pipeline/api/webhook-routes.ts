import { z } from 'zod';
import { ScError } from '../../core/errors.ts';
import { MAX_WEBHOOK_BODY_BYTES } from '../../core/upload-limits.ts';
import { WEBHOOK_BODY_FORMATS, WEBHOOK_SAMPLE_LIMIT } from '../../core/webhook-intake.ts';
import {
  listSampleKeys,
  readSamples,
  receiveWebhook,
  replayWebhookSamples,
  SAMPLE_BODY_PREVIEW_CHARS,
} from '../webhooks.ts';
import { connectorOf } from './connector-routes.ts';
import { executionSchema, executionView } from './execution-routes.ts';
import { ApiError, json, route, type ApiCaller, type ApiRoute } from './http.ts';
import { pageByKey, pageQuerySchema, pageSchema } from './pagination.ts';

/*
 * Webhook intake and samples (SPEC §8 "Webhook", §9). The intake takes the connector's webhook token as
 * well as an API key; the samples routes need a key, since samples hold what third parties sent.
 */

/** What each refusal of the intake answers. */
const INTAKE_STATUS: Record<string, number> = {
  NOT_A_WEBHOOK_CONNECTOR: 409,
  WEBHOOK_BODY_TOO_LARGE: 413,
  INVALID_JSON_BODY: 400,
};

/** The most samples one page lists: each may carry a body preview of 64 KiB. */
const MAX_SAMPLES_PAGE = 50;

const receiptSchema = z.object({
  receiptId: z
    .string()
    .meta({ description: 'Names the stored call in the batch (`receipt_id`) and in samples.' }),
  sample: z.boolean().meta({
    description:
      'True when the connector does not batch calls now (it is not active, or has no cadence): the call ' +
      'was kept as a sample, not batched.',
  }),
  note: z
    .string()
    .optional()
    .meta({
      description:
        `With a sample: why it was not batched, and that only the newest ${WEBHOOK_SAMPLE_LIMIT} samples ` +
        'are kept (older ones are deleted as new ones arrive).',
    }),
});

const sampleSchema = z
  .object({
    receiptId: z.string(),
    receivedAt: z.iso.datetime(),
    contentType: z.string().nullable(),
    querystring: z.string().meta({ description: 'Without the `token` parameter.' }),
    headers: z.record(z.string(), z.string()).meta({ description: 'Credentials removed.' }),
    body: z.string().meta({
      description: `The body as sent (base64 when \`bodyEncoding\` is \`base64\`), cut after ${SAMPLE_BODY_PREVIEW_CHARS} characters.`,
    }),
    bodyEncoding: z.enum(['utf8', 'base64']),
    bodyFormat: z.enum(WEBHOOK_BODY_FORMATS).meta({ description: 'How a batch reads the body.' }),
    bodyLength: z.int().meta({ description: 'Characters in the whole body.' }),
    bodyTruncated: z.boolean(),
  })
  .meta({ id: 'WebhookSample' });

const samplesQuerySchema = pageQuerySchema.extend({
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(MAX_SAMPLES_PAGE)
    .default(20)
    .meta({ description: `Samples per page, 1–${MAX_SAMPLES_PAGE}. Default 20.` }),
});

const replayBodySchema = z
  .strictObject({
    receiptIds: z
      .array(z.string().min(1))
      .min(1)
      .optional()
      .meta({ description: 'The samples to replay; every kept sample when absent.' }),
    dryRun: z.boolean().default(false).meta({
      description: 'Run without writing records. A live replay of an inactive connector waits in the queue.',
    }),
  })
  .default({ dryRun: false });

export const WEBHOOK_ROUTES: ApiRoute[] = [
  route({
    method: 'POST',
    path: '/connectors/{ref}/webhook',
    summary: 'Send a webhook call',
    description:
      'Stores the call, then answers 202: JSON, `application/x-www-form-urlencoded`, or a query string ' +
      `alone; at most ${MAX_WEBHOOK_BODY_BYTES} bytes (413 beyond). The connector's next cadence window ` +
      'batches it into one execution (`input.webhooks_raw`, `input.webhooks`); while the connector is not ' +
      `active (or has no cadence) it is kept as a sample, and the answer's \`note\` says so: only the newest ` +
      `${WEBHOOK_SAMPLE_LIMIT} samples are kept. Authenticate with an API key or the connector's webhook token ` +
      '(`?token=` or `X-Webhook-Token`). 409 for a connector that is not a webhook connector; 400 for a ' +
      'body declared JSON that does not parse.',
    tag: 'webhooks',
    auth: 'webhook',
    rawBody: {
      description: 'Any body up to 1 MiB; JSON and form bodies are parsed for `input.webhooks.body`.',
      content: {
        'application/json': { schema: z.unknown() },
        'application/x-www-form-urlencoded': { schema: z.record(z.string(), z.string()) },
      },
    },
    responses: { 202: { description: 'Stored.', schema: receiptSchema } },
    handle: async (deps, { params, request }) => {
      const connector = await connectorOf(deps, params.ref!);
      try {
        const receipt = await receiveWebhook(deps.ports, connector, request);
        return json(202, receipt);
      } catch (error) {
        const status = error instanceof ScError ? INTAKE_STATUS[error.code] : undefined;
        if (error instanceof ScError && status !== undefined) {
          throw new ApiError(status, error.code, error.message);
        }
        throw error;
      }
    },
  }),
  route({
    method: 'GET',
    path: '/connectors/{ref}/webhook-samples',
    summary: 'List webhook samples',
    description:
      `The calls kept while the connector was not active, newest first (the newest ${WEBHOOK_SAMPLE_LIMIT} ` +
      'are kept). Bodies longer than 64 KiB are cut here; a replay uses them whole.',
    tag: 'webhooks',
    query: samplesQuerySchema,
    responses: { 200: { description: 'A page of samples.', schema: pageSchema(sampleSchema) } },
    handle: async (deps, { params, query }) => {
      const connector = await connectorOf(deps, params.ref!);
      const keys = await listSampleKeys(deps.ports, connector.id);
      const page = pageByKey(keys, query, {
        name: `webhook-samples:${connector.id}`,
        keyOf: (key) => key,
        order: 'desc',
      });
      return json(200, { items: await readSamples(deps.ports, page.items), nextCursor: page.nextCursor });
    },
  }),
  route({
    method: 'POST',
    path: '/connectors/{ref}/webhook-samples/replay',
    summary: 'Replay webhook samples',
    description:
      'Makes one execution (trigger `replay`) of the named samples, or of every kept sample. Samples are ' +
      'kept afterwards. Until that execution ends, the same replay (same samples, `dryRun` and connector ' +
      'version) answers it again, dispatching it if still queued, so a retried request makes no second ' +
      'execution. 409 when the connector has no sample; 404 naming unknown receipt ids.',
    tag: 'webhooks',
    body: replayBodySchema,
    responses: { 202: { description: 'The execution, queued or started.', schema: executionSchema } },
    handle: async (deps, { params, body, caller }) => {
      const connector = await connectorOf(deps, params.ref!);
      try {
        const execution = await replayWebhookSamples(deps.ports, connector.id, {
          ...(body.receiptIds ? { receiptIds: body.receiptIds } : {}),
          dryRun: body.dryRun,
          initiatedBy: initiator(caller),
        });
        return json(202, executionView(execution));
      } catch (error) {
        if (error instanceof ScError && error.code === 'NO_WEBHOOK_SAMPLES') {
          throw new ApiError(409, error.code, error.message);
        }
        throw error;
      }
    },
  }),
];

function initiator(caller: ApiCaller | undefined): string {
  return caller?.kind === 'key' ? `api:${caller.name}` : 'api';
}
