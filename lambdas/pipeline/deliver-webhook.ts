import { lookup } from 'node:dns/promises';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupAddress } from 'node:dns';
import { errorMessage } from '../core/errors.ts';
import type { Execution } from '../core/model.ts';
import { buildExecutionEndedPayload } from '../core/webhook-payload.ts';
import { nextAttempt, retryAfterSeconds } from '../core/webhook-retry.ts';
import {
  checkWebhookUrl,
  classifyAddress,
  targetAllowed,
  type TargetPolicy,
} from '../core/webhook-target.ts';
import { signWebhook } from './webhook-signing.ts';

/**
 * Sending the execution-ended webhook (SPEC §7, docs/webhook.md). `attemptDelivery` makes one attempt;
 * `deliverExecutionEnded` builds the signed request and retries it on the schedule of core/webhook-retry.ts.
 *
 * Address checks and DNS rebinding: the host is resolved once, every address is checked with
 * `targetAllowed`, and the connection is then made to those checked addresses only (the default transport
 * hands them to `node:http(s)` through its `lookup` option, so no second, unchecked lookup happens). The
 * URL's host name is still sent as `Host` and as the TLS server name, so certificates are verified as usual.
 * That is why the default transport is `node:http(s)` and not `fetch`: fetch has no way to pin the address.
 * Redirects are never followed: a 3xx is a final answer.
 */

/** Default time one attempt may take, from resolving the host to the response's status line. */
export const DEFAULT_ATTEMPT_TIMEOUT_MS = 10_000;

export type AttemptOutcome =
  /** No HTTP response: DNS, connection, TLS or timeout. Retried. */
  | { kind: 'network'; message: string }
  | { kind: 'http'; status: number; retryAfterSeconds?: number }
  /** The target is not allowed; nothing was sent. Final. */
  | { kind: 'refused'; reason: string };

export interface AttemptResult {
  outcome: AttemptOutcome;
  /** ISO 8601 UTC. */
  startedAt: string;
  durationMs: number;
}

/** Resolves a host name to every address it has. Default: `dns.lookup` with `all: true`. */
export type Resolver = (hostname: string) => Promise<string[]>;

export interface TransportRequest {
  url: URL;
  body: string;
  headers: Record<string, string>;
  /** The checked addresses of the URL's host: the only ones the transport may connect to. */
  addresses: string[];
  signal: AbortSignal;
}

export interface TransportResponse {
  status: number;
  /** The raw `Retry-After` header, if any. */
  retryAfter: string | undefined;
}

/** Sends one POST and returns once the status line and headers are in; the body is ignored. */
export type Transport = (request: TransportRequest) => Promise<TransportResponse>;

export interface AttemptOptions {
  url: string;
  body: string;
  headers: Record<string, string>;
  policy: TargetPolicy;
  timeoutMs?: number;
  resolve?: Resolver;
  transport?: Transport;
  now?: () => Date;
}

/** One delivery attempt. Never throws: every failure is an outcome. */
export async function attemptDelivery(options: AttemptOptions): Promise<AttemptResult> {
  const now = options.now ?? (() => new Date());
  const startedAt = now().toISOString();
  const started = performance.now();
  const outcome = await attemptOutcome(options, now);
  return { outcome, startedAt, durationMs: Math.round(performance.now() - started) };
}

async function attemptOutcome(options: AttemptOptions, now: () => Date): Promise<AttemptOutcome> {
  const { body, headers, policy } = options;
  const timeoutMs = options.timeoutMs ?? DEFAULT_ATTEMPT_TIMEOUT_MS;
  const check = checkWebhookUrl(options.url, policy);
  if (!check.ok) return { kind: 'refused', reason: check.reason };

  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const timedOut = () => ({ kind: 'network', message: `No response within ${timeoutMs} ms.` }) as const;
  try {
    let addresses: string[];
    if (check.literal !== null) {
      addresses = [check.host];
    } else {
      try {
        addresses = await abortable((options.resolve ?? resolveAll)(check.host), controller.signal);
      } catch (error) {
        if (controller.signal.aborted) return timedOut();
        return { kind: 'network', message: `Could not resolve ${check.host}: ${errorMessage(error)}` };
      }
    }
    const kinds = addresses.map(classifyAddress);
    const verdict = targetAllowed(kinds, policy);
    if (!verdict.allowed) return { kind: 'refused', reason: verdict.reason };
    if (check.url.protocol === 'http:' && kinds.some((kind) => kind !== 'loopback')) {
      return {
        kind: 'refused',
        reason: 'The webhook URL must use https; plain http is allowed only for a loopback host.',
      };
    }
    try {
      const transport = options.transport ?? nodeTransport;
      const response = await abortable(
        transport({ url: check.url, body, headers, addresses, signal: controller.signal }),
        controller.signal,
      );
      const retryAfter = retryAfterSeconds(response.retryAfter, now());
      return retryAfter === undefined
        ? { kind: 'http', status: response.status }
        : { kind: 'http', status: response.status, retryAfterSeconds: retryAfter };
    } catch (error) {
      if (controller.signal.aborted) return timedOut();
      return { kind: 'network', message: errorMessage(error) };
    }
  } finally {
    clearTimeout(timer);
  }
}

/** Every address of a host, in the resolver's order. */
export async function resolveAll(hostname: string): Promise<string[]> {
  const answers = await lookup(hostname, { all: true, verbatim: true });
  return answers.map((answer) => answer.address);
}

/**
 * The default transport: `node:http(s)` with a `lookup` that answers only the checked addresses, no
 * connection reuse, and no redirect following (node:http never follows them).
 */
export const nodeTransport: Transport = ({ url, body, headers, addresses, signal }) =>
  new Promise<TransportResponse>((resolve, reject) => {
    const pinned = addresses.map<LookupAddress>((address) => ({
      address: address.replace(/^\[(.*)\]$/, '$1'),
      family: address.includes(':') ? 6 : 4,
    }));
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(
      url,
      {
        method: 'POST',
        headers: { ...headers, 'Content-Length': String(Buffer.byteLength(body, 'utf8')) },
        agent: false,
        signal,
        lookup: (_hostname, lookupOptions, callback) => {
          const family = lookupOptions.family;
          const usable = pinned.filter((entry) => !family || entry.family === family);
          const first = usable[0];
          if (first === undefined) {
            const error = Object.assign(new Error(`No checked ${family ? `IPv${family} ` : ''}address`), {
              code: 'ENOTFOUND',
            });
            callback(error, '', 4);
          } else if (lookupOptions.all) {
            (callback as unknown as (error: null, addresses: LookupAddress[]) => void)(null, usable);
          } else {
            callback(null, first.address, first.family);
          }
        },
      },
      (res) => {
        resolve({ status: res.statusCode ?? 0, retryAfter: header(res.headers, 'retry-after') });
        // The body is ignored; closing the socket keeps a large or endless body from holding it open.
        res.destroy();
      },
    );
    req.on('error', reject);
    req.end(body, 'utf8');
  });

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new Error('aborted'));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new Error('aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

export interface DeliveryAttempt {
  /** When the attempt started, ISO 8601 UTC. */
  at: string;
  durationMs: number;
  outcome: AttemptOutcome;
  /** The wait before the next attempt, when one is scheduled. */
  delaySecondsAfter?: number;
}

export type DeliveryResult =
  | { status: 'delivered' | 'rejected' | 'expired' | 'refused'; attempts: DeliveryAttempt[] }
  /** The next attempt would pass `maxWaitSeconds`: the caller schedules it (or gives up, locally). */
  | { status: 'pending'; nextDelaySeconds: number; attempts: DeliveryAttempt[] };

export interface DeliverExecutionEndedOptions {
  url: string;
  secret: string | undefined;
  execution: Execution;
  reportUrl: string | null;
  inputFileUrl: string | null;
  urlExpiresAt: string | null;
  policy: TargetPolicy;
  /** Default: the system clock. */
  now?: () => Date;
  /** Default: a real timer. Tests inject one that returns at once. */
  sleep?: (ms: number) => Promise<void>;
  /** Default: `Math.random`. */
  random?: () => number;
  /**
   * Most seconds to wait between attempts in total, within this call. When the next delay would pass it,
   * the call returns `pending` with that delay. Default: no cap, so the retry window (an hour) bounds it.
   * `sc run` passes a short cap; a queue-driven sender passes 0 and re-queues with `nextDelaySeconds`.
   */
  maxWaitSeconds?: number;
  /** When a queue-driven sender continues a delivery: the attempts made so far and when the first began. */
  resume?: { attempts: number; firstAttemptAt: string };
  timeoutMs?: number;
  resolve?: Resolver;
  transport?: Transport;
}

/**
 * Delivers the execution-ended webhook: the payload is built once (the body is byte-identical on every
 * attempt), the headers are signed again for every attempt (so the signature's timestamp stays fresh
 * through an hour of retries), and `Idempotency-Key` is the execution id. Returns the attempt log.
 */
export async function deliverExecutionEnded(options: DeliverExecutionEndedOptions): Promise<DeliveryResult> {
  const now = options.now ?? (() => new Date());
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((done) => setTimeout(done, ms)));
  const random = options.random ?? Math.random;
  const maxWaitSeconds = options.maxWaitSeconds ?? Number.POSITIVE_INFINITY;
  const { execution } = options;
  const body = JSON.stringify(
    buildExecutionEndedPayload(execution, {
      reportUrl: options.reportUrl,
      inputFileUrl: options.inputFileUrl,
      urlExpiresAt: options.urlExpiresAt,
    }),
  );
  const attempts: DeliveryAttempt[] = [];
  let firstAttemptAt = options.resume === undefined ? null : new Date(options.resume.firstAttemptAt);
  let waitedSeconds = 0;
  for (let attempt = (options.resume?.attempts ?? 0) + 1; ; attempt += 1) {
    const result = await attemptDelivery({
      url: options.url,
      body,
      headers: signWebhook(body, options.secret, now(), execution.id),
      policy: options.policy,
      now,
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
      ...(options.resolve === undefined ? {} : { resolve: options.resolve }),
      ...(options.transport === undefined ? {} : { transport: options.transport }),
    });
    firstAttemptAt ??= new Date(result.startedAt);
    const record: DeliveryAttempt = {
      at: result.startedAt,
      durationMs: result.durationMs,
      outcome: result.outcome,
    };
    attempts.push(record);
    const { outcome } = result;
    if (outcome.kind === 'refused') return { status: 'refused', attempts };
    const decision = nextAttempt({ attempt, firstAttemptAt, now: now(), outcome, random });
    if (!decision.retry) return { status: decision.reason, attempts };
    record.delaySecondsAfter = decision.delaySeconds;
    if (waitedSeconds + decision.delaySeconds > maxWaitSeconds) {
      return { status: 'pending', nextDelaySeconds: decision.delaySeconds, attempts };
    }
    waitedSeconds += decision.delaySeconds;
    await sleep(decision.delaySeconds * 1000);
  }
}
