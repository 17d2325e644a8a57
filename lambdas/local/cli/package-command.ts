import { existsSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { basename, join, relative, resolve } from 'node:path';
import type { Command } from 'commander';
import { writeDevPackage, type PackageInput } from '../../pipeline/dev-package.ts';
import { openNamedConnector } from './transfer-command.ts';

/*
 * `sc package <connector>`: the dev package of SPEC §9 (docs/transfer.md), written to a file. Without
 * `--execution` it holds the latest input the connector ran on, else the newest file in the connector
 * folder's `data/`.
 */

/** Registers `sc package` on the program. */
export function addPackageCommand(program: Command): void {
  program
    .command('package')
    .description('write the dev package: a ZIP that runs with sc run wherever it is unzipped')
    .argument('<connector>', 'the connector folder, or the api name of a connector in the local store')
    .option('-e, --execution <id>', "the execution whose input goes in (default: the connector's latest)")
    .option('-o, --out <file>', 'the ZIP to write (default: ./<apiName>-dev-package.zip)')
    .option('--json', 'print what was written as JSON', false)
    .action(
      async (ref: string, options: { execution?: string; out?: string; json: boolean }, command: Command) => {
        const workspace = command.optsWithGlobals<{ workspace?: string }>().workspace;
        process.exitCode = await packageCommand(ref, { ...options, workspace });
      },
    );
}

export async function packageCommand(
  ref: string,
  options: { execution?: string; out?: string; json: boolean; workspace?: string },
): Promise<number> {
  const { session, connector, dir } = await openNamedConnector(ref, options.workspace);
  try {
    const out = resolve(options.out ?? `${connector.apiName}-dev-package.zip`);
    const fallback = dir ? await newestDataFile(dir) : undefined;
    const input: PackageInput = options.execution
      ? { executionId: options.execution }
      : { sample: true, ...(fallback ? { fallback } : {}) };
    const contents = await writeDevPackage(session.runtime.ports, connector, input, out);
    const result = { file: out, apiName: connector.apiName, version: connector.version, ...contents };
    if (options.json) {
      process.stdout.write(JSON.stringify(result, null, 2) + '\n');
      return 0;
    }
    const folder = basename(out, '.zip');
    const lines = [
      `Wrote ${relative(process.cwd(), out) || out}: ${contents.entries.join(', ')}.`,
      contents.input
        ? contents.input.executionId
          ? `Its input is that of execution ${contents.input.executionId}.`
          : `Its input is ${contents.input.entry}, from the connector folder.`
        : 'It has no input file: the connector never ran and its folder has no data/. Add one under data/.',
      'Try it:',
      `  unzip ${basename(out)} -d ${folder} && cd ${folder}`,
      `  ${contents.runCommand ?? 'sc run . --input data/<file>'} --dry-run`,
    ];
    process.stdout.write(lines.join('\n') + '\n');
    return 0;
  } finally {
    await session.close();
  }
}

/** The most recently changed file in `<dir>/data/`, the connector folder's own sample. */
async function newestDataFile(dir: string): Promise<{ path: string; name: string } | undefined> {
  const data = join(dir, 'data');
  if (!existsSync(data)) return undefined;
  let newest: { path: string; name: string; mtime: number } | undefined;
  for (const entry of await readdir(data, { withFileTypes: true })) {
    if (!entry.isFile() || entry.name.startsWith('.')) continue;
    const path = join(data, entry.name);
    const mtime = (await stat(path)).mtimeMs;
    if (!newest || mtime > newest.mtime) newest = { path, name: entry.name, mtime };
  }
  return newest && { path: newest.path, name: newest.name };
}
