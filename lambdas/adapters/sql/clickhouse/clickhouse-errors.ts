import { ClickHouseError } from '@clickhouse/client';
import { SqlError } from '../../../core/errors.ts';
import { redact } from '../sql-errors.ts';

/** The server an engine talks to, as errors may name it: never with its password. */
export interface ServerIdentity {
  /** `https://host:8443`, without user information, path or query. */
  origin: string;
  username: string;
  /** Only to redact it from any message that might echo it. */
  password: string;
  /** True for a run's own user (`run-user.ts`), which the platform made moments before. */
  runUser?: boolean;
}

/** ClickHouse codes of a refused login: AUTHENTICATION_FAILED, UNKNOWN_USER, REQUIRED_PASSWORD, IP_ADDRESS_NOT_ALLOWED. */
const LOGIN_CODES = new Set(['516', '192', '194', '195']);

/** Node's codes for a server that cannot be reached, or a connection lost on the way. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'ECONNABORTED',
  'UND_ERR_SOCKET',
  'ERR_SSL_WRONG_VERSION_NUMBER',
  'CERT_HAS_EXPIRED',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
]);

/** Whether a client error is the server refusing the login. */
export function isLoginRefused(error: unknown): error is ClickHouseError {
  return error instanceof ClickHouseError && LOGIN_CODES.has(error.code);
}

/** Whether a client error means the server could not be reached, or the connection was lost. */
export function isUnreachable(error: unknown): boolean {
  const e = error as { code?: unknown; message?: unknown } | undefined;
  if (typeof e?.code === 'string' && NETWORK_CODES.has(e.code)) return true;
  return typeof e?.message === 'string' && /^(?:Timeout error\.|socket hang up)/.test(e.message);
}

/**
 * What `@clickhouse/client` threw, as runSqlJob understands it:
 * - a server error becomes an Error whose message is ClickHouse's own text, `Code: N. DB::Exception:
 *   … (TYPE)`, with the execution's real names put back (`restore`), so it maps to the same SqlError
 *   codes and reads as the same message as on chDB;
 * - a refused login or a server that cannot be reached becomes a retryable `SQL_ENGINE_UNAVAILABLE`
 *   naming the URL and the user, with what to check, and never the password;
 * - anything else (a local file that cannot be read) is passed on.
 */
export function translateClientError(
  error: unknown,
  server: ServerIdentity,
  restore: (message: string) => string,
): unknown {
  if (error instanceof SqlError) return error;
  const hide = (text: string) => redact(text, [server.password, encodeURIComponent(server.password)]);
  if (error instanceof ClickHouseError && LOGIN_CODES.has(error.code) && server.runUser) {
    return new SqlError(
      'SQL_ENGINE_UNAVAILABLE',
      `ClickHouse at ${server.origin} refused the run's own user "${server.username}" (${error.type}: ` +
        `${hide(error.message.trim())}). The platform's user made it for this run moments before: on a ` +
        'service of several replicas it may not have reached this one yet, or the run outlived its deadline ' +
        'and the user was dropped. The run can be retried.',
      { retryable: true },
    );
  }
  if (isLoginRefused(error)) {
    return new SqlError(
      'SQL_ENGINE_UNAVAILABLE',
      `ClickHouse at ${server.origin} refused user "${server.username}" (${error.type}: ${hide(error.message.trim())}). ` +
        'Check CLICKHOUSE_USER and the password (CLICKHOUSE_PASSWORD, or the secret CLICKHOUSE_PASSWORD_SECRET_ARN ' +
        "names), and that the user's host restrictions allow this network.",
      { retryable: true },
    );
  }
  if (error instanceof ClickHouseError) {
    return new Error(restore(`Code: ${error.code}. DB::Exception: ${error.message.trim()} (${error.type})`));
  }
  if (isUnreachable(error)) {
    const e = error as { code?: unknown; message?: unknown };
    const detail = [e.code, e.message].filter((part) => typeof part === 'string' && part !== '').join(': ');
    return new SqlError(
      'SQL_ENGINE_UNAVAILABLE',
      `Could not reach ClickHouse at ${server.origin} (${hide(detail)}). Check CLICKHOUSE_URL, that the service is ` +
        'running (an idle ClickHouse Cloud service wakes on the first request, which can take a minute), and that ' +
        "its IP access list lets this network in (for a Lambda, its NAT gateway's addresses). The run can be retried.",
      { retryable: true },
    );
  }
  return error;
}
