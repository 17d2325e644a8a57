import type { Command } from 'commander';
import { UsageError } from '../../core/errors.ts';
import { EXECUTION_STATUSES, type Execution, type ExecutionStatus } from '../../core/model.ts';
import { executionView } from '../../pipeline/api/execution-routes.ts';
import { cancelExecution } from '../../pipeline/control.ts';
import { withWorkspace, type WorkspaceSession } from './session.ts';
import { openNamedConnector } from './transfer-command.ts';

/*
 * `sc executions list|get|cancel` (SPEC §10, "as the API"): `--json` prints the API's execution shape
 * (`GET /executions/{id}`); `list` prints every matching execution, newest first, as one array.
 */

type Options = { json: boolean; workspace?: string };

/** Registers `sc executions` and its subcommands on the program. */
export function addExecutionsCommand(program: Command): void {
  const executions = program.command('executions').description("list, inspect and cancel a connector's runs");
  const workspaceOf = (command: Command) => command.optsWithGlobals<{ workspace?: string }>().workspace;

  executions
    .command('list')
    .description("a connector's executions, newest first")
    .argument('<connector>', 'the connector folder, or the api name of a connector in the local store')
    .option('--status <status>', `only those in this status: ${EXECUTION_STATUSES.join(', ')}`)
    .option('--json', 'print a JSON array', false)
    .action(async (ref: string, options: { status?: string; json: boolean }, command: Command) => {
      process.exitCode = await executionsListCommand(ref, { ...options, workspace: workspaceOf(command) });
    });

  executions
    .command('get')
    .description('one execution: status, stage, progress, counts, error and report')
    .argument('<id>', 'the execution id')
    .option('--json', 'print it as JSON', false)
    .action(async (id: string, options: { json: boolean }, command: Command) => {
      process.exitCode = await executionsGetCommand(id, { ...options, workspace: workspaceOf(command) });
    });

  executions
    .command('cancel')
    .description('cancel a queued execution (a running one stops at its next chunk)')
    .argument('<id>', 'the execution id')
    .option('--json', 'print the execution as JSON', false)
    .action(async (id: string, options: { json: boolean }, command: Command) => {
      process.exitCode = await executionsCancelCommand(id, { ...options, workspace: workspaceOf(command) });
    });
}

export async function executionsListCommand(
  ref: string,
  options: Options & { status?: string },
): Promise<number> {
  const status = options.status === undefined ? undefined : parseStatus(options.status);
  const { session, connector } = await openNamedConnector(ref, options.workspace);
  try {
    const all = await session.runtime.ports.executions.listByConnector(connector.id);
    const executions = all.filter((e) => status === undefined || e.status === status);
    if (options.json) {
      process.stdout.write(JSON.stringify(executions.map(executionView), null, 2) + '\n');
      return 0;
    }
    const header = ['id', 'status', 'mode', 'trigger', 'created', 'rows', 'error'];
    const rows = executions.map((e) => [
      e.id,
      e.status,
      e.dryRun ? 'dry run' : 'live',
      e.trigger,
      e.createdAt,
      `${e.progress.rowsDone}/${e.progress.rowsTotal}`,
      e.error?.code ?? '',
    ]);
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    const line = (cells: string[]) =>
      cells
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd();
    const filter = status ? ` ${status}` : '';
    process.stdout.write(
      [
        line(header),
        ...rows.map(line),
        `${executions.length}${filter} execution(s) of ${connector.apiName}`,
      ].join('\n') + '\n',
    );
    return 0;
  } finally {
    await session.close();
  }
}

export async function executionsGetCommand(id: string, options: Options): Promise<number> {
  return withWorkspace(options.workspace, async (session) => {
    const execution = await requireExecution(session, id);
    printExecution(session, execution, options.json);
    return 0;
  });
}

/** Cancels a queued execution; an ended one is refused with `EXECUTION_ENDED` (exit 2). */
export async function executionsCancelCommand(id: string, options: Options): Promise<number> {
  return withWorkspace(options.workspace, async (session) => {
    await requireExecution(session, id);
    const execution = await cancelExecution(session.runtime.ports, id);
    await session.runtime.stateMachine.idle();
    printExecution(session, execution, options.json);
    return 0;
  });
}

async function requireExecution(session: WorkspaceSession, id: string): Promise<Execution> {
  const execution = await session.runtime.ports.executions.get(id);
  if (!execution) {
    throw new UsageError(
      'EXECUTION_NOT_FOUND',
      `No execution ${id} in the workspace ${session.workspace.root}. List them with sc executions list <connector>.`,
    );
  }
  return execution;
}

function parseStatus(value: string): ExecutionStatus {
  const status = EXECUTION_STATUSES.find((s) => s === value);
  if (!status) {
    throw new UsageError(
      'BAD_USAGE',
      `--status takes one of ${EXECUTION_STATUSES.join(', ')}, not "${value}".`,
    );
  }
  return status;
}

function printExecution(session: WorkspaceSession, e: Execution, json: boolean): void {
  if (json) {
    process.stdout.write(JSON.stringify(executionView(e), null, 2) + '\n');
    return;
  }
  const lines = [
    `Execution ${e.id}: ${e.status}${e.dryRun ? ' (dry run)' : ''}`,
    `Connector ${e.connectorApiName} version ${e.connectorVersion}`,
    `Trigger ${e.trigger} by ${e.initiatedBy}; created ${e.createdAt}` +
      (e.startedAt ? `, started ${e.startedAt}` : '') +
      (e.endedAt ? `, ended ${e.endedAt}` : ''),
    `Stage ${e.stage}: rows ${e.progress.rowsDone}/${e.progress.rowsTotal}, chunks ${e.progress.chunksDone}/${e.progress.chunksTotal}`,
  ];
  if (e.inputFile) lines.push(`Input ${e.inputFile.name} (${e.inputFile.size} bytes)`);
  for (const [scope, c] of Object.entries(e.counts.scopes)) {
    lines.push(`Scope ${scope}: ${c.rows} rows, ${c.valid} valid, ${c.invalid} invalid`);
  }
  for (const [i, s] of e.counts.steps.entries()) {
    lines.push(
      `Step ${i + 1} ${s.name} (${s.object}): ${s.created} created, ${s.updated} updated, ${s.unchanged} unchanged, ` +
        `${s.skipped} skipped, ${s.failed} failed, ${s.unprocessed} unprocessed`,
    );
  }
  if (e.error) lines.push(`Error [${e.error.code}]: ${e.error.message}`);
  if (e.reportKey) lines.push(`Report: ${session.runtime.ports.blobs.location(e.reportKey)}`);
  process.stdout.write(lines.join('\n') + '\n');
}
