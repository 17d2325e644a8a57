/**
 * When to retry an execution-ended webhook delivery (SPEC §7, docs/webhook.md): exponential backoff with
 * full jitter on network errors, 408, 429 and 5xx, for at least an hour after the first attempt. Any 2xx
 * is delivered; any other status is a final answer from the receiver.
 */

/** Ceiling of the delay after the first attempt. Default 5 s. */
export const RETRY_BASE_SECONDS = 5;
/** The ceiling doubles after every attempt. */
export const RETRY_FACTOR = 2;
/** No delay is longer: 15 minutes, which is also the longest delay an SQS message can carry. */
export const RETRY_MAX_DELAY_SECONDS = 900;
/** Attempts continue until this long has passed since the first one: 1 hour. */
export const RETRY_WINDOW_SECONDS = 3600;

export type DeliveryOutcome =
  /** No HTTP response: DNS, connection, TLS or timeout. */
  | { kind: 'network' }
  /** `retryAfterSeconds`: the response's `Retry-After`, already in seconds (see `retryAfterSeconds`). */
  | { kind: 'http'; status: number; retryAfterSeconds?: number };

export type RetryDecision =
  | { retry: true; delaySeconds: number }
  | {
      retry: false;
      /**
       * `delivered`: a 2xx. `rejected`: a status no retry can change (4xx other than 408 and 429, or a
       * 1xx/3xx, since redirects are not followed). `expired`: still failing after the retry window.
       */
      reason: 'delivered' | 'rejected' | 'expired';
    };

export interface AttemptInput {
  /** The 1-based number of the attempt that just finished. */
  attempt: number;
  firstAttemptAt: Date;
  now: Date;
  outcome: DeliveryOutcome;
  /** A number in [0, 1), such as `Math.random`; injected so the schedule can be tested. */
  random: () => number;
}

/**
 * What to do after an attempt. The delay is a whole number of seconds (at least 1), drawn uniformly
 * below `min(RETRY_MAX_DELAY_SECONDS, RETRY_BASE_SECONDS × RETRY_FACTOR^(attempt − 1))` ("full jitter",
 * so that the endings of many executions at once do not retry in step); a `Retry-After` replaces the
 * draw, capped at `RETRY_MAX_DELAY_SECONDS`.
 */
export function nextAttempt(input: AttemptInput): RetryDecision {
  const { outcome } = input;
  if (outcome.kind === 'http' && outcome.status >= 200 && outcome.status < 300) {
    return { retry: false, reason: 'delivered' };
  }
  if (!isRetryable(outcome)) return { retry: false, reason: 'rejected' };
  const elapsedSeconds = (input.now.getTime() - input.firstAttemptAt.getTime()) / 1000;
  if (elapsedSeconds >= RETRY_WINDOW_SECONDS) return { retry: false, reason: 'expired' };
  return { retry: true, delaySeconds: delaySeconds(input) };
}

function isRetryable(outcome: DeliveryOutcome): boolean {
  if (outcome.kind === 'network') return true;
  // 408: the receiver timed out waiting for the request, which is a network failure reported late.
  return outcome.status === 408 || outcome.status === 429 || (outcome.status >= 500 && outcome.status < 600);
}

function delaySeconds({ attempt, outcome, random }: AttemptInput): number {
  const retryAfter = outcome.kind === 'http' ? outcome.retryAfterSeconds : undefined;
  if (retryAfter !== undefined && Number.isFinite(retryAfter) && retryAfter >= 0) {
    return clamp(Math.ceil(retryAfter));
  }
  const ceiling = Math.min(
    RETRY_MAX_DELAY_SECONDS,
    RETRY_BASE_SECONDS * RETRY_FACTOR ** Math.max(0, attempt - 1),
  );
  return clamp(Math.ceil(random() * ceiling));
}

function clamp(seconds: number): number {
  return Math.min(RETRY_MAX_DELAY_SECONDS, Math.max(1, seconds));
}

/**
 * A `Retry-After` header in seconds: delta-seconds (`120`) or an HTTP date (`Thu, 12 Jun 2025 14:32:23 GMT`),
 * counted from `now`. Undefined
 * when absent or unreadable; a date in the past is 0.
 */
export function retryAfterSeconds(header: string | null | undefined, now: Date): number | undefined {
  const value = header?.trim();
  if (value === undefined || value === '') return undefined;
  if (/^\d+$/.test(value)) return Number(value);
  // Only the IMF-fixdate form senders must use (RFC 9110 §5.6.7): Date.parse alone reads "-3" as a year.
  if (!/^[A-Za-z]{3}, \d{2} [A-Za-z]{3} \d{4} \d{2}:\d{2}:\d{2} GMT$/.test(value)) return undefined;
  const at = Date.parse(value);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, Math.ceil((at - now.getTime()) / 1000));
}
