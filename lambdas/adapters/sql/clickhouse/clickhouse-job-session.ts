import { createReadStream, createWriteStream } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ClickHouseClient, ClickHouseSettings } from '@clickhouse/client';
import type { PreparedTable, SqlJob } from '../../../ports/sql-engine.ts';
import { SqlError } from '../../../core/errors.ts';
import { quoteIdentifier, quoteString } from '../clickhouse-sql.ts';
import {
  EXPORT_SETTINGS,
  jobSettings,
  limitSettings,
  SCRIPT_DATABASES,
  type ScriptDatabase,
  type Settings,
  type SqlJobSession,
} from '../sql-job.ts';
import { splitStatements, type Statement } from '../sql-statements.ts';
import { isLoginRefused, translateClientError, type ServerIdentity } from './clickhouse-errors.ts';
import type { ExecutionNames } from './execution-names.ts';
import { dropRunUserStatement } from './run-user.ts';
import { rewriteStatement, type ScriptNames } from './script-rewriter.ts';
import { ScriptState } from './script-state.ts';

export interface ClickHouseJobSessionOptions {
  /** The platform's client: setup, loads, kills, drops (and everything when runs have no users). */
  client: ClickHouseClient;
  /**
   * The script's client, logged in as the run's own user (`run-user.ts`), and that user's identity for
   * error messages; the platform's client when runs have no users of their own. It runs the script and
   * reads the scopes back. The run's user is dropped with everything else.
   */
  script?: { client: ClickHouseClient; server: ServerIdentity };
  /** How long the script's first request waits for the run's user to be usable. @default 30 */
  runUserWaitSeconds?: number;
  job: SqlJob;
  names: ExecutionNames;
  server: ServerIdentity;
  /** Settings every request carries besides the job's, e.g. `select_sequential_consistency` on Cloud. */
  settings: Settings;
  /** Aborts every request of the run when its time is up. */
  signal: AbortSignal;
}

/**
 * Over HTTP, for statements (setup, loads, the script): no result body (a script's SELECTs return
 * nothing, as they do on chDB), and the answer only once the statement has ended, so a late error is
 * a 500 and never a 200 with the error in its body (and DDL on a Cloud service has reached every
 * replica). A progress header every 110 s keeps a load balancer from cutting a quiet connection.
 */
const STATEMENT_HTTP_SETTINGS: Settings = {
  default_format: 'Null',
  wait_end_of_query: 1,
  send_progress_in_http_headers: 1,
  http_headers_progress_interval_ms: '110000',
};

/** For requests that return rows, which must stream: progress headers only. */
const RESULT_HTTP_SETTINGS: Settings = {
  send_progress_in_http_headers: 1,
  http_headers_progress_interval_ms: '110000',
};

/** How much of the end of an export is kept to find an error the server appended to it. */
const TAIL_BYTES = 64 * 1024;

/**
 * One job on a shared ClickHouse server (ClickHouse Cloud): the script's databases are per-run
 * databases (`ExecutionNames`), each statement is a request of its own carrying the current database
 * (`X-ClickHouse-Database`) and every setting it needs, and nothing relies on server session state, so
 * any replica behind a load balancer can answer any request. `dropAll` removes what the run created.
 */
export class ClickHouseJobSession implements SqlJobSession {
  readonly engineName = 'ClickHouse';
  private readonly scriptNames: ScriptNames;
  private requests = 0;
  /** The query id of the request in flight, so a run stopped at its deadline can kill it. */
  private current: string | undefined;
  /** Settles once the run's user is usable (`scriptSide`). */
  private runUserReady: Promise<void> | undefined;

  constructor(private readonly options: ClickHouseJobSessionOptions) {
    this.scriptNames = {
      database: (name) => this.database(name),
      collection: (name) => this.collection(name),
      secrets: new Set(Object.keys(options.job.secrets)),
    };
  }

  database(name: ScriptDatabase): string {
    return this.options.names.name(name);
  }

  collection(name: string): string {
    return this.options.names.name(name);
  }

  localize(sql: string): string {
    return splitStatements(sql)
      .map((statement) => rewriteStatement(statement, this.scriptNames))
      .join(';');
  }

  async setup(sql: string): Promise<void> {
    await this.send(
      (common) => this.options.client.command({ ...common, query: sql }),
      STATEMENT_HTTP_SETTINGS,
    );
  }

  async load(target: string, table: PreparedTable): Promise<void> {
    await this.send(
      (common) =>
        this.options.client.insert({
          ...common,
          table: target,
          values: createReadStream(table.path),
          format: 'TabSeparated',
        }),
      STATEMENT_HTTP_SETTINGS,
    );
  }

  async runScript(_script: string, statements: readonly Statement[]): Promise<void> {
    const state = new ScriptState();
    for (const statement of statements) {
      const database = state.inScriptDatabase ? this.database(state.inScriptDatabase) : state.database;
      // The job's limits come last: on a shared server a script's SET cannot lift them.
      const settings = {
        session_timezone: 'UTC',
        ...state.settings,
        ...limitSettings(this.options.job.limits),
        ...STATEMENT_HTTP_SETTINGS,
      };
      const query = rewriteStatement(statement, this.scriptNames);
      const { client, server } = await this.scriptSide();
      await this.send((common) => client.command({ ...common, query }), settings, database, server);
      state.after(statement);
    }
  }

  async query(sql: string, format: 'TabSeparated' | 'JSONEachRow'): Promise<string> {
    const { client, server } = await this.scriptSide();
    return this.send(
      async (common) => {
        const result = await client.query({ ...common, query: sql, format });
        return result.text();
      },
      this.exportSettings(),
      undefined,
      server,
    );
  }

  async exportTo(select: string, path: string, rows: number): Promise<void> {
    const check = new ExportCheck();
    const { client, server } = await this.scriptSide();
    await this.send(
      async (common) => {
        const result = await client.exec({ ...common, query: `${select} FORMAT JSONEachRow` });
        await pipeline(result.stream, check, createWriteStream(path));
      },
      this.exportSettings(),
      undefined,
      server,
    );
    const problem = check.problem(rows);
    if (problem !== undefined) throw new Error(this.options.names.restore(problem));
  }

  /** Kills the request in flight (best effort), after the run's deadline aborted it. */
  async killCurrent(): Promise<void> {
    if (this.current === undefined) return;
    await this.options.client
      .command({
        query: `KILL QUERY WHERE query_id = ${quoteString(this.current)} ASYNC`,
        abort_signal: AbortSignal.timeout(5_000),
      })
      .catch(() => undefined);
  }

  /**
   * Drops the run's user (first, so nothing of its script can go on) and every database and named
   * collection this run may have created, whether it got that far or not; returns what could not be
   * dropped, for the engine to report. Never throws.
   */
  async dropAll(): Promise<string[]> {
    const drops = [
      // The run's user, whose name the script's identity holds.
      ...(this.options.script === undefined
        ? []
        : [dropRunUserStatement(this.options.script.server.username)]),
      ...SCRIPT_DATABASES.map(
        (name) => `DROP DATABASE IF EXISTS ${quoteIdentifier(this.database(name))} SYNC`,
      ),
      ...Object.keys(this.options.job.secrets).map(
        (name) => `DROP NAMED COLLECTION IF EXISTS ${quoteIdentifier(this.collection(name))}`,
      ),
    ];
    const failures: string[] = [];
    for (const query of drops) {
      await this.options.client
        .command({ query, abort_signal: AbortSignal.timeout(60_000) })
        .catch((error: unknown) => failures.push(`${query}: ${(error as Error).message}`));
    }
    return failures;
  }

  /**
   * The client and identity of what the script may do: the run's user once it is usable, else the
   * platform's. Scopes are read back through it too, because a view or a `Merge` table in `output`
   * resolves what it reads as the user reading it: read by the platform's user, a script's
   * `merge(REGEXP('^sc_'), …)` would show every run's tables.
   */
  private async scriptSide(): Promise<{ client: ClickHouseClient; server: ServerIdentity }> {
    const { script } = this.options;
    if (script === undefined) return { client: this.options.client, server: this.options.server };
    this.runUserReady ??= this.waitForRunUser(script.client, script.server);
    await this.runUserReady;
    return script;
  }

  /**
   * Waits until the run's user logs in and sees every database of the run. On a service of several
   * replicas, users and grants reach each replica through ClickHouse Keeper a moment after they were
   * made; the user's database grants are its last (`runUser`), so seeing them all means it has every
   * grant. Rejects with a retryable `SQL_ENGINE_UNAVAILABLE` when that takes longer than it may.
   */
  private async waitForRunUser(client: ClickHouseClient, server: ServerIdentity): Promise<void> {
    const databases = SCRIPT_DATABASES.map((name) => quoteString(this.database(name)));
    const query = `SELECT count() FROM system.databases WHERE name IN (${databases.join(', ')})`;
    const waitUntil = Date.now() + (this.options.runUserWaitSeconds ?? 30) * 1000;
    let seen = 'it was refused at login';
    for (let pause = 50; ; pause = Math.min(pause * 2, 2_000)) {
      try {
        const result = await client.query({
          query,
          format: 'TabSeparated',
          abort_signal: this.options.signal,
        });
        const count = Number((await result.text()).trim());
        if (count === SCRIPT_DATABASES.length) return;
        seen = `it saw ${count} of the run's ${SCRIPT_DATABASES.length} databases`;
      } catch (error) {
        if (!isLoginRefused(error))
          throw translateClientError(error, server, (message) => this.options.names.restore(message));
      }
      if (Date.now() + pause > waitUntil || this.options.signal.aborted) {
        throw new SqlError(
          'SQL_ENGINE_UNAVAILABLE',
          `The run's own ClickHouse user "${server.username}" was not usable ` +
            `${this.options.runUserWaitSeconds ?? 30} s after it was made (${seen}): the service's replicas ` +
            'did not all receive it in time. The run can be retried.',
          { retryable: true },
        );
      }
      await sleep(pause);
    }
  }

  private exportSettings(): Settings {
    return { ...jobSettings(this.options.job.limits), ...EXPORT_SETTINGS, ...RESULT_HTTP_SETTINGS };
  }

  /**
   * Sends one request with what every request carries: a query id of the run (so it can be killed),
   * the run's abort signal, UTC, the engine's settings, the request's own settings and, when given,
   * the current database. Client errors are translated (`translateClientError`).
   */
  private async send<T>(
    request: (common: {
      query_id: string;
      abort_signal: AbortSignal;
      clickhouse_settings: ClickHouseSettings;
      http_headers: Record<string, string>;
    }) => Promise<T>,
    settings: Settings,
    database?: string,
    server = this.options.server,
  ): Promise<T> {
    const { names, signal } = this.options;
    this.current = `${names.stem}${++this.requests}`;
    try {
      return await request({
        query_id: this.current,
        abort_signal: signal,
        clickhouse_settings: { session_timezone: 'UTC', ...this.options.settings, ...settings },
        http_headers: database === undefined ? {} : { 'X-ClickHouse-Database': database },
      });
    } catch (error) {
      throw translateClientError(error, server, (message) => names.restore(message));
    } finally {
      // A request the deadline aborted keeps its id, for killCurrent.
      if (!signal.aborted) this.current = undefined;
    }
  }
}

/**
 * Counts the lines of a JSONEachRow export as they pass to the file and keeps its end: a server that
 * fails after it started sending appends the error to the body of a 200, so a short count, a last
 * line that is not JSON or a missing final newline means the export did not complete.
 */
class ExportCheck extends Transform {
  private lines = 0;
  private tail = Buffer.alloc(0);

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) this.lines++;
    this.tail = Buffer.concat([this.tail, chunk]);
    if (this.tail.length > 2 * TAIL_BYTES) this.tail = this.tail.subarray(-TAIL_BYTES);
    done(null, chunk);
  }

  /** What went wrong, if the body is not exactly `rows` JSON lines: the server's error text when present. */
  problem(rows: number): string | undefined {
    const text = this.tail.toString('utf8');
    const lastLine = text.endsWith('\n') ? text.slice(0, -1).split('\n').at(-1) : undefined;
    const complete =
      this.lines === rows && (rows === 0 ? text === '' : lastLine !== undefined && isJsonObject(lastLine));
    if (complete) return undefined;
    const error = /Code: \d+\. DB::Exception:[\s\S]*/.exec(text)?.[0];
    return error?.trim() ?? `The server ended the result after ${this.lines} of ${rows} rows.`;
  }
}

function isJsonObject(line: string): boolean {
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null && !Array.isArray(value);
  } catch {
    return false;
  }
}
