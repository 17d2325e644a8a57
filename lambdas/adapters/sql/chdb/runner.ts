/**
 * The child process of ChdbSqlEngine: runs one SqlJob in its own chDB session and exits. chDB must
 * run on a process's main thread and allows one session per process, so every execution gets a
 * process of its own, as every Lambda invocation gets its own container.
 *
 * Protocol (IPC): receives one RunnerRequest, answers one RunnerResponse, then exits.
 */
import { randomBytes } from 'node:crypto';
import { Session } from 'chdb';
import { ScError } from '../../../core/errors.ts';
import { engineFailure, secretValuesOf } from '../sql-errors.ts';
import { runSqlJob } from '../sql-job.ts';
import { ChdbJobSession } from './chdb-job-session.ts';
import type { RunnerRequest, RunnerResponse } from './runner-protocol.ts';

async function handle({ job, dataDir }: RunnerRequest): Promise<RunnerResponse> {
  const secretValues = secretValuesOf(job.secrets);
  let session: Session | undefined;
  try {
    // A server-wide cap as well as the per-query setting: a script can SET max_memory_usage, not this.
    const memoryCap = Math.max(0, Math.floor(job.limits.maxMemoryBytes));
    // Named collections (secrets) are files in the data directory while the session lives: encrypted
    // with a key only this process holds, so a crash leaves no readable secret on disk.
    session = new Session(dataDir, {
      connectionArgs: [
        `--max_server_memory_usage=${memoryCap}`,
        '--named_collections_storage.type=local_encrypted',
        `--named_collections_storage.key_hex=${randomBytes(16).toString('hex')}`,
      ],
    });
    return { ok: true, result: await runSqlJob(new ChdbJobSession(session, job), job) };
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
  void handle(request).then((answer) => {
    const response: RunnerResponse = { ...answer, peakRssBytes: process.resourceUsage().maxRSS * 1024 };
    process.send?.(response, () => process.exit(0));
  });
});
