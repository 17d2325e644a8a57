import { z } from 'zod';
import type { ConnectorDefinition } from './connector-schema.ts';
import { ScError } from './errors.ts';

/*
 * Webhook connectors (SPEC §8 "Webhook"): what one call to `POST /connectors/{ref}/webhook` is stored as,
 * and how a stored call becomes one row of `input.webhooks_raw`. Pure: the intake route and the batch
 * flush (`pipeline/webhooks.ts`) both read their rules from here, so a call is judged the same way when
 * it arrives and when its batch is built.
 */

/**
 * Samples kept per connector: the newest this many calls received while it is not active. Enough to
 * develop SQL against, and bounded (a call holds up to 1 MiB).
 */
export const WEBHOOK_SAMPLE_LIMIT = 100;

/**
 * Whether a connector version batches its webhook calls: a webhook connector with a cadence, whose ticks
 * close the windows. The intake keeps a call as a sample when the connector's version does not batch (or
 * the connector is not active), and a save that stops the batching closes a last window first
 * (`pipeline/webhooks.ts`), so no call waits for a window that never closes.
 */
export function batchesWebhookCalls(definition: Pick<ConnectorDefinition, 'type' | 'settings'>): boolean {
  return definition.type === 'webhook' && definition.settings.cadence !== undefined;
}

/** The query parameter that may carry the connector's webhook token; never stored. */
export const WEBHOOK_TOKEN_PARAMETER = 'token';

/**
 * Headers that carry credentials: never stored, so neither samples nor an execution's input (which
 * anyone who may read executions can download) ever hold a key, a token or a session.
 */
export const CREDENTIAL_HEADERS: ReadonlySet<string> = new Set([
  'authorization',
  'cookie',
  'proxy-authorization',
  'x-api-key',
  'x-webhook-token',
]);

/**
 * How a body was read, in `body_format`:
 * - `json`: a JSON body (declared `application/json`, `…+json`, `text/json`, or undeclared and valid JSON);
 * - `form`: `application/x-www-form-urlencoded`;
 * - `query`: no body: the query string carries the data;
 * - `empty`: no body and no query string;
 * - `text`: any other UTF-8 body (XML, plain text, multipart…), kept verbatim;
 * - `binary`: a body that is not UTF-8, kept base64-encoded.
 */
export const WEBHOOK_BODY_FORMATS = ['json', 'form', 'query', 'empty', 'text', 'binary'] as const;
export type WebhookBodyFormat = (typeof WEBHOOK_BODY_FORMATS)[number];

/** One call as the intake receives it (the API's plain request, plus what the intake assigns). */
export interface WebhookCall {
  receiptId: string;
  /** Milliseconds since the epoch, when the intake received the call. */
  receivedAt: number;
  query: Readonly<Record<string, string | undefined>>;
  /** Lower-case names. */
  headers: Readonly<Record<string, string | undefined>>;
  body: Uint8Array;
}

/** A received call as it is stored (one blob of JSON), until its batch is built or while it is a sample. */
export const storedWebhookSchema = z.object({
  receiptId: z.string().min(1),
  receivedAt: z.int().nonnegative().describe('Milliseconds since the epoch.'),
  querystring: z.string().describe('The query string without `?` and without the token parameter.'),
  headers: z.record(z.string(), z.string()).describe('Lower-case names; credentials removed.'),
  contentType: z.string().nullable(),
  body: z.string().describe('The body as sent: UTF-8 text, or base64 when it is not UTF-8.'),
  bodyEncoding: z.enum(['utf8', 'base64']),
});
export type StoredWebhook = z.infer<typeof storedWebhookSchema>;

/**
 * Reads a call into its stored form: credentials dropped, the body kept as sent. Rejects with ScError
 * `INVALID_JSON_BODY` when the body is declared JSON but does not parse: the sender is told at once
 * rather than the batch carrying a body no SQL can read.
 */
export function storedWebhook(call: WebhookCall): StoredWebhook {
  // Entries, not assignments: a header named `__proto__` is a header like any other.
  const headers = Object.fromEntries(
    Object.entries(call.headers)
      .map(([name, value]) => [name.toLowerCase(), value] as const)
      .filter((entry): entry is readonly [string, string] => entry[1] !== undefined)
      .filter(([name]) => !CREDENTIAL_HEADERS.has(name)),
  );
  const contentType = headers['content-type'] ?? null;
  const text = utf8Text(call.body);
  const stored: StoredWebhook = {
    receiptId: call.receiptId,
    receivedAt: call.receivedAt,
    querystring: storedQueryString(call.query),
    headers,
    contentType,
    body: text ?? Buffer.from(call.body).toString('base64'),
    bodyEncoding: text === null ? 'base64' : 'utf8',
  };
  const read = readBody(stored);
  if (call.body.length > 0 && read.format !== 'json' && declaresJson(contentType)) {
    throw new ScError(
      'INVALID_JSON_BODY',
      `The body is not valid JSON although its Content-Type is ${contentType}: ${read.problem ?? 'it does not parse'}. ` +
        'Send valid JSON, or send the body with another Content-Type (e.g. text/plain) to have it stored as text.',
    );
  }
  return stored;
}

/** The query string as stored: every parameter but the token, form-encoded, in the order received. */
export function storedQueryString(query: Readonly<Record<string, string | undefined>>): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined && name !== WEBHOOK_TOKEN_PARAMETER) params.append(name, value);
  }
  return params.toString();
}

/** The columns of `input.webhooks_raw`, in order: SPEC §8's four, then what the platform adds. */
export const WEBHOOKS_RAW_COLUMNS = [
  'received_at',
  'querystring',
  'headers',
  'body',
  'receipt_id',
  'body_format',
  'body_json',
] as const;
export type WebhookRawRow = Record<(typeof WEBHOOKS_RAW_COLUMNS)[number], string>;

/** The input table of a webhook batch and the typed view over it (SPEC §8). */
export const WEBHOOKS_RAW_TABLE = 'webhooks_raw';
export const WEBHOOKS_VIEW = 'webhooks';

/**
 * One row of `input.webhooks_raw`, every value a string: `received_at` in epoch milliseconds, `headers`
 * as a JSON object, `body` as sent (base64 for `binary`), and `body_json`: the body as one JSON object
 * for the typed view (see `bodyJson`).
 */
export function webhookRawRow(stored: StoredWebhook): WebhookRawRow {
  const read = readBody(stored);
  return {
    received_at: String(stored.receivedAt),
    querystring: stored.querystring,
    headers: JSON.stringify(stored.headers),
    body: stored.body,
    receipt_id: stored.receiptId,
    body_format: read.format,
    body_json: read.json,
  };
}

/**
 * `input.webhooks`, the typed view over `input.webhooks_raw`. `body` is ClickHouse `JSON`; a document the
 * JSON type cannot hold (a duplicate key, a number beyond 64 bits, nesting too deep) reads as `{}` rather
 * than failing the batch: its text stays in `body` of `input.webhooks_raw`.
 */
export const WEBHOOKS_VIEW_SELECT: string = [
  // Columns are named through the table alias: the view's own aliases (`body`, `received_at`) would
  // otherwise shadow the raw columns of the same name.
  'SELECT',
  "  fromUnixTimestamp64Milli(toInt64(assumeNotNull(raw.received_at)), 'UTC') AS received_at,",
  '  assumeNotNull(raw.querystring) AS querystring,',
  "  JSONExtract(assumeNotNull(raw.headers), 'Map(String, String)') AS headers,",
  "  accurateCastOrDefault(assumeNotNull(raw.body_json), 'JSON') AS body,",
  '  assumeNotNull(raw.receipt_id) AS receipt_id,',
  '  assumeNotNull(raw.body_format) AS body_format,',
  '  assumeNotNull(raw.body) AS raw_body',
  `FROM input.${WEBHOOKS_RAW_TABLE} AS raw`,
].join('\n');

interface ReadBody {
  format: WebhookBodyFormat;
  /** The body as the text of one JSON object. */
  json: string;
  /** Why a body that might be JSON is not. */
  problem?: string;
}

/**
 * How a stored call's body reads as one JSON object (the typed `body`):
 * - a JSON object: its text as sent (so integers beyond 2^53 keep every digit);
 * - any other JSON value (an array, a string…): `{"value": <it>}`;
 * - a form: `{"field": "value"}`, a repeated field as a list of its values;
 * - no body: the query string's parameters, as a form's fields (`{}` when there are none);
 * - anything else (text, binary): `{}`; SQL reads those from the raw `body`.
 */
function readBody(stored: StoredWebhook): ReadBody {
  const { contentType } = stored;
  if (stored.bodyEncoding === 'base64') {
    return { format: 'binary', json: '{}', problem: 'it is not UTF-8 text' };
  }
  const text = stored.body;
  if (text.length === 0) {
    return stored.querystring === ''
      ? { format: 'empty', json: '{}', problem: 'it is empty' }
      : { format: 'query', json: formJson(stored.querystring) };
  }
  const mediaType = mediaTypeOf(contentType);
  if (mediaType === 'application/x-www-form-urlencoded') return { format: 'form', json: formJson(text) };
  if (contentType === null || declaresJson(contentType)) {
    const parsed = parseJson(text);
    if (parsed.ok) {
      const isObject =
        typeof parsed.value === 'object' && parsed.value !== null && !Array.isArray(parsed.value);
      return { format: 'json', json: isObject ? text.trim() : `{"value":${text.trim()}}` };
    }
    return { format: 'text', json: '{}', problem: parsed.problem };
  }
  return { format: 'text', json: '{}' };
}

/** True for `application/json`, `application/<anything>+json` and `text/json`, with any parameters. */
function declaresJson(contentType: string | null): boolean {
  const mediaType = mediaTypeOf(contentType);
  return (
    mediaType === 'application/json' ||
    mediaType === 'text/json' ||
    /^application\/[^/]+\+json$/.test(mediaType ?? '')
  );
}

function mediaTypeOf(contentType: string | null): string | null {
  return contentType === null ? null : (contentType.split(';')[0]?.trim().toLowerCase() ?? null);
}

/** Form fields as a JSON object: one value as a string, a repeated field as the list of its values. */
function formJson(encoded: string): string {
  const fields = new Map<string, string | string[]>();
  for (const [name, value] of new URLSearchParams(encoded)) {
    const seen = fields.get(name);
    fields.set(name, seen === undefined ? value : [...(Array.isArray(seen) ? seen : [seen]), value]);
  }
  return JSON.stringify(Object.fromEntries(fields));
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false; problem: string } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (error) {
    return { ok: false, problem: error instanceof Error ? error.message : String(error) };
  }
}

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/** The bytes as text when they are UTF-8 (a BOM dropped), else null. */
function utf8Text(bytes: Uint8Array): string | null {
  try {
    return UTF8.decode(bytes);
  } catch {
    return null;
  }
}

/** The view a webhook batch's SQL gets besides its table (`SqlJob.inputViews`). */
export const WEBHOOKS_INPUT_VIEW = { name: WEBHOOKS_VIEW, select: WEBHOOKS_VIEW_SELECT };
