/**
 * The child process of ChdbSqlEngine: runs one SqlJob in its own chDB session and exits. chDB must
 * run on a process's main thread and allows one session per process, so every execution gets a
 * process of its own, as every Lambda invocation gets its own container.
 *
 * Protocol (IPC): receives one RunnerRequest, answers one RunnerResponse, then exits.
 */
import { Session } from 'chdb';
import { ScError } from '../../../core/errors.ts';
import type { RunnerRequest, RunnerResponse } from './runner-protocol.ts';
import { engineFailure, secretValuesOf } from './sql-errors.ts';
import { runSqlJob } from './sql-job.ts';

function handle({ job, dataDir }: RunnerRequest): RunnerResponse {
  const secretValues = secretValuesOf(job.secrets);
  let session: Session | undefined;
  try {
    // A server-wide cap as well as the per-query setting: a script can SET max_memory_usage, not this.
    const memoryCap = Math.max(0, Math.floor(job.limits.maxMemoryBytes));
    session = new Session(dataDir, { connectionArgs: [`--max_server_memory_usage=${memoryCap}`] });
    return { ok: true, result: runSqlJob(session, job) };
  } catch (error) {
    const failure = error instanceof ScError ? error : engineFailure('chDB failed', error, secretValues);
    return {
      ok: false,
      error: { code: failure.code, message: failure.message, retryable: failure.retryable },
    };
  } finally {
    session?.close();
  }
}

process.once('message', (request: RunnerRequest) => {
  const response: RunnerResponse = {
    ...handle(request),
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
  };
  process.send?.(response, () => process.exit(0));
});
