import { createHash, randomBytes } from 'node:crypto';

/**
 * The names one run of an execution uses on a shared ClickHouse server: every database and named
 * collection is `<prefix><execution>_<created>_<nonce>_<name>`, e.g.
 * `sc_0f8e…c2_m4x1k2ab_3fa9c1_input`.
 *
 * - `<execution>` is the execution id's hex (a UUID without dashes; other ids are hashed), so an
 *   operator can tell whose leftovers they see;
 * - `<created>` is the run's start in milliseconds, base 36, so leftovers of a run that could not
 *   clean up (a Lambda that timed out) can be dropped by age;
 * - `<nonce>` is random, so a retried run never meets a statement of the earlier attempt that is still
 *   running on the server, and two runs of one execution id never share a table.
 */
export class ExecutionNames {
  /** Everything before `<name>`, trailing `_` included. */
  readonly stem: string;

  constructor(prefix: string, executionId: string, now = Date.now(), nonce = randomBytes(3).toString('hex')) {
    this.stem = `${prefix}${executionKey(executionId)}_${now.toString(36)}_${nonce}_`;
  }

  /** The real name of a database or a named collection the script calls `name`. */
  name(name: string): string {
    return `${this.stem}${name}`;
  }

  /** A server message with the script's names put back, so it reads as it would on chDB. */
  restore(message: string): string {
    return message.split(this.stem).join('');
  }
}

/** The execution id as lowercase hex: a UUID's own digits, else the first 32 of its SHA-256. */
function executionKey(executionId: string): string {
  const hex = executionId.toLowerCase().replace(/-/g, '');
  return /^[0-9a-f]{32}$/.test(hex)
    ? hex
    : createHash('sha256').update(executionId).digest('hex').slice(0, 32);
}

/** A database prefix must be a plain identifier ending in `_`, so names never need quoting to be read. */
export const DATABASE_PREFIX = /^[A-Za-z][A-Za-z0-9_]{0,30}_$/;

/**
 * When a run created `name` (a database or named collection), if the name is one of ours under
 * `prefix`; undefined otherwise.
 */
export function createdAt(prefix: string, name: string): number | undefined {
  if (!name.startsWith(prefix)) return undefined;
  const match = /^[0-9a-f]{32}_([0-9a-z]{1,11})_[0-9a-f]{6}_./.exec(name.slice(prefix.length));
  return match ? parseInt(match[1]!, 36) : undefined;
}
