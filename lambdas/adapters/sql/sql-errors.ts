import { SqlError } from '../../core/errors.ts';
import type { SqlLimits } from '../../ports/sql-engine.ts';
import { quoteString } from './clickhouse-sql.ts';

/** Longest ClickHouse message an error carries; longer ones keep their head and tail. */
export const MAX_MESSAGE_CHARS = 5000;

/** ClickHouse error codes that get their own SqlError code. */
const CLICKHOUSE_CODES: Record<number, string> = {
  395: 'SQL_ASSERTION_FAILED', // FUNCTION_THROW_IF_VALUE_IS_NON_ZERO: a throwIf() in the script
  159: 'SQL_TIMEOUT', // TIMEOUT_EXCEEDED: max_execution_time
  241: 'SQL_MEMORY_LIMIT', // MEMORY_LIMIT_EXCEEDED: max_memory_usage
};

/**
 * The ClickHouse error code in a message (`Code: 62. DB::Exception: …`). chDB's Session errors do
 * not always carry `clickhouseCode`, so the message is the reliable source.
 */
export function clickhouseCode(message: string): number | undefined {
  const match = /Code: (\d+)/.exec(message);
  return match ? Number(match[1]) : undefined;
}

/**
 * Makes an engine message safe to show: every secret value (raw or as a SQL literal) replaced, and
 * chDB's `Query failed:` wrapper, terminal escapes and control characters removed.
 */
export function cleanEngineMessage(message: string, secretValues: readonly string[] = []): string {
  return (
    redact(message, secretValues)
      .replace(/^Query failed:\s*/, '')
      // eslint-disable-next-line no-control-regex
      .replace(/\u001b\[[0-9;]*[A-Za-z]/g, '')
      // eslint-disable-next-line no-control-regex
      .replace(/[\u0000-\u001f\u007f]+/g, ' ')
      .trim()
  );
}

/** Keeps at most MAX_MESSAGE_CHARS: the head and the tail, with the number of characters omitted. */
export function shortenMessage(text: string): string {
  if (text.length <= MAX_MESSAGE_CHARS) return text;
  const keep = Math.floor((MAX_MESSAGE_CHARS - 60) / 2);
  return `${text.slice(0, keep)} … [${text.length - 2 * keep} characters omitted] … ${text.slice(-keep)}`;
}

/** Every value of every named collection of a job, for redaction. */
export function secretValuesOf(secrets: Record<string, Record<string, string>>): string[] {
  return Object.values(secrets).flatMap((members) => Object.values(members));
}

/** Secret values shorter than this are only redacted as whole tokens, so `h` leaves `while` alone. */
const SHORT_SECRET_CHARS = 6;

/**
 * Replaces every secret value, raw or as a SQL string literal, with `[REDACTED]`; longest first, so
 * a value inside another leaves nothing behind. Short values are replaced where they stand alone
 * (not inside a longer word), so a one-letter value cannot garble the whole message.
 */
export function redact(text: string, secretValues: readonly string[]): string {
  const forms = [...new Set(secretValues.flatMap((value) => [value, quoteString(value).slice(1, -1)]))]
    .filter((form) => form !== '')
    .sort((a, b) => b.length - a.length);
  return forms.reduce((redacted, form) => {
    if (form.length >= SHORT_SECRET_CHARS) return redacted.split(form).join('[REDACTED]');
    const escaped = form.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    return redacted.replace(new RegExp(`(?<![A-Za-z0-9])${escaped}(?![A-Za-z0-9])`, 'g'), '[REDACTED]');
  }, text);
}

/**
 * A failure of the engine itself rather than of the script (it could not load the input, or its
 * process crashed): retryable, with the message cleaned and shortened.
 */
export function engineFailure(what: string, detail: unknown, secretValues: readonly string[]): SqlError {
  const text = cleanEngineMessage(detail instanceof Error ? detail.message : String(detail), secretValues);
  return new SqlError('SQL_ENGINE_FAILED', shortenMessage(text ? `${what}: ${text}` : `${what}.`), {
    retryable: true,
  });
}

/** The message `throwIf(cond, 'message')` was given, from `DB::Exception: <message>: while executing …`. */
function assertionMessage(message: string): string | undefined {
  return /DB::Exception: (.*?): while executing/.exec(message)?.[1];
}

/**
 * The SqlError for a ClickHouse failure of the connector's SQL: `SQL_ASSERTION_FAILED` (a `throwIf`),
 * `SQL_TIMEOUT`, `SQL_MEMORY_LIMIT`, or `SQL_ERROR` for everything else (syntax, unknown table…),
 * each with the cleaned ClickHouse message. `while` names what the engine was doing when it was not
 * running the script itself, e.g. `exporting scope "vendors"`.
 */
export function sqlErrorFromEngine(
  error: unknown,
  limits: SqlLimits,
  secretValues: readonly string[],
  activity?: string,
): SqlError {
  const raw = error instanceof Error ? error.message : String(error);
  const message = cleanEngineMessage(raw, secretValues);
  const code = CLICKHOUSE_CODES[clickhouseCode(raw) ?? -1] ?? 'SQL_ERROR';
  const during = activity ? ` while ${activity}` : '';
  let summary: string;
  switch (code) {
    case 'SQL_ASSERTION_FAILED': {
      const assertion = assertionMessage(message);
      summary = `A throwIf assertion in the SQL failed${during}${assertion ? `: ${assertion}` : ''}.`;
      break;
    }
    case 'SQL_TIMEOUT':
      summary =
        `The SQL ran longer than its ${limits.maxExecutionSeconds} s limit${during} (limits.maxExecutionSeconds); ` +
        'make it faster or raise the limit.';
      break;
    case 'SQL_MEMORY_LIMIT':
      summary =
        `The SQL needed more than its ${limits.maxMemoryBytes} byte memory limit${during} (limits.maxMemoryBytes); ` +
        'reduce what it holds at once or raise the limit.';
      break;
    default:
      summary = `The SQL failed${during}.`;
  }
  // No `cause`: the original error carries the message before secrets were redacted.
  return new SqlError(code, shortenMessage(`${summary} ClickHouse said: ${message}`));
}

/**
 * The SQL stage as a whole outlived its limit plus the margin for loading and export, and was stopped
 * (the chDB process killed, the ClickHouse requests aborted).
 */
export function stageTimeout(limits: SqlLimits, marginSeconds: number): SqlError {
  return new SqlError(
    'SQL_TIMEOUT',
    `The SQL stage ran longer than ${limits.maxExecutionSeconds + marginSeconds} s (limits.maxExecutionSeconds ` +
      `${limits.maxExecutionSeconds} s plus ${marginSeconds} s for loading and export) and was stopped. ` +
      'Make the SQL faster or raise the limit.',
  );
}
