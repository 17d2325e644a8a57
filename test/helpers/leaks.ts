import { readFile, readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import yauzl from 'yauzl';

/*
 * Where a value could have leaked to: every part of a ZIP (an XLSX report is one), every file under a
 * folder. Tests of secrets search these for secret values.
 */

/** Every entry of a ZIP archive, uncompressed, as UTF-8 text, by entry name. */
export function zipParts(path: string): Promise<Map<string, string>> {
  return new Promise((resolve, reject) => {
    yauzl.open(path, { lazyEntries: true }, (error, zip) => {
      if (error) return reject(error);
      const parts = new Map<string, string>();
      zip.on('error', reject);
      zip.on('end', () => resolve(parts));
      zip.on('entry', (entry: yauzl.Entry) => {
        zip.openReadStream(entry, (streamError, stream) => {
          if (streamError) return reject(streamError);
          const chunks: Buffer[] = [];
          stream.on('data', (chunk: Buffer) => chunks.push(chunk));
          stream.on('error', reject);
          stream.on('end', () => {
            parts.set(entry.fileName, Buffer.concat(chunks).toString('utf8'));
            zip.readEntry();
          });
        });
      });
      zip.readEntry();
    });
  });
}

/**
 * The files under `dir` (relative paths, sorted) whose bytes contain any of `values`, as UTF-8 or as a
 * JSON string's inside; `except` lists relative paths not to search.
 */
export async function filesContaining(
  dir: string,
  values: readonly string[],
  except: readonly string[] = [],
): Promise<string[]> {
  const needles = values.flatMap((value) => [value, JSON.stringify(value).slice(1, -1)]);
  const found: string[] = [];
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    const name = relative(dir, path);
    if (except.includes(name)) continue;
    const bytes = await readFile(path);
    if (needles.some((needle) => bytes.includes(needle))) found.push(name);
  }
  return found.sort();
}

/** How many files `filesContaining` searched would be found under `dir`: proof the search saw them. */
export async function countFiles(dir: string): Promise<number> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile()).length;
}
