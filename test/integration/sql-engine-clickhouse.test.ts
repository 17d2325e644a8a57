import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer as createTcpServer, connect, type Server as TcpServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChdbSqlEngine } from '../../lambdas/adapters/sql/chdb/chdb-sql-engine.ts';
import {
  ClickHouseSqlEngine,
  clickHouseSqlEngineFromEnv,
  type ClickHouseSqlEngineOptions,
} from '../../lambdas/adapters/sql/clickhouse/clickhouse-sql-engine.ts';
import { ScError } from '../../lambdas/core/errors.ts';
import {
  startClickHouseStandIn,
  type ClickHouseStandIn,
  type ClickHouseStandInOptions,
} from '../../lambdas/local/clickhouse-stand-in.ts';
import {
  secretsManagerClientFor,
  startSecretsManagerStandIn,
  type SecretsManagerStandIn,
} from '../../lambdas/local/secrets-manager-stand-in.ts';
import { DEFAULT_SQL_LIMITS } from '../../lambdas/ports/sql-engine.ts';
import {
  failure,
  Jobs,
  scopeRows,
  sqlEngineContract,
  TYPED_SCRIPT,
  VENDORS_CSV,
} from './sql-engine-contract.ts';

/*
 * The ClickHouse engine: the shared contract against the HTTP stand-in (chDB behind ClickHouse's HTTP
 * interface) and, when CLICKHOUSE_URL, CLICKHOUSE_USER and CLICKHOUSE_PASSWORD are set, against that real
 * server; then what only a shared server needs: byte-for-byte the same files as chDB, per-run names,
 * limits a script cannot lift, the run's deadline, an unreachable or refusing server, leftovers of
 * runs that could not clean up, and the configuration the Lambdas read.
 */

/** A prefix of this test file's own, so runs on a shared real server never meet another's. */
function testPrefix(): string {
  return `sc_t${randomBytes(3).toString('hex')}_`;
}

/** Databases and named collections under `prefix` on the server `client` talks to. */
async function namesUnder(client: ClickHouseClient, prefix: string): Promise<string[]> {
  const result = await client.query({
    query:
      `SELECT name FROM system.databases WHERE startsWith(name, '${prefix}') ` +
      `UNION ALL SELECT name FROM system.named_collections WHERE startsWith(name, '${prefix}')`,
    format: 'JSONEachRow',
  });
  return (await result.json<{ name: string }>()).map((row) => row.name).sort();
}

/** Users under `prefix` on the server `client` talks to. */
async function usersUnder(client: ClickHouseClient, prefix: string): Promise<string[]> {
  const result = await client.query({
    query: `SELECT name FROM system.users WHERE startsWith(name, '${prefix}') ORDER BY name`,
    format: 'JSONEachRow',
  });
  return (await result.json<{ name: string }>()).map((row) => row.name);
}

interface Server {
  url: string;
  username: string;
  password: string;
}

/** The contract's fixture for the engine on `server`, with a prefix of its own. */
function fixtureOn(server: Server, reachesThisMachine: boolean) {
  const prefix = testPrefix();
  const admin = createClient({ url: server.url, username: server.username, password: server.password });
  return {
    engine: new ClickHouseSqlEngine({ ...server, databasePrefix: prefix }),
    leftovers: () => namesUnder(admin, prefix),
    reachesThisMachine,
    close: () => admin.close(),
  };
}

let standIn: ClickHouseStandIn | undefined;
let standInStarting: Promise<ClickHouseStandIn> | undefined;
/** One stand-in for the whole file, started on first use. */
function sharedStandIn(): Promise<ClickHouseStandIn> {
  standInStarting ??= startClickHouseStandIn().then((started) => (standIn = started));
  return standInStarting;
}
afterAll(async () => {
  await standIn?.stop();
});

sqlEngineContract('ClickHouse over HTTP (the stand-in)', async () => fixtureOn(await sharedStandIn(), true));

const real = process.env.CLICKHOUSE_URL;
sqlEngineContract(
  `a real ClickHouse server (${real ? new URL(real).host : 'none'})`,
  async () =>
    fixtureOn(
      {
        url: real!,
        username: process.env.CLICKHOUSE_USER ?? 'default',
        password: process.env.CLICKHOUSE_PASSWORD ?? '',
      },
      false,
    ),
  real ? undefined : 'set CLICKHOUSE_URL, CLICKHOUSE_USER and CLICKHOUSE_PASSWORD to run it',
);

describe('the ClickHouse engine on a shared server (the stand-in)', () => {
  let server: ClickHouseStandIn;
  let admin: ClickHouseClient;
  let jobs: Jobs;
  const prefix = testPrefix();
  const engine = (options: Partial<ClickHouseSqlEngineOptions> = {}) =>
    new ClickHouseSqlEngine({ ...server, databasePrefix: prefix, ...options });

  beforeAll(async () => {
    server = await sharedStandIn();
    admin = createClient({ url: server.url, username: server.username, password: server.password });
    jobs = new Jobs(await mkdtemp(join(tmpdir(), 'sc-clickhouse-test-')));
  });
  afterAll(async () => {
    await admin?.close();
    if (jobs) await rm(jobs.dir, { recursive: true, force: true });
  });

  it('writes byte for byte the files chDB writes for the same job', { timeout: 120_000 }, async () => {
    const inputs = await jobs.input('vendors.csv', VENDORS_CSV);
    const script = `${TYPED_SCRIPT};
      CREATE TABLE output.vendors AS SELECT * FROM input.vendors_csv ORDER BY vendor_name;
      CREATE TABLE output.meta AS SELECT * FROM meta.current_execution;
      CREATE TABLE output.grouped AS SELECT city IS NULL AS no_city, count() AS n, groupArray(vendor_name) AS names
        FROM input.vendors_csv GROUP BY no_city ORDER BY no_city;`;
    const job = jobs.job({ inputs, script, parameters: { a: '1' } });
    const chdb = await new ChdbSqlEngine().run({ ...job, outputDir: join(job.outputDir, 'chdb') });
    const clickhouse = await engine().run({ ...job, outputDir: join(job.outputDir, 'clickhouse') });
    expect(clickhouse.scopes.map(({ name, columns, rows }) => ({ name, columns, rows }))).toEqual(
      chdb.scopes.map(({ name, columns, rows }) => ({ name, columns, rows })),
    );
    for (const [i, scope] of chdb.scopes.entries()) {
      expect(await readFile(clickhouse.scopes[i]!.path, 'utf8'), scope.name).toBe(
        await readFile(scope.path, 'utf8'),
      );
    }
  });

  it('runs each execution in databases named for it, dropped afterwards', async () => {
    const job = jobs.job({ script: 'CREATE TABLE output.where AS SELECT currentDatabase() AS db' });
    const result = await engine().run(job);
    const [{ db }] = (await scopeRows(result, 'where')) as [{ db: string }];
    expect(db).toMatch(
      new RegExp(`^${prefix}${job.executionId.replace(/-/g, '')}_[0-9a-z]+_[0-9a-f]{6}_connector$`),
    );
    expect(await namesUnder(admin, prefix)).toEqual([]);
  });

  it('keeps the limits when a script SETs them: a shared server has no process to kill', async () => {
    const error = await failure(
      engine(),
      jobs.job({
        script:
          'SET max_execution_time = 0; CREATE TABLE output.slow AS SELECT sleepEachRow(0.5) FROM numbers(10) SETTINGS max_block_size = 1',
        limits: { ...DEFAULT_SQL_LIMITS, maxExecutionSeconds: 1 },
      }),
    );
    expect(error.code).toBe('SQL_TIMEOUT');
    expect(error.message).toContain('TIMEOUT_EXCEEDED');
  });

  it('stops a run that outlives its limit plus the margin, and still drops what it created', async () => {
    const script = [1, 2, 3, 4]
      .map(
        (n) =>
          `CREATE TABLE output.step_${n} AS SELECT sleepEachRow(0.3) AS s FROM numbers(3) SETTINGS max_block_size = 1`,
      )
      .join(';\n');
    const error = await failure(
      engine({ killMarginSeconds: 0 }),
      jobs.job({ script, limits: { ...DEFAULT_SQL_LIMITS, maxExecutionSeconds: 2 } }),
    );
    expect(error.code).toBe('SQL_TIMEOUT');
    expect(error.message).toBe(
      'The SQL stage ran longer than 2 s (limits.maxExecutionSeconds 2 s plus 0 s for loading and export) and was ' +
        'stopped. Make the SQL faster or raise the limit.',
    );
    expect(await namesUnder(admin, prefix)).toEqual([]);
  });

  it('fails with a retryable SQL_ENGINE_UNAVAILABLE naming the URL, never the password, when the server is unreachable', async () => {
    const closed = createTcpServer();
    await new Promise<void>((done) => closed.listen(0, '127.0.0.1', done));
    const { port } = closed.address() as AddressInfo;
    await new Promise((done) => closed.close(done));
    const password = 'unreachable-Pa55word';
    const error = await failure(
      new ClickHouseSqlEngine({
        url: `http://u:${password}@127.0.0.1:${port}/`,
        password,
        waitForServerSeconds: 0,
      }),
      jobs.job({ script: 'CREATE TABLE output.x AS SELECT 1' }),
    );
    expect(error.code).toBe('SQL_ENGINE_UNAVAILABLE');
    expect(error.retryable).toBe(true);
    expect(error.message).toContain(`Could not reach ClickHouse at http://127.0.0.1:${port} (ECONNREFUSED`);
    expect(error.message).toContain('Check CLICKHOUSE_URL');
    expect(error.message).not.toContain(password);
  });

  it('refuses to log in with a wrong password: retryable, naming the user, never the password', async () => {
    const password = 'Wr0ng-Pa55word';
    const error = await failure(
      engine({ username: server.username, password }),
      jobs.job({ script: 'CREATE TABLE output.x AS SELECT 1' }),
    );
    expect(error.code).toBe('SQL_ENGINE_UNAVAILABLE');
    expect(error.retryable).toBe(true);
    expect(error.message).toMatch(
      new RegExp(`^ClickHouse at ${server.url} refused user "default" \\(AUTHENTICATION_FAILED: `),
    );
    expect(error.message).not.toContain(password);
  });

  it('waits for a server that drops its first connections (a Cloud service waking up)', async () => {
    const target = new URL(server.url);
    let dropped = 0;
    const proxy: TcpServer = createTcpServer((socket) => {
      if (dropped++ < 2) return socket.destroy();
      const upstream = connect(Number(target.port), target.hostname);
      socket.pipe(upstream).pipe(socket);
      upstream.on('error', () => socket.destroy());
      socket.on('error', () => upstream.destroy());
    });
    await new Promise<void>((done) => proxy.listen(0, '127.0.0.1', done));
    try {
      const { port } = proxy.address() as AddressInfo;
      const result = await engine({ url: `http://127.0.0.1:${port}` }).run(
        jobs.job({ script: 'CREATE TABLE output.awake AS SELECT 1 AS yes' }),
      );
      expect(dropped).toBeGreaterThan(2);
      expect(await scopeRows(result, 'awake')).toEqual([{ yes: 1 }]);
    } finally {
      await new Promise((done) => proxy.close(done));
    }
  });

  it("runs the script as the run's own user, made for the run and dropped afterwards, on failure too", async () => {
    const marker = `by_run_user_${randomBytes(4).toString('hex')}`;
    await engine().run(jobs.job({ script: `CREATE TABLE output.${marker} AS SELECT 1 AS x` }));
    const error = await failure(
      engine(),
      jobs.job({ script: `CREATE TABLE output.${marker}_2 AS SELECT 1 AS x; SELECT throwIf(1, 'no')` }),
    );
    expect(error.code).toBe('SQL_ASSERTION_FAILED');
    const requests = await server.requests();
    const scriptUsers = requests
      .filter((request) => request.query.includes(marker) && request.query.includes('CREATE TABLE'))
      .map((request) => request.user);
    expect(scriptUsers).toHaveLength(2);
    for (const user of scriptUsers)
      expect(user).toMatch(new RegExp(`^${prefix}[0-9a-f]{32}_[0-9a-z]+_[0-9a-f]{6}_user$`));
    expect(new Set(scriptUsers).size).toBe(2);
    // The scope is read back (listed, counted, exported) by the same user, never by the platform's.
    const readers = requests
      .filter((request) => request.query.includes(marker) && /\bFROM\b/.test(request.query))
      .filter((request) => !request.query.includes('CREATE TABLE'))
      .map((request) => request.user);
    expect(readers.length).toBeGreaterThan(0);
    expect(new Set(readers)).toEqual(new Set([scriptUsers[0]]));
    for (const user of scriptUsers) {
      const made = requests.filter(
        (request) => request.user === server.username && request.query.includes(`\`${user}\``),
      );
      const stem = user.slice(0, -'user'.length);
      // Created with its grants by the platform's user, each grant on the run's own names or a source.
      expect(made[0]!.query).toMatch(/^CREATE USER /);
      const grants = made.filter((request) => request.query.startsWith('GRANT'));
      expect(grants.length).toBeGreaterThan(5);
      for (const { query } of grants.filter((grant) => grant.query.includes(prefix)))
        expect(query).toContain(stem);
      expect(made.at(-1)!.query).toMatch(/^DROP USER IF EXISTS /);
    }
    expect(await usersUnder(admin, prefix)).toEqual([]);
  });

  /**
   * Runs `test` on a stand-in of its own, started with `options`, then checks that nothing of this
   * file's prefix is left on it: no database, collection or user.
   */
  async function onOwnStandIn(
    options: ClickHouseStandInOptions,
    test: (server: ClickHouseStandIn, on: Server) => Promise<void>,
  ): Promise<void> {
    const own = await startClickHouseStandIn(options);
    const on = { url: own.url, username: own.username, password: own.password };
    const ownAdmin = createClient(on);
    try {
      await test(own, on);
      expect(await usersUnder(ownAdmin, prefix)).toEqual([]);
      expect(await namesUnder(ownAdmin, prefix)).toEqual([]);
    } finally {
      await ownAdmin.close();
      await own.stop();
    }
  }

  it("waits for the run's user to reach the replica that answers, and fails retryably when it never does", async () => {
    await onOwnStandIn({ newUserLoginDelayMs: 1500 }, async (lagging, on) => {
      const result = await new ClickHouseSqlEngine({ ...on, databasePrefix: prefix }).run(
        jobs.job({ script: 'CREATE TABLE output.x AS SELECT 1 AS y' }),
      );
      expect(await scopeRows(result, 'x')).toEqual([{ y: 1 }]);
      // Refused logins never reach a query: the one check that ran is the one that found the user.
      const checks = (await lagging.requests()).filter(
        (request) => request.user !== lagging.username && request.query.includes('system.databases'),
      );
      expect(checks).toHaveLength(1);
      const error = await failure(
        new ClickHouseSqlEngine({ ...on, databasePrefix: prefix, runUserWaitSeconds: 0.5 }),
        jobs.job({ script: 'CREATE TABLE output.x AS SELECT 1 AS y' }),
      );
      expect(error).toMatchObject({ code: 'SQL_ENGINE_UNAVAILABLE', retryable: true });
      expect(error.message).toMatch(/run's own ClickHouse user "sc_.*_user" was not usable 0\.5 s after/);
      expect(error.message).not.toMatch(/Aa1!/);
    });
  });

  it("drops the run's user when one of its grants fails", async () => {
    await onOwnStandIn({ refuse: /^GRANT NAMED COLLECTION/ }, async (_refusing, on) => {
      const error: ScError = await new ClickHouseSqlEngine({ ...on, databasePrefix: prefix })
        .run(
          jobs.job({
            script: 'CREATE TABLE output.x AS SELECT 1 AS y',
            secrets: { api: { token: 'not-for-anyone' } },
          }),
        )
        .then(
          () => new ScError('UNEXPECTED', 'expected the run to fail'),
          (e: unknown) => e as ScError,
        );
      expect(error).toBeInstanceOf(ScError);
      expect(error.code).toBe('INVALID_CONFIGURATION');
      expect(error.message).toMatch(/may not create the run's own user/);
      expect(error.message).not.toMatch(/Aa1!|not-for-anyone/);
    });
  });

  it('says what to do when the platform user may not create users, and runs without them when told to', async () => {
    await onOwnStandIn({ accessManagement: false }, async (limited, server) => {
      const job = jobs.job({ script: 'CREATE TABLE output.x AS SELECT 1 AS y' });
      const error = await new ClickHouseSqlEngine({ ...server, databasePrefix: prefix })
        .run(job)
        .catch((e) => e);
      expect(error).toBeInstanceOf(ScError);
      expect(error.code).toBe('INVALID_CONFIGURATION');
      expect(error.message).toMatch(
        /may not create the run's own user .*ACCESS_DENIED.*CLICKHOUSE_RUN_USERS=0/,
      );
      expect(error.message).not.toMatch(/BY '|Aa1!/);
      const fromEnv = clickHouseSqlEngineFromEnv({
        CLICKHOUSE_URL: limited.url,
        CLICKHOUSE_USER: limited.username,
        CLICKHOUSE_PASSWORD: limited.password,
        CLICKHOUSE_DATABASE_PREFIX: prefix,
        CLICKHOUSE_RUN_USERS: '0',
      });
      const result = await fromEnv.run(jobs.job({ script: 'CREATE TABLE output.x AS SELECT 1 AS y' }));
      expect(await scopeRows(result, 'x')).toEqual([{ y: 1 }]);
      const requests = await limited.requests();
      expect(new Set(requests.map((request) => request.user))).toEqual(new Set([limited.username]));
    });
  });

  it('drops leftovers of runs that could not clean up once they are a day old, and nothing newer', async () => {
    const stem = (ageMs: number) =>
      `${prefix}${'ab'.repeat(16)}_${(Date.now() - ageMs).toString(36)}_c0ffee_`;
    const old = stem(2 * 86_400_000);
    const recent = stem(60_000);
    for (const name of [`${old}input`, `${recent}input`])
      await admin.command({ query: `CREATE DATABASE ${name}` });
    await admin.command({ query: `CREATE NAMED COLLECTION ${old}creds AS password = 'x'` });
    for (const stemOf of [old, recent])
      await admin.command({ query: `CREATE USER ${stemOf}user IDENTIFIED WITH sha256_password BY 'x'` });
    try {
      await engine().run(jobs.job({ script: 'CREATE TABLE output.x AS SELECT 1 AS y' }));
      expect(await namesUnder(admin, prefix)).toEqual([`${recent}input`]);
      expect(await usersUnder(admin, prefix)).toEqual([`${recent}user`]);
    } finally {
      await admin.command({ query: `DROP DATABASE IF EXISTS ${recent}input` });
      await admin.command({ query: `DROP USER IF EXISTS ${recent}user` });
    }
  });

  describe('configuration from the environment', () => {
    let secretsManager: SecretsManagerStandIn;

    beforeAll(async () => {
      secretsManager = await startSecretsManagerStandIn({
        secrets: {
          'clickhouse/plain': server.password,
          'clickhouse/json': JSON.stringify({ password: server.password, note: 'from the console' }),
          'clickhouse/no-password': JSON.stringify({ pass: 'x' }),
        },
      });
    });
    afterAll(async () => {
      await secretsManager?.stop();
    });

    const env = (extra: Record<string, string>) => ({
      CLICKHOUSE_URL: server.url,
      CLICKHOUSE_USER: server.username,
      CLICKHOUSE_DATABASE_PREFIX: prefix,
      ...extra,
    });

    it('reads the password from the secret CLICKHOUSE_PASSWORD_SECRET_ARN names, as text or JSON', async () => {
      for (const secret of ['clickhouse/plain', 'clickhouse/json']) {
        const fromEnv = clickHouseSqlEngineFromEnv(
          env({ CLICKHOUSE_PASSWORD_SECRET_ARN: secret, CLICKHOUSE_SEQUENTIAL_CONSISTENCY: '1' }),
          { secretsManager: secretsManagerClientFor(secretsManager.endpoint) },
        );
        const result = await fromEnv.run(
          jobs.job({
            script:
              "CREATE TABLE output.s AS SELECT getSetting('select_sequential_consistency') AS consistent",
          }),
        );
        expect(await scopeRows(result, 's')).toEqual([{ consistent: 1 }]);
      }
    });

    it('says what to set when the configuration is incomplete or wrong', async () => {
      const problems: Array<[Record<string, string>, RegExp]> = [
        [
          { CLICKHOUSE_URL: 'not a url', CLICKHOUSE_PASSWORD: 'x' },
          /CLICKHOUSE_URL: must be the service URL/,
        ],
        [{ CLICKHOUSE_URL: server.url }, /needs a password: set CLICKHOUSE_PASSWORD_SECRET_ARN/],
        [env({ CLICKHOUSE_PASSWORD: 'x', CLICKHOUSE_RUN_USERS: 'yes' }), /CLICKHOUSE_RUN_USERS: must be 1/],
        [
          { ...env({ CLICKHOUSE_PASSWORD: 'x' }), CLICKHOUSE_DATABASE_PREFIX: 'sc-' },
          /prefix "sc-" must be a letter/,
        ],
      ];
      for (const [environment, message] of problems) {
        const error = (() => {
          try {
            clickHouseSqlEngineFromEnv(environment);
          } catch (e) {
            return e;
          }
        })();
        expect(error).toBeInstanceOf(ScError);
        expect((error as ScError).code).toBe('INVALID_CONFIGURATION');
        expect((error as ScError).message).toMatch(message);
      }
      const noPassword = clickHouseSqlEngineFromEnv(
        env({ CLICKHOUSE_PASSWORD_SECRET_ARN: 'clickhouse/no-password' }),
        {
          secretsManager: secretsManagerClientFor(secretsManager.endpoint),
        },
      );
      await expect(noPassword.run(jobs.job({ script: 'SELECT 1' }))).rejects.toThrow(
        /holds a JSON object without a string "password" key/,
      );
      const missing = clickHouseSqlEngineFromEnv(
        env({ CLICKHOUSE_PASSWORD_SECRET_ARN: 'clickhouse/missing' }),
        {
          secretsManager: secretsManagerClientFor(secretsManager.endpoint),
        },
      );
      await expect(missing.run(jobs.job({ script: 'SELECT 1' }))).rejects.toMatchObject({
        code: 'SECRET_NOT_FOUND',
      });
    });
  });
});
