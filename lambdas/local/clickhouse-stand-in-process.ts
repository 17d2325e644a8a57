/**
 * The ClickHouse HTTP stand-in as a child process (see `startClickHouseStandIn`): a `node:http` server
 * whose answers come from one chDB `Session` on this process's main thread (chDB runs nowhere else).
 * It speaks as much of ClickHouse's HTTP interface as `@clickhouse/client` uses:
 *
 * - `GET /ping` and `GET /` answer `Ok.`, without credentials, as a server does;
 * - credentials by basic auth, `X-ClickHouse-User`/`X-ClickHouse-Key` or `user`/`password` parameters,
 *   checked against the configured user and the users it created (403 `AUTHENTICATION_FAILED`
 *   otherwise); `CREATE USER`, `GRANT`, `DROP USER` and `system.users` as `StandInAccess` keeps them
 *   (grants are accepted, not enforced);
 * - `GET /_stand_in/requests`: the requests it ran and who sent each, for tests (passwords of
 *   `CREATE USER` masked; named collections' values are not);
 * - the query in the body, in the `query` parameter, or begun in the parameter and ended in the body;
 *   `INSERT … FORMAT <format>` in the parameter with the data in the body (written to a temporary file
 *   and inserted `FROM INFILE`), gzip request bodies included;
 * - the current database from `X-ClickHouse-Database` or `database`, the default output format from
 *   `X-ClickHouse-Format` or `default_format` (a query's own `FORMAT` wins), every other parameter as
 *   a setting of that request only (`SET` before, `SET … = DEFAULT` after);
 * - results streamed chunk by chunk (`wait_end_of_query=1` buffers them), gzip-compressed when asked
 *   (`enable_http_compression=1` and `Accept-Encoding: gzip`);
 * - errors as HTTP 500 (403, 400 or 404 for some codes, as a server does) with ClickHouse's
 *   `Code: N. DB::Exception: …` text and `X-ClickHouse-Exception-Code`; an error after the first
 *   chunk was sent is appended to the body of the 200, as servers before 25.11 do.
 *
 * Requests run one at a time (one session): a single-threaded server. Not supported: sessions
 * (`session_id`), query parameters (`param_*`), `KILL QUERY` of another request, progress headers,
 * native or TLS ports. See docs/clickhouse-cloud.md.
 *
 * Protocol (IPC): receives `{ username, password, dataDir }`, answers `{ port }` or `{ error }`, and
 * stops on SIGTERM or when the parent goes away.
 */
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import { Session } from 'chdb';
import { quoteIdentifier, quoteString } from '../adapters/sql/clickhouse-sql.ts';
import { isSignificant, tokenize } from '../adapters/sql/sql-lexer.ts';
import { StandInAccess } from './clickhouse-stand-in-access.ts';

export interface StandInConfig {
  username: string;
  password: string;
  dataDir: string;
  /** Whether the configured user may create users (`StandInAccess`). */
  accessManagement: boolean;
  /** How long a made user's logins are refused after it was made (`StandInAccess`). */
  newUserLoginDelayMs: number;
  /** A regular expression: queries it matches fail with ACCESS_DENIED, for tests of failures. */
  refuse: string | null;
}

/** One request as the stand-in ran it, for tests: who sent it, and the query. */
export interface StandInRequest {
  user: string;
  query: string;
}

/** How many requests `GET /_stand_in/requests` keeps. */
const REQUEST_LOG_SIZE = 10_000;

/** URL parameters that belong to the HTTP interface, not to the query's settings. */
const HTTP_PARAMETERS = new Set([
  'query',
  'database',
  'default_format',
  'query_id',
  'user',
  'password',
  'quota_key',
  'buffer_size',
  'wait_end_of_query',
  'compress',
  'decompress',
  'stacktrace',
  'enable_http_compression',
  'role',
]);

/** Parameters of HTTP sessions, which the stand-in does not keep. */
const SESSION_PARAMETERS = new Set(['session_id', 'session_timeout', 'session_check']);

/** First words of statements that return rows, which chDB can stream. */
const STREAMING = new Set(['SELECT', 'WITH', 'SHOW', 'DESC', 'DESCRIBE', 'EXPLAIN', 'EXISTS']);

/** HTTP statuses a server gives some ClickHouse codes; 500 for the rest. */
const STATUS_BY_CODE: Record<number, number> = {
  516: 403, // AUTHENTICATION_FAILED
  62: 400, // SYNTAX_ERROR
  60: 404, // UNKNOWN_TABLE
  81: 404, // UNKNOWN_DATABASE
};

/** An error with ClickHouse's code, as the HTTP interface reports it. */
class ServerError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/** `query` with the password of an `IDENTIFIED … BY '…'` clause masked, as a server's query log does. */
function withoutPasswords(query: string): string {
  return query.replace(/(\bIDENTIFIED\b[^']*?\bBY\s+)'(?:[^'\\]|\\.)*'/gi, "$1'[HIDDEN]'");
}

/** ClickHouse's error text and code for anything chDB (or this server) threw. */
function serverError(error: unknown): ServerError {
  if (error instanceof ServerError) return error;
  const message = (error instanceof Error ? error.message : String(error)).replace(/^Query failed:\s*/, '');
  const code = /Code: (\d+)\. /.exec(message);
  if (code) return new ServerError(Number(code[1]), message.slice(code.index));
  return new ServerError(1001, `Code: 1001. DB::Exception: ${message} (STD_EXCEPTION)`);
}

class StandInServer {
  private queue: Promise<void> = Promise.resolve();
  private requests = 0;
  private readonly access: StandInAccess;
  private readonly log: StandInRequest[] = [];
  private readonly refuse: RegExp | null;

  constructor(
    private readonly session: Session,
    config: StandInConfig,
  ) {
    this.access = new StandInAccess(config, config.accessManagement, config.newUserLoginDelayMs);
    this.refuse = config.refuse === null ? null : new RegExp(config.refuse);
  }

  handle(request: IncomingMessage, response: ServerResponse): void {
    // A client that gave up (its run's deadline) must not take the server down with it.
    response.on('error', () => undefined);
    const url = new URL(request.url ?? '/', 'http://stand-in');
    if (
      request.method === 'GET' &&
      (url.pathname === '/ping' || (url.pathname === '/' && !url.searchParams.has('query')))
    ) {
      response.writeHead(200, { 'content-type': 'text/plain; charset=UTF-8' }).end('Ok.\n');
      return;
    }
    if (request.method === 'GET' && url.pathname === '/_stand_in/requests') {
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(this.log));
      return;
    }
    const work = async (): Promise<void> => {
      try {
        const user = this.authenticate(request, url);
        const body = await this.readBody(request, url);
        await this.run(request, url, body, response, user);
      } catch (error) {
        this.fail(response, serverError(error));
      }
    };
    // One session, one query at a time: requests wait their turn.
    this.queue = this.queue.then(work, work);
  }

  /** The user the request logs in as; AUTHENTICATION_FAILED unless its password is right. */
  private authenticate(request: IncomingMessage, url: URL): string {
    let user = url.searchParams.get('user') ?? request.headers['x-clickhouse-user']?.toString();
    let password = url.searchParams.get('password') ?? request.headers['x-clickhouse-key']?.toString();
    const basic = /^Basic (.+)$/i.exec(request.headers.authorization ?? '');
    if (basic) {
      const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      user = decoded.slice(0, colon);
      password = decoded.slice(colon + 1);
    }
    user ??= 'default';
    if (!this.access.authenticates(user, password ?? '')) {
      throw new ServerError(
        516,
        `Code: 516. DB::Exception: ${user}: Authentication failed: password is incorrect, or there is no user ` +
          'with such name. (AUTHENTICATION_FAILED)',
      );
    }
    return user;
  }

  /** The body: a temporary file for INSERT data, else the text that completes the query. */
  private async readBody(request: IncomingMessage, url: URL): Promise<{ text: string } | { file: string }> {
    const source = request.headers['content-encoding'] === 'gzip' ? request.pipe(createGunzip()) : request;
    if (insertFormat(url.searchParams.get('query') ?? '') !== undefined) {
      const dir = await mkdtemp(join(tmpdir(), 'sc-ch-insert-'));
      const file = join(dir, 'data');
      await pipeline(source, createWriteStream(file));
      return { file };
    }
    const chunks: Buffer[] = [];
    for await (const chunk of source) chunks.push(chunk as Buffer);
    return { text: Buffer.concat(chunks).toString('utf8') };
  }

  private async run(
    request: IncomingMessage,
    url: URL,
    body: { text: string } | { file: string },
    response: ServerResponse,
    user: string,
  ): Promise<void> {
    const params = url.searchParams;
    const settings = [...params.entries()].filter(([name]) => !HTTP_PARAMETERS.has(name));
    const malformed = settings.find(([name]) => !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name));
    if (malformed) {
      throw new ServerError(
        115,
        `Code: 115. DB::Exception: Unknown setting '${malformed[0]}'. (UNKNOWN_SETTING)`,
      );
    }
    const parameter = settings.find(([name]) => name.startsWith('param_') || SESSION_PARAMETERS.has(name));
    if (parameter) {
      throw new ServerError(
        48,
        `Code: 48. DB::Exception: The ClickHouse stand-in does not support ${parameter[0]}. (NOT_IMPLEMENTED)`,
      );
    }
    const queryParameter = params.get('query') ?? '';
    let query: string;
    if ('file' in body) {
      const format = insertFormat(queryParameter)!;
      query = `${format.head} FROM INFILE ${quoteString(body.file)} FORMAT ${format.name}`;
    } else {
      query = [queryParameter, body.text].filter((part) => part !== '').join('\n');
    }
    if (query.trim() === '')
      throw new ServerError(62, 'Code: 62. DB::Exception: Empty query. (SYNTAX_ERROR)');
    this.log.push({ user, query: withoutPasswords(query) });
    if (this.log.length > REQUEST_LOG_SIZE) this.log.shift();
    if (this.refuse?.test(query)) {
      throw new ServerError(
        497,
        `Code: 497. DB::Exception: ${user}: Not enough privileges (the stand-in was told to refuse this query). ` +
          '(ACCESS_DENIED)',
      );
    }
    const database =
      request.headers['x-clickhouse-database']?.toString() ?? params.get('database') ?? 'default';
    const format =
      request.headers['x-clickhouse-format']?.toString() ?? params.get('default_format') ?? 'TabSeparated';
    const queryId = params.get('query_id') ?? `stand-in-${++this.requests}`;
    const gzip =
      params.get('enable_http_compression') === '1' &&
      /\bgzip\b/.test(request.headers['accept-encoding'] ?? '');
    const headers: Record<string, string> = {
      'content-type': 'text/plain; charset=UTF-8',
      'x-clickhouse-query-id': queryId,
      'x-clickhouse-format': format,
      'x-clickhouse-timezone': 'UTC',
      'x-clickhouse-summary': JSON.stringify({
        read_rows: '0',
        read_bytes: '0',
        written_rows: '0',
        written_bytes: '0',
      }),
      ...(gzip ? { 'content-encoding': 'gzip' } : {}),
    };

    if (this.access.handle(query, user)) {
      this.reply(response, headers, gzip, []);
      return;
    }
    query = this.access.rewrite(query);
    try {
      await this.session.queryAsync(`USE ${quoteIdentifier(database)}`, { format: 'Null' });
      if (settings.length > 0) {
        const assignments = settings.map(([name, value]) => `${name} = ${quoteString(value)}`);
        await this.session.queryAsync(`SET ${assignments.join(', ')}`, { format: 'Null' });
      }
      const buffered = params.get('wait_end_of_query') === '1' || format === 'Null' || !streams(query);
      if (buffered) {
        const result = await this.session.queryAsync(query, { format });
        this.reply(response, headers, gzip, [Buffer.from(result.bytes())]);
      } else {
        await this.stream(query, format, response, headers, gzip);
      }
    } catch (error) {
      // chDB keeps what a failed query had already produced and gives it to the next one: flush it.
      await this.session.queryAsync('SELECT 1', { format: 'Null' }).catch(() => undefined);
      throw error;
    } finally {
      if (settings.length > 0) {
        const defaults = settings.map(([name]) => `${name} = DEFAULT`).join(', ');
        await this.session.queryAsync(`SET ${defaults}`, { format: 'Null' }).catch(() => undefined);
      }
      if ('file' in body) await rm(join(body.file, '..'), { recursive: true, force: true });
    }
  }

  /** Streams a result; waits for its first chunk before answering, so an early error is still a 500. */
  private async stream(
    query: string,
    format: string,
    response: ServerResponse,
    headers: Record<string, string>,
    gzip: boolean,
  ): Promise<void> {
    const chunks = this.session.queryStream(query, { format })[Symbol.asyncIterator]();
    const first = await chunks.next();
    const out = this.open(response, headers, gzip);
    try {
      if (!first.done) await write(out, first.value.raw(), response);
      for (let next = await chunks.next(); !next.done; next = await chunks.next()) {
        if (response.destroyed) {
          await chunks.return?.();
          break;
        }
        await write(out, next.value.raw(), response);
      }
    } catch (error) {
      // Headers are gone: the error goes at the end of the body, as older servers write it.
      await write(out, Buffer.from(`\n${serverError(error).message}\n`), response);
      await this.session.queryAsync('SELECT 1', { format: 'Null' }).catch(() => undefined);
    }
    out.end();
  }

  private open(
    response: ServerResponse,
    headers: Record<string, string>,
    gzip: boolean,
  ): NodeJS.WritableStream {
    response.writeHead(200, headers);
    if (!gzip) return response;
    const zip = createGzip();
    zip.on('error', () => undefined);
    zip.pipe(response);
    return zip;
  }

  private reply(
    response: ServerResponse,
    headers: Record<string, string>,
    gzip: boolean,
    body: Buffer[],
  ): void {
    const out = this.open(response, headers, gzip);
    for (const chunk of body) out.write(chunk);
    out.end();
  }

  private fail(response: ServerResponse, error: ServerError): void {
    if (response.headersSent) {
      response.end();
      return;
    }
    response
      .writeHead(STATUS_BY_CODE[error.code] ?? 500, {
        'content-type': 'text/plain; charset=UTF-8',
        'x-clickhouse-exception-code': String(error.code),
      })
      .end(`${error.message}\n`);
  }
}

/** `INSERT … FORMAT <name>` with nothing after the format: the data is the body. */
function insertFormat(query: string): { head: string; name: string } | undefined {
  const match = /^([\s\S]*?)\bFORMAT\s+([A-Za-z]+)\s*$/i.exec(query);
  if (!match || !/^\s*INSERT\b/i.test(query)) return undefined;
  return { head: match[1]!.trimEnd(), name: match[2]! };
}

/** Whether a query returns rows chDB can stream (a SELECT and its kin). */
function streams(query: string): boolean {
  const first = tokenize(query).find(isSignificant);
  return first !== undefined && (first.text === '(' || STREAMING.has(first.text.toUpperCase()));
}

/** Writes a chunk, waiting while the client is slow; a client that went away takes nothing more. */
async function write(out: NodeJS.WritableStream, chunk: Uint8Array, response: ServerResponse): Promise<void> {
  if (response.destroyed || out.write(chunk)) return;
  await new Promise<void>((done) => {
    const finish = (): void => {
      out.off('drain', finish);
      response.off('close', finish);
      done();
    };
    out.once('drain', finish);
    response.once('close', finish);
  });
}

function start(config: StandInConfig): void {
  const session = new Session(config.dataDir);
  const server = new StandInServer(session, config);
  const http = createServer((request, response) => server.handle(request, response));
  http.listen(0, '127.0.0.1', () => {
    process.send?.({ port: (http.address() as AddressInfo).port });
  });
  const stop = (): void => {
    http.close();
    http.closeAllConnections();
    session.close();
    process.exit(0);
  };
  process.once('SIGTERM', stop);
  process.once('disconnect', stop);
}

process.once('message', (config: StandInConfig) => {
  try {
    start(config);
  } catch (error) {
    process.send?.({ error: (error as Error).message }, () => process.exit(1));
  }
});
