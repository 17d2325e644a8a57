import { execFile } from 'node:child_process';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../..');
const SC = join(ROOT, 'bin/sc.js');

export interface ScResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the real `sc` CLI in a child process, as a user would. */
export function sc(
  args: string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): Promise<ScResult> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [SC, ...args],
      {
        cwd: options.cwd ?? ROOT,
        env: { ...process.env, SC_WORKSPACE: '', ...options.env },
        maxBuffer: 64 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        done({ code, stdout, stderr });
      },
    );
  });
}

/** Runs `sc` with `--json` and parses stdout. */
export async function scJson<T = Record<string, unknown>>(
  args: string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): Promise<ScResult & { json: T }> {
  const result = await sc([...args, '--json'], options);
  try {
    return { ...result, json: JSON.parse(result.stdout) as T };
  } catch {
    throw new Error(
      `sc ${args.join(' ')} printed no JSON (exit ${result.code}):\n${result.stdout}\n${result.stderr}`,
    );
  }
}

/** A fresh copy of an example workspace in a temporary folder, without local state. */
export async function copyExample(name: string): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), `sc-${name}-`));
  await cp(join(ROOT, 'examples', name), dir, {
    recursive: true,
    filter: (source) => !source.split(/[\\/]/).includes('.sc'),
  });
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}
