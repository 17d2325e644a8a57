import { describe, expect, it } from 'vitest';
import {
  RETRY_MAX_DELAY_SECONDS,
  RETRY_WINDOW_SECONDS,
  nextAttempt,
  retryAfterSeconds,
  type DeliveryOutcome,
  type RetryDecision,
} from '../../lambdas/core/webhook-retry.ts';

const FIRST = new Date('2025-06-12T14:30:53.000Z');
const after = (seconds: number) => new Date(FIRST.getTime() + seconds * 1000);
const http = (status: number, retryAfter?: number): DeliveryOutcome =>
  retryAfter === undefined
    ? { kind: 'http', status }
    : { kind: 'http', status, retryAfterSeconds: retryAfter };
const network: DeliveryOutcome = { kind: 'network' };

/** Decides after `attempt`, `elapsed` seconds after the first attempt, with `random` always returning `r`. */
const decide = (outcome: DeliveryOutcome, attempt = 1, elapsed = 0, r = 0.5): RetryDecision =>
  nextAttempt({ attempt, firstAttemptAt: FIRST, now: after(elapsed), outcome, random: () => r });

describe('nextAttempt: what counts as an answer', () => {
  it.each<[string, DeliveryOutcome, RetryDecision['retry'], string | undefined]>([
    ['200 is delivered', http(200), false, 'delivered'],
    ['202 is delivered', http(202), false, 'delivered'],
    ['204 is delivered', http(204), false, 'delivered'],
    ['299 is delivered', http(299), false, 'delivered'],
    ['a network error is retried', network, true, undefined],
    ['408 is retried', http(408), true, undefined],
    ['429 is retried', http(429), true, undefined],
    ['500 is retried', http(500), true, undefined],
    ['502 is retried', http(502), true, undefined],
    ['503 is retried', http(503), true, undefined],
    ['599 is retried', http(599), true, undefined],
    ['400 is final', http(400), false, 'rejected'],
    ['401 is final', http(401), false, 'rejected'],
    ['403 is final', http(403), false, 'rejected'],
    ['404 is final', http(404), false, 'rejected'],
    ['410 is final', http(410), false, 'rejected'],
    ['413 is final', http(413), false, 'rejected'],
    ['422 is final', http(422), false, 'rejected'],
    ['a redirect is final (not followed)', http(301), false, 'rejected'],
    ['a 1xx is final', http(100), false, 'rejected'],
  ])('%s', (_, outcome, retry, reason) => {
    const decision = decide(outcome);
    expect(decision.retry).toBe(retry);
    if (!decision.retry) expect(decision.reason).toBe(reason);
  });

  it('a 2xx is delivered and a final 4xx rejected even after the retry window', () => {
    expect(decide(http(200), 20, RETRY_WINDOW_SECONDS * 2)).toEqual({ retry: false, reason: 'delivered' });
    expect(decide(http(404), 20, RETRY_WINDOW_SECONDS * 2)).toEqual({ retry: false, reason: 'rejected' });
  });
});

describe('nextAttempt: the backoff', () => {
  // Ceiling after attempt n: min(900, 5 × 2^(n−1)); the delay is ceil(random × ceiling), at least 1.
  it.each<[number, number, number]>([
    [1, 0.5, 3],
    [1, 0.999, 5],
    [2, 0.5, 5],
    [2, 0.999, 10],
    [3, 0.999, 20],
    [4, 0.999, 40],
    [5, 0.999, 80],
    [6, 0.999, 160],
    [7, 0.999, 320],
    [8, 0.999, 640],
    [9, 0.999, 900],
    [9, 0.5, 450],
    [30, 0.999, 900],
    [1000, 0.999, 900],
    [1, 0, 1],
    [9, 0, 1],
  ])('after attempt %i with random %f: %i s', (attempt, r, delaySeconds) => {
    expect(decide(network, attempt, 0, r)).toEqual({ retry: true, delaySeconds });
  });

  it('is the same for a 5xx as for a network error', () => {
    expect(decide(http(503), 4, 100, 0.3)).toEqual(decide(network, 4, 100, 0.3));
  });

  it.each<[string, number, number]>([
    ['a Retry-After is honoured as given', 120, 120],
    ['a fractional Retry-After is rounded up', 2.2, 3],
    ['a Retry-After of 0 still waits 1 s', 0, 1],
    ['a long Retry-After is capped at 15 minutes', 86_400, RETRY_MAX_DELAY_SECONDS],
  ])('%s', (_, retryAfter, delaySeconds) => {
    expect(decide(http(429, retryAfter), 1, 0, 0.999)).toEqual({ retry: true, delaySeconds });
    expect(decide(http(503, retryAfter), 6, 0, 0.001)).toEqual({ retry: true, delaySeconds });
  });

  it.each<[string, number]>([
    ['negative', -5],
    ['not a number', Number.NaN],
  ])('a %s Retry-After is ignored in favour of the backoff', (_, retryAfter) => {
    expect(decide(http(429, retryAfter), 2, 0, 0.999)).toEqual({ retry: true, delaySeconds: 10 });
  });
});

describe('nextAttempt: the retry window', () => {
  it.each<[string, number, boolean]>([
    ['just after the first attempt', 0, true],
    ['a second before the hour', RETRY_WINDOW_SECONDS - 1, true],
    ['at the hour', RETRY_WINDOW_SECONDS, false],
    ['after the hour', RETRY_WINDOW_SECONDS + 600, false],
  ])('%s: retry %s', (_, elapsed, retry) => {
    const decision = decide(network, 12, elapsed);
    expect(decision.retry).toBe(retry);
    if (!decision.retry) expect(decision.reason).toBe('expired');
  });

  it.each([0, 0.5, 0.999])('keeps retrying for at least an hour whatever the draw (random %f)', (r) => {
    let elapsed = 0;
    let attempt = 1;
    let decision = decide(network, attempt, elapsed, r);
    while (decision.retry) {
      elapsed += decision.delaySeconds;
      attempt += 1;
      decision = decide(network, attempt, elapsed, r);
    }
    expect(decision).toEqual({ retry: false, reason: 'expired' });
    expect(elapsed).toBeGreaterThanOrEqual(RETRY_WINDOW_SECONDS);
    // The last retry is scheduled before the hour is up, so it lands at most one longest delay later.
    expect(elapsed).toBeLessThan(RETRY_WINDOW_SECONDS + RETRY_MAX_DELAY_SECONDS);
  });

  it('attempts about a dozen times in the hour with the largest draws', () => {
    let elapsed = 0;
    let attempt = 1;
    for (let decision = decide(network, 1, 0, 0.999); decision.retry; attempt += 1) {
      elapsed += decision.delaySeconds;
      decision = decide(network, attempt + 1, elapsed, 0.999);
    }
    // 5+10+20+40+80+160+320+640 = 1275 s over 8 retries, then 900 s each until the hour has passed.
    expect(attempt).toBe(12);
  });
});

describe('retryAfterSeconds', () => {
  const now = new Date('2025-06-12T14:30:53.000Z');
  it.each<[string, string | null | undefined, number | undefined]>([
    ['absent', undefined, undefined],
    ['null', null, undefined],
    ['empty', '  ', undefined],
    ['delta-seconds', '120', 120],
    ['delta-seconds with spaces', ' 7 ', 7],
    ['an HTTP date 90 s ahead', 'Thu, 12 Jun 2025 14:32:23 GMT', 90],
    ['an HTTP date in the past', 'Thu, 12 Jun 2025 14:00:00 GMT', 0],
    ['garbage', 'soon', undefined],
    ['a negative number', '-3', undefined],
  ])('%s', (_, header, expected) => {
    expect(retryAfterSeconds(header, now)).toBe(expected);
  });
});
