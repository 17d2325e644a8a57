import { randomUUID } from 'node:crypto';
import { open, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import type { ConnectorDefinition } from '../core/connector-schema.ts';
import { ScError, UsageError } from '../core/errors.ts';
import { canStart } from '../core/execution-status.ts';
import { TERMINAL_STATUSES, type Execution, type TriggerType } from '../core/model.ts';
import { MAX_WEBHOOK_BODY_BYTES } from '../core/upload-limits.ts';
import {
  WEBHOOK_SAMPLE_LIMIT,
  WEBHOOKS_RAW_TABLE,
  batchesWebhookCalls,
  storedWebhook,
  storedWebhookSchema,
  webhookRawRow,
  type StoredWebhook,
  type WebhookCall,
} from '../core/webhook-intake.ts';
import type { ConnectorRecord } from '../ports/connector-store.ts';
import { artifacts, webhookBlobs, type WebhookCallFolder } from './artifacts.ts';
import { derivedUuid } from './derived-id.ts';
import { dispatchConnector } from './dispatch.ts';
import type { Ports } from './ports.ts';
import { registerExecution } from './register.ts';

/*
 * Webhook connectors (SPEC §8 "Webhook"). A call is stored as one blob before the intake answers 202:
 * under `pending/` while the connector batches (it is active, a webhook connector with a cadence), under
 * `samples/` otherwise. Each cadence tick closes a window: every pending call received before the
 * window's end becomes one execution (trigger `webhook`) whose input is `input.webhooks_raw`. Samples are
 * processed only when replayed.
 *
 * Why no call is lost or put in two executions (docs/webhook-connectors.md, "Guarantees"):
 * - The intake answers 202 only after the blob is written; a call that was not stored was not accepted.
 * - Flushes of one connector run one at a time: each holds the connector's flush lease, a one-slot
 *   `ConcurrencySlots` claim (a conditional write), so two flushes never list the same pending calls.
 * - A flush lists the pending calls, writes a claim naming the keys it takes and the input file it
 *   writes (`batches/<execution>.json`), registers the execution, dispatches it, and only then deletes
 *   those calls and the claim. What it did not list (a call stored while it ran) stays pending for the
 *   next window.
 * - Each attempt writes its input file under a key of its own, so the execution record says which
 *   attempt registered it: a conditional create that answers CONFLICT for an item this attempt stored
 *   itself (the SDK retried a put whose reply was lost) is recognised as this attempt's registration.
 * - Every flush first finishes the claims an earlier flush left (it crashed): when the claim's execution
 *   exists with the claim's input file, its calls are in that execution, so they are deleted (and the
 *   execution dispatched); otherwise the claim is dropped and its calls stay pending.
 * - The execution id derives from the connector and the window's end, and registering is a conditional
 *   create, so a repeated tick finds the window's execution instead of making another.
 * - A save that stops a connector batching closes a last window first; a delete removes every call.
 */

/** How long a flush waits for another flush of the same connector before giving up (it is retried). */
const FLUSH_LEASE_WAIT_MS = 10_000;
/**
 * A flush lease older than this was left by a flush that died (a Lambda runs at most 15 minutes) and is
 * taken over.
 */
const FLUSH_LEASE_STALE_MS = 16 * 60_000;

/**
 * The most calls one window's execution takes; later ones stay pending for the next window, so a backlog
 * drains in bounded steps (5,000 calls of at most 1 MiB fit the tick Lambda's 10 GB of /tmp).
 */
export const MAX_CALLS_PER_WINDOW = 5_000;
/** Stored calls read at once while a batch file is built. */
const READ_CONCURRENCY = 16;

/** The 202 answer of the intake. */
export interface WebhookReceipt {
  receiptId: string;
  /** True when the connector does not batch calls now (not active, or no cadence): a sample was kept. */
  sample: boolean;
  /** For a sample: why it was not batched, and that only the newest `WEBHOOK_SAMPLE_LIMIT` are kept. */
  note?: string;
}

/**
 * Stores one call to a webhook connector's intake, durably, before the caller answers 202: as a pending
 * call of the next window while the connector batches (active, with a cadence), else as a sample (the
 * newest `WEBHOOK_SAMPLE_LIMIT` are kept, which the receipt's `note` says). Rejects with ScError
 * `NOT_A_WEBHOOK_CONNECTOR`, `WEBHOOK_BODY_TOO_LARGE` or `INVALID_JSON_BODY`, and with `CONNECTOR_NOT_FOUND`
 * when the connector was deleted while the call was stored (the call is then not kept).
 */
export async function receiveWebhook(
  ports: Ports,
  connector: ConnectorRecord,
  request: Pick<WebhookCall, 'query' | 'headers' | 'body'>,
): Promise<WebhookReceipt> {
  const version = await ports.connectors.getVersion(connector.id, connector.version);
  if (version?.definition.type !== 'webhook') {
    throw new ScError(
      'NOT_A_WEBHOOK_CONNECTOR',
      `Connector ${connector.apiName} is a ${version?.definition.type ?? 'spreadsheet'} connector; only webhook ` +
        'connectors take webhook calls. Start its executions with POST /connectors/{ref}/executions, or set ' +
        '"type": "webhook".',
    );
  }
  if (request.body.length > MAX_WEBHOOK_BODY_BYTES) {
    throw new ScError(
      'WEBHOOK_BODY_TOO_LARGE',
      `The body is ${request.body.length} bytes; a webhook call takes at most ${MAX_WEBHOOK_BODY_BYTES} bytes ` +
        '(1 MiB). Send smaller payloads, or upload the data as a file (POST /connectors/{ref}/uploads).',
    );
  }
  const stored = storedWebhook({
    ...request,
    receiptId: randomUUID(),
    receivedAt: ports.clock.now().getTime(),
  });
  const note = sampleNote(connector, version.definition);
  const key = webhookBlobs.call(
    connector.id,
    note ? 'samples' : 'pending',
    stored.receivedAt,
    stored.receiptId,
  );
  await ports.blobs.put(key, JSON.stringify(stored));
  // A delete removes the connector, then lists and removes its calls. Read after the write, the connector
  // is either still there (then the delete's listing, later, finds this call) or gone (then the call may
  // have been missed, and is removed here): either way nothing is left behind.
  if (!(await ports.connectors.getConnector(connector.id))) {
    await ports.blobs.delete(key);
    throw new UsageError(
      'CONNECTOR_NOT_FOUND',
      `Connector ${connector.apiName} was deleted while the call was received; the call was not kept.`,
    );
  }
  if (!note) return { receiptId: stored.receiptId, sample: false };
  await trimSamples(ports, connector.id);
  return { receiptId: stored.receiptId, sample: true, note };
}

/** Why a call is kept as a sample rather than batched, in the receipt's words; null when it is batched. */
function sampleNote(connector: ConnectorRecord, definition: ConnectorDefinition): string | null {
  const kept =
    `Only the newest ${WEBHOOK_SAMPLE_LIMIT} samples are kept: older ones are deleted as new ones arrive. ` +
    `Replay samples with POST /connectors/${connector.apiName}/webhook-samples/replay.`;
  if (!canStart(connector.status, false)) {
    return (
      `Connector ${connector.apiName} is not active (status ${connector.status}): the call was kept as a ` +
      `sample and will not be batched. ${kept}`
    );
  }
  if (!batchesWebhookCalls(definition)) {
    return (
      `Connector ${connector.apiName} has no cadence, so no window batches its calls: the call was kept as a ` +
      `sample. Set settings.cadence to batch calls. ${kept}`
    );
  }
  return null;
}

export interface FlushOptions {
  /** The most calls the window's execution takes. Default `MAX_CALLS_PER_WINDOW`. */
  maxCalls?: number;
}

/**
 * Closes one cadence window of a webhook connector (called by the cadence tick): every pending call
 * received before `windowEnd` (at most `maxCalls`, oldest first) becomes one execution (trigger `webhook`)
 * whose input file holds them all, in arrival order, and the connector's queue is dispatched. Returns
 * that execution, the one an earlier call made for the same window, or null when no call was pending.
 */
export async function flushWebhookWindow(
  ports: Ports,
  connectorId: string,
  windowEnd: Date,
  options: FlushOptions = {},
): Promise<Execution | null> {
  if (Number.isNaN(windowEnd.getTime())) {
    throw new ScError('INVALID_ARGUMENT', `The window end of connector ${connectorId} is not a valid date.`);
  }
  const maxCalls = options.maxCalls ?? MAX_CALLS_PER_WINDOW;
  if (!Number.isInteger(maxCalls) || maxCalls < 1) {
    throw new ScError('INVALID_ARGUMENT', `maxCalls must be a whole number of at least 1, not ${maxCalls}.`);
  }
  const connector = await connectorOrFail(ports, connectorId);
  return withFlushLease(ports, connector.id, () =>
    flushHoldingLease(ports, connector.id, windowEnd, { receivedBefore: windowEnd.getTime(), maxCalls }),
  );
}

/**
 * Run before a connector's new version is saved (`saveConnectorVersion`). When the version replaced is a
 * webhook connector and the new one does not batch calls (another type, or no cadence), no tick will
 * close a window on the calls still pending: they are flushed now, every one of them, into executions of
 * the version that received them (one per `MAX_CALLS_PER_WINDOW` calls, window end the save's time),
 * queued like any window's. A changed cadence needs nothing: its next tick takes every pending call.
 * Returns the executions made. Does nothing where the ports cannot run the pipeline (the workspace apply
 * of `sc run` and `sc serve`, which has a connector store only).
 */
export async function closeWebhookWindowsBeforeSave(
  ports: Partial<Ports>,
  connectorId: string,
  replaced: ConnectorDefinition | undefined,
  next: ConnectorDefinition,
): Promise<Execution[]> {
  if (replaced?.type !== 'webhook' || batchesWebhookCalls(next)) return [];
  const pipeline = pipelinePorts(ports);
  if (!pipeline) return [];
  const at = pipeline.clock.now().getTime();
  return withFlushLease(pipeline, connectorId, async () => {
    const made: Execution[] = [];
    // Each window end names its own execution; a window takes at most MAX_CALLS_PER_WINDOW calls.
    for (let offset = 0; ; offset++) {
      const execution = await flushHoldingLease(pipeline, connectorId, new Date(at + offset), {
        // Every pending call: one stamped by an intake whose clock runs ahead is pending all the same.
        receivedBefore: Infinity,
        maxCalls: MAX_CALLS_PER_WINDOW,
      });
      if (!execution) return made;
      made.push(execution);
    }
  });
}

/**
 * Removes every stored call of a connector (pending calls, samples, batch claims): run when it is
 * deleted (`deleteConnector`), after its record is gone, so that the intake's re-read of the connector
 * after each write catches a call stored meanwhile (see `receiveWebhook`).
 */
export async function discardWebhookCalls(ports: Pick<Ports, 'blobs'>, connectorId: string): Promise<number> {
  let removed = 0;
  for (const folder of [
    webhookBlobs.folder(connectorId, 'pending'),
    webhookBlobs.folder(connectorId, 'samples'),
    webhookBlobs.batches(connectorId),
  ]) {
    for (const key of await ports.blobs.list(folder)) {
      await ports.blobs.delete(key);
      removed++;
    }
  }
  return removed;
}

/** One sample as `GET /connectors/{ref}/webhook-samples` lists it. */
export interface WebhookSample {
  receiptId: string;
  receivedAt: string;
  contentType: string | null;
  querystring: string;
  headers: Record<string, string>;
  /** The body as sent (base64 when `bodyEncoding` is `base64`), cut after `SAMPLE_BODY_PREVIEW_CHARS`. */
  body: string;
  bodyEncoding: StoredWebhook['bodyEncoding'];
  /** How the batch would read it (`json`, `form`, `query`, `empty`, `text`, `binary`). */
  bodyFormat: string;
  /** The length of the whole stored body, in characters. */
  bodyLength: number;
  bodyTruncated: boolean;
}

/**
 * The longest body a sample listing shows: a page must stay well under the API Lambda's 6 MB answer.
 * Replaying a sample puts its whole body in the execution's input.
 */
export const SAMPLE_BODY_PREVIEW_CHARS = 64 * 1024;

/** The sample keys of a connector, oldest first (page them, then read a page with `readSamples`). */
export async function listSampleKeys(ports: Ports, connectorId: string): Promise<string[]> {
  return (await listCalls(ports, connectorId, 'samples')).map((call) => call.key);
}

export async function readSamples(ports: Ports, keys: readonly string[]): Promise<WebhookSample[]> {
  const samples: WebhookSample[] = [];
  for (const stored of await readStored(ports, keys)) {
    if (!stored) continue;
    const row = webhookRawRow(stored);
    const truncated = stored.body.length > SAMPLE_BODY_PREVIEW_CHARS;
    samples.push({
      receiptId: stored.receiptId,
      receivedAt: new Date(stored.receivedAt).toISOString(),
      contentType: stored.contentType,
      querystring: stored.querystring,
      headers: stored.headers,
      body: truncated ? stored.body.slice(0, SAMPLE_BODY_PREVIEW_CHARS) : stored.body,
      bodyEncoding: stored.bodyEncoding,
      bodyFormat: row.body_format,
      bodyLength: stored.body.length,
      bodyTruncated: truncated,
    });
  }
  return samples;
}

/**
 * Replays samples into one execution (trigger `replay`): the ones named, or every kept sample. Samples
 * are kept, so a replay can be repeated after the SQL is fixed. A live replay of a connector that is not
 * active waits in the queue like any live run; a dry run runs at once.
 *
 * Idempotent while its execution has not ended: the execution id derives from the connector, its
 * version, `dryRun` and the samples, so a repeat (a client retrying after a failed dispatch) answers the
 * same execution, dispatching it again when it is still queued. Once it has ended, the same replay makes
 * a new execution (the next id in the same derived sequence), as after a fix to an object or a secret;
 * a fix to the definition makes a new version, hence a new id. Rejects with UsageError
 * `NO_WEBHOOK_SAMPLES` or `WEBHOOK_SAMPLE_NOT_FOUND` (naming the unknown receipt ids).
 */
export async function replayWebhookSamples(
  ports: Ports,
  connectorId: string,
  options: { receiptIds?: readonly string[]; dryRun: boolean; initiatedBy: string },
): Promise<Execution> {
  const connector = await connectorOrFail(ports, connectorId);
  const samples = await listCalls(ports, connector.id, 'samples');
  if (samples.length === 0) {
    throw new UsageError(
      'NO_WEBHOOK_SAMPLES',
      `Connector ${connector.apiName} has no webhook samples. Samples are the calls it receives while it ` +
        'is not active: post some to its webhook URL, then replay them.',
    );
  }
  let chosen = samples;
  if (options.receiptIds) {
    const wanted = new Set(options.receiptIds);
    chosen = samples.filter((sample) => wanted.has(sample.receiptId));
    const found = new Set(chosen.map((sample) => sample.receiptId));
    const missing = [...wanted].filter((id) => !found.has(id));
    if (missing.length > 0) {
      throw new UsageError(
        'WEBHOOK_SAMPLE_NOT_FOUND',
        `Connector ${connector.apiName} has no sample ${missing.join(', ')}. List the kept samples with ` +
          `GET /connectors/${connector.apiName}/webhook-samples (the newest ${WEBHOOK_SAMPLE_LIMIT} are kept).`,
      );
    }
  }
  const receiptIds = chosen.map((sample) => sample.receiptId);
  for (let repeat = 0; ; repeat++) {
    const executionId = replayExecutionId(
      connector.id,
      connector.version,
      options.dryRun,
      receiptIds,
      repeat,
    );
    const existing = await ports.executions.get(executionId);
    if (existing && TERMINAL_STATUSES.has(existing.status)) continue;
    if (existing) {
      // The first request may have registered it and failed before (or while) dispatching.
      if (existing.status === 'queued') await dispatchConnector(ports, connector.id);
      return existing;
    }
    const batch = await registerBatch(
      ports,
      connector.id,
      chosen.map((sample) => sample.key),
      {
        executionId,
        trigger: 'replay',
        initiatedBy: options.initiatedBy,
        dryRun: options.dryRun,
        fileName: `webhook-samples-${compactTime(ports.clock.now())}.jsonl`,
      },
    );
    if (!batch) {
      // Every chosen sample was trimmed away between the listing and the read.
      throw new UsageError(
        'WEBHOOK_SAMPLE_NOT_FOUND',
        'The samples to replay were removed meanwhile; list them again.',
      );
    }
    // Registered by this request or, at the same moment, by an identical one: dispatch either way.
    await dispatchConnector(ports, connector.id);
    return batch.execution;
  }
}

/**
 * The execution id of a connector's webhook window: a UUID derived from the connector and the window's
 * end, so every delivery of the same tick names the same execution.
 */
export function webhookWindowExecutionId(connectorId: string, windowEnd: Date): string {
  return derivedUuid(['webhook', connectorId, windowEnd.toISOString()]);
}

/**
 * The execution id of a replay: derived from the connector, its version, `dryRun`, the replayed samples
 * (in any order) and how many identical replays ended before it (`repeat`).
 */
function replayExecutionId(
  connectorId: string,
  version: number,
  dryRun: boolean,
  receiptIds: readonly string[],
  repeat: number,
): string {
  return derivedUuid([
    'replay',
    connectorId,
    String(version),
    String(dryRun),
    String(repeat),
    ...[...receiptIds].sort(),
  ]);
}

/** A stored call, as its key names it. */
interface CallKey {
  key: string;
  receivedAt: number;
  receiptId: string;
}

/**
 * The keys a flush takes into its execution and the input file it writes for them, stored before it
 * registers (see the header). Claims written before `inputKey` existed lack it.
 */
const batchClaimSchema = z.object({
  executionId: z.string(),
  keys: z.array(z.string()),
  inputKey: z.string().optional(),
});
type BatchClaim = z.infer<typeof batchClaimSchema>;

const CALL_FILE = /\/(\d{13})-([^/]+)\.json$/;

/** A folder's calls in arrival order (their names start with the receipt time). */
async function listCalls(ports: Ports, connectorId: string, folder: WebhookCallFolder): Promise<CallKey[]> {
  const calls: CallKey[] = [];
  for (const key of await ports.blobs.list(webhookBlobs.folder(connectorId, folder))) {
    const match = CALL_FILE.exec(key);
    if (match) calls.push({ key, receivedAt: Number(match[1]), receiptId: match[2]! });
  }
  return calls;
}

/** Keeps the newest `WEBHOOK_SAMPLE_LIMIT` samples. */
async function trimSamples(ports: Ports, connectorId: string): Promise<void> {
  const samples = await listCalls(ports, connectorId, 'samples');
  for (const old of samples.slice(0, Math.max(0, samples.length - WEBHOOK_SAMPLE_LIMIT))) {
    await ports.blobs.delete(old.key);
  }
}

/**
 * One window's flush, under the connector's flush lease: finishes leftover claims, then batches the
 * pending calls received before `receivedBefore` (the oldest `maxCalls`) into the window's execution.
 */
async function flushHoldingLease(
  ports: Ports,
  connectorId: string,
  windowEnd: Date,
  take: { receivedBefore: number; maxCalls: number },
): Promise<Execution | null> {
  await finishClaims(ports, connectorId);
  const executionId = webhookWindowExecutionId(connectorId, windowEnd);
  const existing = await ports.executions.get(executionId);
  if (existing) return existing;
  const due = (await listCalls(ports, connectorId, 'pending'))
    .filter((call) => call.receivedAt < take.receivedBefore)
    .slice(0, take.maxCalls);
  if (due.length === 0) return null;
  const fileName = `webhooks-${compactTime(windowEnd)}.jsonl`;
  const claim: BatchClaim = {
    executionId,
    keys: due.map((call) => call.key),
    inputKey: attemptInputKey(executionId, fileName),
  };
  await ports.blobs.put(webhookBlobs.batch(connectorId, executionId), JSON.stringify(claim));
  const batch = await registerBatch(ports, connectorId, claim.keys, {
    executionId,
    inputKey: claim.inputKey,
    trigger: 'webhook',
    initiatedBy: `webhook:${windowEnd.toISOString()}`,
    dryRun: false,
    fileName,
  });
  if (batch?.created) {
    await dispatchConnector(ports, connectorId);
    await releaseClaim(ports, connectorId, claim);
  } else {
    // Registered meanwhile by another flush (only if a lease was taken over from a live flush): its
    // own claim names what it took, so nothing of ours is deleted but the claim.
    await ports.blobs.delete(webhookBlobs.batch(connectorId, executionId));
  }
  return batch?.execution ?? null;
}

/**
 * Finishes what crashed flushes left: a claim whose execution exists with the claim's input file had its
 * calls taken, so they are deleted (and the execution dispatched, in case the crash came before); a claim
 * without one is dropped, its calls left pending.
 */
async function finishClaims(ports: Ports, connectorId: string): Promise<void> {
  let dispatch = false;
  for (const key of await ports.blobs.list(webhookBlobs.batches(connectorId))) {
    const claim = batchClaimSchema.parse(JSON.parse(await ports.blobs.readText(key)));
    const execution = await ports.executions.get(claim.executionId);
    const taken =
      execution !== null && (claim.inputKey === undefined || execution.inputFile?.key === claim.inputKey);
    if (taken) {
      dispatch = true;
      await releaseClaim(ports, connectorId, claim);
    } else {
      await ports.blobs.delete(key);
    }
  }
  if (dispatch) await dispatchConnector(ports, connectorId);
}

/** Deletes the calls a registered batch took, then its claim. */
async function releaseClaim(ports: Ports, connectorId: string, claim: BatchClaim): Promise<void> {
  for (const key of claim.keys) await ports.blobs.delete(key);
  await ports.blobs.delete(webhookBlobs.batch(connectorId, claim.executionId));
}

/**
 * Where one attempt at registering an execution stores its input: under the execution's input folder, in
 * a folder of the attempt's own, so two attempts never overwrite each other's file and the registered
 * execution's `inputFile.key` names the attempt that registered it.
 */
function attemptInputKey(executionId: string, fileName: string): string {
  return artifacts.input(executionId, `${randomUUID()}/${fileName}`);
}

interface BatchOptions {
  executionId: string;
  /** Where this attempt stores the input file; a fresh `attemptInputKey` when absent. */
  inputKey?: string;
  trigger: TriggerType;
  initiatedBy: string;
  dryRun: boolean;
  fileName: string;
}

/**
 * Writes the calls as the JSON Lines input file of `input.webhooks_raw` and registers the execution.
 * A call whose blob is gone is left out; null when none is left. `created` is true when this attempt
 * registered the execution, also when the store answered CONFLICT for the item this attempt wrote (a put
 * the SDK retried after its reply was lost: the execution's input key is this attempt's). When another
 * attempt registered the id, its execution is returned with `created` false and this attempt's file is
 * removed.
 */
async function registerBatch(
  ports: Ports,
  connectorId: string,
  keys: readonly string[],
  options: BatchOptions,
): Promise<{ execution: Execution; created: boolean } | null> {
  const path = join(ports.tmpDir, `webhooks-${options.executionId}-${randomUUID()}.jsonl`);
  try {
    const file = await open(path, 'w');
    let rows = 0;
    try {
      for (let start = 0; start < keys.length; start += READ_CONCURRENCY) {
        const group = await readStored(ports, keys.slice(start, start + READ_CONCURRENCY));
        const lines = group.filter((stored) => stored !== null).map((s) => JSON.stringify(webhookRawRow(s)));
        rows += lines.length;
        if (lines.length > 0) await file.write(lines.join('\n') + '\n');
      }
    } finally {
      await file.close();
    }
    if (rows === 0) return null;
    const inputKey = options.inputKey ?? attemptInputKey(options.executionId, options.fileName);
    await ports.blobs.putFile(inputKey, path);
    const input = {
      key: inputKey,
      size: (await stat(path)).size,
      name: options.fileName,
      table: WEBHOOKS_RAW_TABLE,
    };
    try {
      const execution = await registerExecution(ports, {
        connectorRef: connectorId,
        input,
        dryRun: options.dryRun,
        trigger: options.trigger,
        initiatedBy: options.initiatedBy,
        executionId: options.executionId,
      });
      return { execution, created: true };
    } catch (error) {
      if (!(error instanceof ScError && error.code === 'CONFLICT')) throw error;
      const existing = await ports.executions.get(options.executionId);
      if (!existing) throw error;
      if (existing.inputFile?.key === inputKey) return { execution: existing, created: true };
      await ports.blobs.delete(inputKey);
      return { execution: existing, created: false };
    }
  } finally {
    await rm(path, { force: true });
  }
}

/** The stored calls under `keys`, in order; null for one whose blob is gone. */
async function readStored(ports: Ports, keys: readonly string[]): Promise<Array<StoredWebhook | null>> {
  return Promise.all(
    keys.map(async (key) => {
      let text: string;
      try {
        text = await ports.blobs.readText(key);
      } catch (error) {
        if (error instanceof ScError && error.code === 'NOT_FOUND') return null;
        throw error;
      }
      return storedWebhookSchema.parse(JSON.parse(text));
    }),
  );
}

/**
 * Runs `work` holding the connector's flush lease. The lease is a one-slot claim on the concurrency
 * slots under a name of its own (`webhook-flush:<connector id>`): a conditional write, so two flushes
 * never hold it at once. A lease older than `FLUSH_LEASE_STALE_MS` is taken over.
 */
async function withFlushLease<T>(ports: Ports, connectorId: string, work: () => Promise<T>): Promise<T> {
  const lease = `webhook-flush:${connectorId}`;
  const holder = randomUUID();
  const giveUpAt = Date.now() + FLUSH_LEASE_WAIT_MS;
  while ((await ports.slots.claim(lease, 1, holder)) === null) {
    const now = ports.clock.now().getTime();
    for (const held of await ports.slots.holders(lease)) {
      if (now - Date.parse(held.claimedAt) > FLUSH_LEASE_STALE_MS) {
        await ports.slots.release(lease, held.executionId);
      }
    }
    if (Date.now() > giveUpAt) {
      throw new ScError(
        'WEBHOOK_FLUSH_BUSY',
        `Another flush of connector ${connectorId}'s webhook window has been running for over ` +
          `${FLUSH_LEASE_WAIT_MS / 1000} s; this one gives up and is retried. Its calls stay pending.`,
        { retryable: true },
      );
    }
    await sleep(200);
  }
  try {
    return await work();
  } finally {
    await ports.slots.release(lease, holder);
  }
}

/**
 * The ports as the pipeline needs them, or null when some are missing: the connector lifecycle also runs
 * with a connector store only (the workspace apply of `sc run` and `sc serve`).
 */
function pipelinePorts(ports: Partial<Ports>): Ports | null {
  const { connectors, executions, records, blobs, sql, events, clock, mailer, secrets, slots } = ports;
  const { orchestrator, notifications, tmpDir } = ports;
  if (!connectors || !executions || !records || !blobs || !sql || !events || !clock || !mailer) return null;
  if (!secrets || !slots || !orchestrator || !notifications || tmpDir === undefined) return null;
  return {
    ...ports,
    connectors,
    executions,
    records,
    blobs,
    sql,
    events,
    clock,
    mailer,
    secrets,
    slots,
    orchestrator,
    notifications,
    tmpDir,
  };
}

async function connectorOrFail(ports: Ports, connectorId: string): Promise<ConnectorRecord> {
  const connector = await ports.connectors.getConnector(connectorId);
  if (!connector) {
    throw new UsageError('CONNECTOR_NOT_FOUND', `No connector "${connectorId}". Check the id or api name.`);
  }
  return connector;
}

/** `2026-12-04T06:00:00.000Z` → `20261204T060000Z`, for file names. */
function compactTime(time: Date): string {
  return time
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
}
