import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import cliProgress from 'cli-progress';
import { UsageError } from '../../core/errors.ts';
import { exitCodeFor } from '../../core/execution-status.ts';
import type { Execution } from '../../core/model.ts';
import type { ProgressEvent } from '../run-execution.ts';
import { runLocally } from '../run-locally.ts';
import { openWorkspaceConnector } from './session.ts';

export interface RunOptions {
  workspace?: string;
  input: string;
  dryRun: boolean;
  diffCheck?: boolean;
  json: boolean;
}

/** `sc run <connector-dir> --input <file>`: the full flow, then the summary. Returns the exit code. */
export async function runCommand(dir: string, options: RunOptions): Promise<number> {
  const inputPath = resolve(options.input);
  if (!existsSync(inputPath)) {
    throw new UsageError('INPUT_NOT_FOUND', `Input file ${inputPath} does not exist.`);
  }
  if (!statSync(inputPath).isFile()) {
    throw new UsageError(
      'INPUT_NOT_A_FILE',
      `Input ${inputPath} is a folder; pass one file (CSV, TSV, JSON Lines, XLSX, or a ZIP of CSVs).`,
    );
  }
  const session = await openWorkspaceConnector(dir, options.workspace);
  try {
    const { ports } = session.runtime;
    const progress = options.json ? { update: () => {} } : progressPrinter();
    const { execution } = await runLocally(session.runtime, {
      connector: session.applied.connector,
      definition: session.applied.version.definition,
      objects: session.objects,
      inputPath,
      dryRun: options.dryRun,
      ...(options.diffCheck === undefined ? {} : { diffCheck: options.diffCheck }),
      initiatedBy: `cli:${process.env.USER ?? 'local'}`,
      onProgress: progress.update,
    });
    if ('stop' in progress) progress.stop?.();
    const reportPath = execution.reportKey ? ports.blobs.location(execution.reportKey) : null;
    if (options.json) {
      process.stdout.write(JSON.stringify(runJson(execution, reportPath), null, 2) + '\n');
    } else {
      process.stdout.write(runText(execution, reportPath));
    }
    return execution.status === 'queued' ? 1 : exitCodeFor(execution.status);
  } finally {
    await session.close();
  }
}

/** The `sc run --json` object (the same shape the API returns for counts). */
export function runJson(execution: Execution, reportPath: string | null) {
  return {
    id: execution.id,
    status: execution.status,
    dryRun: execution.dryRun,
    connector: { apiName: execution.connectorApiName, version: execution.connectorVersion },
    counts: execution.counts,
    reportPath,
    error: execution.error,
  };
}

function runText(execution: Execution, reportPath: string | null): string {
  const lines = [
    `Execution ${execution.id}: ${execution.status}${execution.dryRun ? ' (dry run: nothing was written)' : ''}`,
    `Connector ${execution.connectorApiName} version ${execution.connectorVersion}`,
  ];
  if (execution.status === 'queued') {
    lines.push('The connector is not active, so the live run waits in the queue until it is activated.');
  }
  for (const [scope, c] of Object.entries(execution.counts.scopes)) {
    lines.push(`Scope ${scope}: ${c.rows} rows, ${c.valid} valid, ${c.invalid} invalid`);
  }
  for (const [i, s] of execution.counts.steps.entries()) {
    lines.push(
      `Step ${i + 1} ${s.name} (${s.object}): ${s.created} created, ${s.updated} updated, ${s.unchanged} unchanged, ` +
        `${s.skipped} skipped, ${s.failed} failed, ${s.unprocessed} unprocessed`,
    );
  }
  if (execution.error) lines.push(`Error [${execution.error.code}]: ${execution.error.message}`);
  lines.push(reportPath ? `Report: ${reportPath}` : 'Report: none (the run failed before loading)');
  return lines.join('\n') + '\n';
}

const STAGE_LABELS: Record<ProgressEvent['stage'], string> = {
  sql: 'Running SQL',
  variables: 'Resolving variables',
  load: 'Loading',
  report: 'Writing report',
};

/** Progress bars on a terminal, plain lines otherwise (logs, CI), always on stderr. */
function progressPrinter(): { update: (e: ProgressEvent) => void; stop?: () => void } {
  if (!process.stderr.isTTY) {
    let last = '';
    return {
      update: (e) => {
        const label =
          e.stage === 'load'
            ? `Loading step ${e.step!.index + 1}/${e.step!.count} ${e.step!.name}`
            : STAGE_LABELS[e.stage];
        const line = e.stage === 'load' ? `${label}: chunk ${e.done}/${e.total}` : `${label}…`;
        if (e.stage !== 'load' || e.done === e.total || label !== last) process.stderr.write(line + '\n');
        last = label;
      },
    };
  }
  const bar = new cliProgress.SingleBar(
    { format: '{stage} [{bar}] {value}/{total} chunks', stream: process.stderr, hideCursor: true },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update: (e) => {
      if (e.stage !== 'load') {
        if (!started) process.stderr.write(`${STAGE_LABELS[e.stage]}…\n`);
        return;
      }
      const stage = `Step ${e.step!.index + 1}/${e.step!.count} ${e.step!.name}`;
      if (!started) {
        bar.start(e.total, e.done, { stage });
        started = true;
      } else bar.update(e.done, { stage });
    },
    stop: () => {
      if (started) bar.stop();
    },
  };
}
