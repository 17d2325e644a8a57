import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ScError } from '../core/errors.ts';
import type { StandInConfig, StandInRequest } from './clickhouse-stand-in-process.ts';

/**
 * A ClickHouse server for tests, since none can be installed here: chDB behind enough of ClickHouse's
 * HTTP interface for `@clickhouse/client` (`clickhouse-stand-in-process.ts` lists what it speaks), in a
 * child process because chDB runs only on a main thread and holds one session per process. It checks
 * the credentials it is given, runs one request at a time, and forgets everything on `stop()`.
 */
export interface ClickHouseStandIn {
  /** `http://127.0.0.1:<port>`. */
  url: string;
  username: string;
  password: string;
  /** The requests it has run (the last 10,000), with the user each came from. */
  requests(): Promise<StandInRequest[]>;
  /** Stops the server and removes its data; safe to call twice. */
  stop(): Promise<void>;
}

export interface ClickHouseStandInOptions {
  /** @default 'default' */
  username?: string;
  /** @default a random one */
  password?: string;
  /** Whether the user may create users, as ClickHouse Cloud's `default` may. @default true */
  accessManagement?: boolean;
  /**
   * How long a user made with `CREATE USER` cannot log in, as on a service whose replicas receive new
   * users a moment later. @default 0
   */
  newUserLoginDelayMs?: number;
  /** Queries this matches fail with ACCESS_DENIED: a way for tests to make one statement fail. */
  refuse?: RegExp;
}

export async function startClickHouseStandIn(
  options: ClickHouseStandInOptions = {},
): Promise<ClickHouseStandIn> {
  const config: StandInConfig = {
    username: options.username ?? 'default',
    password: options.password ?? randomBytes(12).toString('base64url'),
    dataDir: await mkdtemp(join(tmpdir(), 'sc-clickhouse-')),
    accessManagement: options.accessManagement ?? true,
    newUserLoginDelayMs: options.newUserLoginDelayMs ?? 0,
    refuse: options.refuse?.source ?? null,
  };
  const script = fileURLToPath(new URL('./clickhouse-stand-in-process.ts', import.meta.url));
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  const child = spawn(process.execPath, ['--import', tsx, script], {
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const removeData = () => rm(config.dataDir, { recursive: true, force: true });
  try {
    const answer = await new Promise<{ port?: number; error?: string }>((done, fail) => {
      child.once('message', done);
      child.once('error', fail);
      child.once('exit', (code) => fail(new Error(`it exited with code ${code}`)));
      child.send(config);
    });
    if (answer.port === undefined) throw new Error(answer.error ?? 'it answered without a port');
    let stopping: Promise<void> | undefined;
    const stop = () =>
      (stopping ??= new Promise<void>((done) => {
        if (child.exitCode !== null || child.signalCode !== null) return done();
        child.once('exit', () => done());
        child.kill('SIGTERM');
      }).then(removeData));
    const url = `http://127.0.0.1:${answer.port}`;
    return {
      url,
      username: config.username,
      password: config.password,
      requests: async () => (await fetch(`${url}/_stand_in/requests`)).json() as Promise<StandInRequest[]>,
      stop,
    };
  } catch (error) {
    child.kill('SIGKILL');
    await removeData();
    throw new ScError(
      'STAND_IN_FAILED',
      `The ClickHouse stand-in did not start: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  } finally {
    child.removeAllListeners('message').removeAllListeners('exit');
  }
}
