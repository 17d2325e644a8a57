import { mkdir } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';
import { z } from 'zod';
import { ScError, SqlError } from '../../../core/errors.ts';
import type { SqlEngine, SqlJob, SqlResult } from '../../../ports/sql-engine.ts';
import { SecretsManagerSecretStore } from '../../aws/secrets-manager-secret-store.ts';
import { quoteIdentifier, quoteString } from '../clickhouse-sql.ts';
import { redact, stageTimeout } from '../sql-errors.ts';
import { runSqlJob, SCRIPT_DATABASES, type Settings } from '../sql-job.ts';
import { isUnreachable, translateClientError, type ServerIdentity } from './clickhouse-errors.ts';
import { ClickHouseJobSession } from './clickhouse-job-session.ts';
import { createdAt, DATABASE_PREFIX, ExecutionNames } from './execution-names.ts';
import { createRunUserStatements, dropRunUserStatement, runUser, type RunUser } from './run-user.ts';

/** What a run's user is called after the run's stem (`ExecutionNames`). */
const RUN_USER = 'user';

export interface ClickHouseSqlEngineOptions {
  /**
   * The service's HTTPS endpoint, e.g. `https://abc123.eu-west-1.aws.clickhouse.cloud:8443`. Credentials
   * in it are ignored: they would end up in logs and messages.
   */
  url: string;
  /** @default 'default' */
  username?: string;
  /** The password, or how to get it (read once, on the first run, e.g. from Secrets Manager). */
  password: string | (() => Promise<string>);
  /**
   * Starts every database and named collection a run creates. Stacks sharing one server need prefixes
   * that are not prefixes of one another. @default 'sc_'
   */
  databasePrefix?: string;
  /**
   * Seconds a run may take beyond `limits.maxExecutionSeconds` (loading and export take time too, and
   * `max_execution_time` applies per statement) before its requests are aborted. @default 60
   */
  killMarginSeconds?: number;
  /**
   * Settings every request carries, e.g. `{ select_sequential_consistency: 1 }` so that a ClickHouse
   * Cloud service with several replicas always reads what the run wrote. @default {}
   */
  settings?: Settings;
  /**
   * How long a run waits for an unreachable server before it fails with `SQL_ENGINE_UNAVAILABLE` (an
   * idle Cloud service takes a while to wake). @default 60
   */
  waitForServerSeconds?: number;
  /**
   * Databases and named collections of this prefix older than this were left by runs that could not
   * clean up (a Lambda that timed out) and are dropped when a run starts; 0 turns this off.
   * @default 86400 (a day)
   */
  leftoverAgeSeconds?: number;
  /**
   * Whether each run's script runs as a user of its own, made for the run and dropped with it, that can
   * reach only the run's databases and collections and cannot raise the run's limits (`run-user.ts`).
   * Needs a platform user that may create users and grant what it holds (ClickHouse Cloud's `default`
   * may). Turn it off only for a server that runs one stack's trusted scripts. @default true
   */
  runUsers?: boolean;
  /**
   * How long a run waits for its new user to reach the replica that answers (ClickHouse Keeper carries
   * users to every replica, normally in well under a second) before failing, retryably. @default 30
   */
  runUserWaitSeconds?: number;
  /** Where problems that do not fail a run go (a leftover that could not be dropped). @default console.warn */
  warn?: (message: string) => void;
}

/**
 * The production SQL engine (SPEC §4, DESIGN "SQL"): ClickHouse Cloud, or any ClickHouse server, over
 * HTTP with `@clickhouse/client`. Many executions share one server, so each run gets databases and
 * named collections of its own (`ExecutionNames`), its script is split into statements whose database
 * and collection names are rewritten (`script-rewriter.ts`), every request carries the settings it
 * needs instead of relying on a server session, and everything the run created is dropped afterwards,
 * on failure too. The same `runSqlJob` as chDB's prepares, lists and exports, so both engines give the
 * same scopes and rows. See docs/clickhouse-cloud.md.
 */
export class ClickHouseSqlEngine implements SqlEngine {
  private readonly options: ClickHouseSqlEngineOptions;
  private readonly prefix: string;
  /** `options.url` without credentials: those come from `username` and `password` only. */
  private readonly url: string;
  private password: Promise<string> | undefined;
  /** Whether a failed sweep of leftovers was reported already: it would fail the same way every run. */
  private sweepFailureReported = false;

  constructor(options: ClickHouseSqlEngineOptions) {
    this.options = options;
    this.prefix = options.databasePrefix ?? 'sc_';
    if (!DATABASE_PREFIX.test(this.prefix)) {
      throw new ScError(
        'INVALID_CONFIGURATION',
        `The ClickHouse database prefix "${this.prefix}" must be a letter, then letters, digits or _, ending in _ ` +
          '(at most 32 characters), e.g. sc_ or sc_prod_.',
      );
    }
    const url = parseUrl(options.url);
    url.username = '';
    url.password = '';
    this.url = url.href;
  }

  async run(job: SqlJob): Promise<SqlResult> {
    await mkdir(job.outputDir, { recursive: true });
    const server = await this.server();
    const margin = this.options.killMarginSeconds ?? 60;
    const client = this.client(server, job.limits.maxExecutionSeconds + margin);
    const names = new ExecutionNames(this.prefix, job.executionId);
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(), (job.limits.maxExecutionSeconds + margin) * 1000);
    const user = this.runUsers
      ? runUser(
          names.name(RUN_USER),
          SCRIPT_DATABASES.map((name) => names.name(name)),
          Object.keys(job.secrets).map((name) => names.name(name)),
          job.limits,
        )
      : undefined;
    const identity = user && {
      origin: server.origin,
      username: user.name,
      password: user.password,
      runUser: true,
    };
    const script = identity && {
      client: this.client(identity, job.limits.maxExecutionSeconds + margin),
      server: identity,
    };
    const session = new ClickHouseJobSession({
      client,
      ...(script === undefined ? {} : { script }),
      ...(this.options.runUserWaitSeconds === undefined
        ? {}
        : { runUserWaitSeconds: this.options.runUserWaitSeconds }),
      job,
      names,
      server,
      settings: this.options.settings ?? {},
      signal: deadline.signal,
    });
    let reached = false;
    try {
      await this.waitForServer(client, server, deadline.signal);
      reached = true;
      await this.dropLeftovers(client);
      if (user !== undefined) await this.createRunUser(client, server, user, deadline.signal);
      return await runSqlJob(session, job);
    } catch (error) {
      if (deadline.signal.aborted) throw stageTimeout(job.limits, margin);
      throw error;
    } finally {
      clearTimeout(timer);
      if (deadline.signal.aborted) await session.killCurrent();
      // A server never reached holds nothing of this run.
      const failures = reached ? await session.dropAll() : [];
      if (failures.length > 0) {
        this.warn(
          `ClickHouse: could not drop what execution ${job.executionId} created (it is dropped by a later run ` +
            `once older than the leftover age): ${failures.join('; ')}`,
        );
      }
      await client.close();
      await script?.client.close();
    }
  }

  private get runUsers(): boolean {
    return this.options.runUsers ?? true;
  }

  /**
   * Creates the run's user and gives it its grants. A platform user that may not manage users fails
   * the run with what to do; the password is never in a message.
   */
  private async createRunUser(
    client: ClickHouseClient,
    server: ServerIdentity,
    user: RunUser,
    signal: AbortSignal,
  ): Promise<void> {
    for (const query of createRunUserStatements(user)) {
      try {
        await client.command({ query, abort_signal: signal });
      } catch (error) {
        const translated = translateClientError(error, server, (message) => message);
        if (translated instanceof ScError) throw translated;
        const message = redact((translated as Error).message, [user.password]);
        if (/\(ACCESS_DENIED\)|Code: 497\./.test(message)) {
          throw new ScError(
            'INVALID_CONFIGURATION',
            `ClickHouse user "${server.username}" may not create the run's own user (${message}). Give it ` +
              'CREATE USER, DROP USER and SHOW USERS, and what a run needs WITH GRANT OPTION ' +
              '(docs/clickhouse-cloud.md, step 2), or set CLICKHOUSE_RUN_USERS=0 on a server that runs only ' +
              'trusted scripts.',
          );
        }
        throw new SqlError('SQL_ENGINE_FAILED', `ClickHouse could not create the run's user: ${message}`);
      }
    }
  }

  private async server(): Promise<ServerIdentity> {
    const { password } = this.options;
    this.password ??= typeof password === 'string' ? Promise.resolve(password) : password();
    // A failed read is not kept, so the next run reads the secret again.
    const value = await this.password.catch((error: unknown) => {
      this.password = undefined;
      throw error;
    });
    return {
      origin: parseUrl(this.url).origin,
      username: this.options.username ?? 'default',
      password: value,
    };
  }

  /** A client for one run: its requests may take as long as the run may. */
  private client(server: ServerIdentity, runSeconds: number): ClickHouseClient {
    return createClient({
      url: this.url,
      username: server.username,
      password: server.password,
      application: 'smartconnector',
      request_timeout: (runSeconds + 30) * 1000,
      max_open_connections: 2,
      // JSON Lines shrink tenfold with gzip, which matters for large scopes over the Internet.
      compression: { response: true },
      // The client's own log would print server messages before secrets are redacted from them.
      log: { level: ClickHouseLogLevel.OFF },
    });
  }

  /** Waits, with growing pauses, while the server cannot be reached (a Cloud service waking up). */
  private async waitForServer(
    client: ClickHouseClient,
    server: ServerIdentity,
    signal: AbortSignal,
  ): Promise<void> {
    const waitUntil = Date.now() + (this.options.waitForServerSeconds ?? 60) * 1000;
    for (let pause = 1000; ; pause = Math.min(pause * 2, 10_000)) {
      try {
        await client.command({ query: 'SELECT 1', abort_signal: signal });
        return;
      } catch (error) {
        if (!isUnreachable(error) || Date.now() + pause > waitUntil || signal.aborted) {
          throw translateClientError(error, server, (message) => message);
        }
        await sleep(pause);
      }
    }
  }

  /**
   * Drops databases and named collections of this prefix whose run started more than
   * `leftoverAgeSeconds` ago: runs that were killed before they could clean up. Best effort.
   */
  private async dropLeftovers(client: ClickHouseClient): Promise<void> {
    const ageSeconds = this.options.leftoverAgeSeconds ?? 86_400;
    if (ageSeconds <= 0) return;
    const before = Date.now() - ageSeconds * 1000;
    const old = async (table: string): Promise<string[]> => {
      const result = await client.query({
        query: `SELECT name FROM system.${table} WHERE startsWith(name, ${quoteString(this.prefix)})`,
        format: 'JSONEachRow',
      });
      const rows = await result.json<{ name: string }>();
      return rows
        .map((row) => row.name)
        .filter((name) => (createdAt(this.prefix, name) ?? Infinity) < before);
    };
    const drop = async (table: string, statement: (name: string) => string): Promise<void> => {
      try {
        for (const name of await old(table)) await client.command({ query: statement(name) });
      } catch (error) {
        this.warn(
          `ClickHouse: could not drop old leftovers from system.${table}: ${(error as Error).message}`,
        );
      }
    };
    await drop('databases', (name) => `DROP DATABASE IF EXISTS ${quoteIdentifier(name)} SYNC`);
    await drop('named_collections', (name) => `DROP NAMED COLLECTION IF EXISTS ${quoteIdentifier(name)}`);
    if (this.runUsers) await drop('users', dropRunUserStatement);
  }

  private warn(message: string): void {
    (this.options.warn ?? console.warn)(message);
  }
}

function parseUrl(url: string): URL {
  try {
    return new URL(url);
  } catch {
    throw new ScError(
      'INVALID_CONFIGURATION',
      'CLICKHOUSE_URL is not a URL; set it to the service endpoint, e.g. https://abc123.eu-west-1.aws.clickhouse.cloud:8443.',
    );
  }
}

const Environment = z.object({
  CLICKHOUSE_URL: z.url({ error: 'must be the service URL, e.g. https://<host>:8443' }),
  CLICKHOUSE_USER: z.string().min(1).default('default'),
  CLICKHOUSE_PASSWORD: z.string().optional(),
  CLICKHOUSE_PASSWORD_SECRET_ARN: z.string().min(1).optional(),
  CLICKHOUSE_DATABASE_PREFIX: z.string().min(1).optional(),
  /** `1` or `0`; by default on for `*.clickhouse.cloud` services, whose replicas share the load. */
  CLICKHOUSE_SEQUENTIAL_CONSISTENCY: z.enum(['0', '1']).optional(),
  /** `1` (the default) or `0`: whether each run's script runs as a user of its own. */
  CLICKHOUSE_RUN_USERS: z.enum(['0', '1'], { error: 'must be 1 (the default) or 0' }).default('1'),
});

/**
 * The engine the Lambdas use, from their environment: `CLICKHOUSE_URL`, `CLICKHOUSE_USER` (default
 * `default`), the password in `CLICKHOUSE_PASSWORD` or, better, in the Secrets Manager secret
 * `CLICKHOUSE_PASSWORD_SECRET_ARN` names (read on the first run, then kept), `CLICKHOUSE_DATABASE_PREFIX`
 * (default `sc_`), `CLICKHOUSE_SEQUENTIAL_CONSISTENCY` and `CLICKHOUSE_RUN_USERS` (default `1`). Throws
 * at once when the configuration is incomplete, naming what to set.
 */
export function clickHouseSqlEngineFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  deps: { secretsManager?: SecretsManagerClient } = {},
): ClickHouseSqlEngine {
  const parsed = Environment.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues
      .map((issue) => `${issue.path.join('.')}: ${issue.message}`)
      .join('; ');
    throw new ScError(
      'INVALID_CONFIGURATION',
      `The ClickHouse engine's environment is invalid: ${problems}.`,
    );
  }
  const config = parsed.data;
  const arn = config.CLICKHOUSE_PASSWORD_SECRET_ARN;
  if (arn === undefined && config.CLICKHOUSE_PASSWORD === undefined) {
    throw new ScError(
      'INVALID_CONFIGURATION',
      'The ClickHouse engine needs a password: set CLICKHOUSE_PASSWORD_SECRET_ARN to a Secrets Manager secret ' +
        'holding it (or CLICKHOUSE_PASSWORD, for local use).',
    );
  }
  const password =
    arn === undefined
      ? config.CLICKHOUSE_PASSWORD!
      : async () => {
          const store = new SecretsManagerSecretStore({
            client: deps.secretsManager ?? new SecretsManagerClient({}),
            prefix: '',
          });
          const { [arn]: text } = await store.getSecrets([arn]);
          return passwordFromSecret(arn, text ?? '');
        };
  const cloud = new URL(config.CLICKHOUSE_URL).hostname.endsWith('.clickhouse.cloud');
  const consistent = (config.CLICKHOUSE_SEQUENTIAL_CONSISTENCY ?? (cloud ? '1' : '0')) === '1';
  return new ClickHouseSqlEngine({
    url: config.CLICKHOUSE_URL,
    username: config.CLICKHOUSE_USER,
    password,
    ...(config.CLICKHOUSE_DATABASE_PREFIX === undefined
      ? {}
      : { databasePrefix: config.CLICKHOUSE_DATABASE_PREFIX }),
    settings: consistent ? { select_sequential_consistency: 1 } : {},
    runUsers: config.CLICKHOUSE_RUN_USERS === '1',
  });
}

/**
 * The password in the secret CLICKHOUSE_PASSWORD_SECRET_ARN names: its text, or the `password` key of
 * a JSON object (the shape the console's "other type of secret" key/value editor saves).
 */
function passwordFromSecret(arn: string, text: string): string {
  if (!text.trimStart().startsWith('{')) return text;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return text;
  }
  const password = (value as { password?: unknown }).password;
  if (typeof password === 'string') return password;
  throw new ScError(
    'INVALID_CONFIGURATION',
    `The secret ${arn} holds a JSON object without a string "password" key; store the password as plain text ` +
      'or as {"password": "…"}.',
  );
}
