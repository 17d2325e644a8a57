import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { SqlError } from '../../../core/errors.ts';
import type { SqlEngine, SqlJob, SqlResult } from '../../../ports/sql-engine.ts';
import type { RunnerRequest, RunnerResponse } from './runner-protocol.ts';
import { engineFailure, secretValuesOf, stageTimeout } from '../sql-errors.ts';

export interface ChdbSqlEngineOptions {
  /**
   * Seconds a child may run beyond `limits.maxExecutionSeconds` before it is killed: loading the input
   * and exporting the scopes take time too, and `max_execution_time` applies per statement.
   * @default 60
   */
  killMarginSeconds?: number;
  /** The runner script. @default `runner.ts` (or `.js` when built) beside this module */
  runnerPath?: string;
  /** Where each execution's chDB data directory is created, and removed afterwards. @default os.tmpdir() */
  tmpDir?: string;
}

/** How much of a crashed child's stderr is kept for the error message. */
const STDERR_TAIL_CHARS = 4000;

/**
 * The local SQL engine (DESIGN "The local runtime"): chDB, run in a child process per execution so
 * chDB stays on a main thread with one session per process and executions never see each other's
 * tables. The job (secrets included) travels over IPC, never on the command line or in the
 * environment. The child is killed when it outlives its limit.
 */
export class ChdbSqlEngine implements SqlEngine {
  private readonly killMarginSeconds: number;
  private readonly runnerPath: string;
  private readonly tmpDir: string;
  /** The highest peak memory (RSS, bytes) any SQL child of this engine reported. */
  peakRssBytes = 0;

  constructor(options: ChdbSqlEngineOptions = {}) {
    this.killMarginSeconds = options.killMarginSeconds ?? 60;
    this.runnerPath = options.runnerPath ?? defaultRunnerPath();
    this.tmpDir = options.tmpDir ?? tmpdir();
  }

  async run(job: SqlJob): Promise<SqlResult> {
    await mkdir(job.outputDir, { recursive: true });
    const dataDir = await mkdtemp(join(this.tmpDir, 'sc-chdb-'));
    try {
      return await this.runInChild({ job, dataDir });
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  }

  private runInChild(request: RunnerRequest): Promise<SqlResult> {
    const { job } = request;
    const secretValues = secretValuesOf(job.secrets);
    const timeoutSeconds = job.limits.maxExecutionSeconds + this.killMarginSeconds;
    return new Promise<SqlResult>((resolve, reject) => {
      const child = spawn(process.execPath, [...runnerArgs(this.runnerPath)], {
        stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      });
      let response: RunnerResponse | undefined;
      let timedOut = false;
      let stderr = '';
      child.stdout?.resume();
      child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
        stderr = (stderr + chunk).slice(-STDERR_TAIL_CHARS);
      });
      const timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
      }, timeoutSeconds * 1000);
      child.on('message', (message: RunnerResponse) => {
        response = message;
        this.peakRssBytes = Math.max(this.peakRssBytes, message.peakRssBytes ?? 0);
      });
      child.on('error', (error) => {
        clearTimeout(timer);
        reject(engineFailure('Could not start the chDB process', error, secretValues));
      });
      child.on('exit', (code, signal) => {
        clearTimeout(timer);
        if (response?.ok) return resolve(response.result);
        if (response) {
          const { code: errorCode, message, retryable } = response.error;
          return reject(new SqlError(errorCode, message, { retryable }));
        }
        if (timedOut) return reject(stageTimeout(job.limits, this.killMarginSeconds));
        const exit = signal ? `signal ${signal}` : `exit code ${code}`;
        reject(engineFailure(`The chDB process stopped unexpectedly (${exit})`, stderr.trim(), secretValues));
      });
      child.send(request);
    });
  }
}

function defaultRunnerPath(): string {
  const self = fileURLToPath(import.meta.url);
  return join(dirname(self), `runner${extname(self)}`);
}

/** Node arguments for the runner: TypeScript sources run through tsx, resolved from this package. */
function runnerArgs(runnerPath: string): string[] {
  if (!runnerPath.endsWith('.ts')) return [runnerPath];
  const tsx = createRequire(import.meta.url).resolve('tsx');
  return ['--import', pathToFileURL(tsx).href, runnerPath];
}
