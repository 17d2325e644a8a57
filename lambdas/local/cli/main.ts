import { Command, CommanderError } from 'commander';
import { DefinitionError, ScError, UsageError, errorMessage } from '../../core/errors.ts';
import { addExecutionsCommand } from './executions-command.ts';
import { addKeysCommand } from './keys-command.ts';
import { addPackageCommand } from './package-command.ts';
import { recordsCommand } from './records-command.ts';
import { runCommand } from './run-command.ts';
import { addSecretsCommand } from './secrets-command.ts';
import { serveCommand } from './serve-command.ts';
import { addTransferCommands } from './transfer-command.ts';
import { validateCommand } from './validate-command.ts';

/** Exit codes (SPEC §10): 0 succeeded, 3 partial_success, 1 failed or cancelled, 2 bad usage or definition. */
const EXIT_USAGE = 2;

const json = process.argv.includes('--json');

const program = new Command()
  .name('sc')
  .description('SmartConnector: load files into typed records through SQL, variables and load steps.')
  .option(
    '-w, --workspace <dir>',
    'the workspace folder (default: $SC_WORKSPACE, else the nearest folder with objects/)',
  )
  .exitOverride()
  // With --json every error is one JSON object on stdout (below); without it, commander's text.
  .configureOutput({ outputError: (text, write) => (json ? undefined : write(text)) });

program
  .command('run')
  .description('run a connector on an input file: SQL, variables, load steps, report')
  .argument('<connector-dir>', 'the connector folder (holds connector.json)')
  .requiredOption('-i, --input <file>', 'the input file: CSV, TSV, JSON Lines, XLSX or a ZIP of CSVs')
  .option('--dry-run', 'run everything but write no records', false)
  .option('--diff-check', 'skip rows the previous successful live run loaded unchanged')
  .option('--no-diff-check', "load every row even when the connector's diffCheck setting is on")
  .option('--json', 'print one JSON object instead of text', false)
  .action(async (dir: string, options) => {
    process.exitCode = await runCommand(dir, { ...options, workspace: program.opts().workspace });
  });

program
  .command('records')
  .description("list an object's records")
  .argument('<object>', 'the object api name')
  .option('--json', 'print a JSON array', false)
  .action(async (object: string, options) => {
    process.exitCode = await recordsCommand(object, { ...options, workspace: program.opts().workspace });
  });

program
  .command('validate')
  .description("check a connector's definition and its activation checks")
  .argument('<connector-dir>', 'the connector folder (holds connector.json)')
  .option('--json', 'print the result as JSON', false)
  .action(async (dir: string, options) => {
    process.exitCode = await validateCommand(dir, { ...options, workspace: program.opts().workspace });
  });

program
  .command('serve')
  .description('serve the HTTP API on this machine (connectors, executions, reports), with API keys')
  .option('-p, --port <port>', 'the port on 127.0.0.1', (v) => Number.parseInt(v, 10), 8787)
  .action(async (options: { port: number }) => {
    process.exitCode = await serveCommand({ ...options, workspace: program.opts().workspace });
  });

addKeysCommand(program);

addSecretsCommand(program);

addExecutionsCommand(program);

addTransferCommands(program);

addPackageCommand(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    process.exitCode = error.exitCode === 0 ? 0 : EXIT_USAGE;
    if (json && error.exitCode !== 0) {
      const message = `${error.message.replace(/^error: /, '')}. See sc --help.`;
      process.stdout.write(JSON.stringify({ error: { code: 'BAD_USAGE', message } }) + '\n');
    }
  } else {
    process.exitCode = reportError(error, json);
  }
}

function reportError(error: unknown, json: boolean): number {
  const usage = error instanceof DefinitionError || error instanceof UsageError;
  const code = error instanceof ScError ? error.code : 'INTERNAL_ERROR';
  const message = errorMessage(error);
  if (json) {
    const issues = error instanceof DefinitionError ? error.issues : undefined;
    process.stdout.write(JSON.stringify({ error: { code, message, ...(issues ? { issues } : {}) } }) + '\n');
  } else {
    process.stderr.write(`error [${code}]: ${message}\n`);
    if (!usage && !(error instanceof ScError) && error instanceof Error && error.stack) {
      process.stderr.write(`${error.stack}\n`);
    }
  }
  return usage ? EXIT_USAGE : 1;
}
