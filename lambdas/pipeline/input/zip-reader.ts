import type { Readable } from 'node:stream';
import yauzl, { type Entry, type ZipFile } from 'yauzl';
import { InputError, errorMessage } from '../../core/errors.ts';

/** One CSV file inside a ZIP archive. */
export interface ZipCsvEntry {
  /** The entry's base name, e.g. `vendors.csv` for `export/vendors.csv`. */
  baseName: string;
  /** The entry's full path inside the archive. */
  path: string;
  /**
   * Streams the entry's uncompressed bytes; read it fully before asking for the next entry. A corrupt
   * entry fails the iteration with InputError `MALFORMED_ZIP`.
   */
  open(): Promise<AsyncIterable<Uint8Array>>;
}

/**
 * Whether an entry is metadata a file manager added rather than data: a directory, anything under
 * `__MACOSX/` (macOS resource forks), an AppleDouble `._name` file or `.DS_Store`.
 */
export function isJunkEntry(path: string): boolean {
  if (path.endsWith('/')) return true;
  const parts = path.split('/');
  const baseName = parts[parts.length - 1] ?? '';
  return parts.includes('__MACOSX') || baseName.startsWith('._') || baseName === '.DS_Store';
}

/**
 * Streams the `.csv` entries of a ZIP archive in archive order, skipping junk entries and every other
 * kind of file. Entries are read one at a time from the central directory, never all in memory.
 */
export async function* zipCsvEntries(path: string, sourceName: string): AsyncGenerator<ZipCsvEntry> {
  const zip = await openZip(path, sourceName);
  try {
    for await (const entry of entries(zip, sourceName)) {
      if (isJunkEntry(entry.fileName) || !/\.csv$/i.test(entry.fileName)) continue;
      yield {
        baseName: entry.fileName.slice(entry.fileName.lastIndexOf('/') + 1),
        path: entry.fileName,
        open: () => openEntry(zip, entry, sourceName),
      };
    }
  } finally {
    zip.close();
  }
}

/** The names of every entry, for telling an XLSX workbook (`xl/workbook.xml`) from a ZIP of CSVs. */
export async function zipEntryNames(path: string, sourceName: string): Promise<string[]> {
  const zip = await openZip(path, sourceName);
  try {
    const names: string[] = [];
    for await (const entry of entries(zip, sourceName)) names.push(entry.fileName);
    return names;
  } finally {
    zip.close();
  }
}

function openZip(path: string, sourceName: string): Promise<ZipFile> {
  return new Promise((resolve, reject) => {
    yauzl.open(path, { lazyEntries: true, autoClose: false, decodeStrings: true }, (error, zip) => {
      if (error || !zip) reject(malformedZip(sourceName, error));
      else resolve(zip);
    });
  });
}

async function* entries(zip: ZipFile, sourceName: string): AsyncGenerator<Entry> {
  for (;;) {
    const entry = await new Promise<Entry | null>((resolve, reject) => {
      const settle = (): void => {
        zip.off('entry', onEntry).off('end', onEnd).off('error', onError);
      };
      const onEntry = (next: Entry): void => {
        settle();
        resolve(next);
      };
      const onEnd = (): void => {
        settle();
        resolve(null);
      };
      const onError = (error: Error): void => {
        settle();
        reject(malformedZip(sourceName, error));
      };
      zip.on('entry', onEntry).on('end', onEnd).on('error', onError);
      zip.readEntry();
    });
    if (entry === null) return;
    yield entry;
  }
}

async function openEntry(zip: ZipFile, entry: Entry, sourceName: string): Promise<AsyncIterable<Uint8Array>> {
  const stream = await new Promise<Readable>((resolve, reject) => {
    zip.openReadStream(entry, (error, opened) => {
      if (error || !opened) reject(malformedZip(sourceName, error, entry.fileName));
      else resolve(opened);
    });
  });
  return entryBytes(stream, sourceName, entry.fileName);
}

/** Names the archive when inflating fails or the CRC does not match. */
async function* entryBytes(
  stream: Readable,
  sourceName: string,
  entryName: string,
): AsyncGenerator<Uint8Array> {
  try {
    for await (const chunk of stream as AsyncIterable<Uint8Array>) yield chunk;
  } catch (error) {
    throw malformedZip(sourceName, error, entryName);
  } finally {
    stream.destroy();
  }
}

function malformedZip(sourceName: string, cause: unknown, entryName?: string): InputError {
  const where = entryName === undefined ? '' : ` (entry ${entryName})`;
  return new InputError(
    'MALFORMED_ZIP',
    `${sourceName} could not be read as a ZIP archive${where}: ${errorMessage(cause)}. ` +
      'Create the archive again (without encryption) and upload it again.',
    { cause },
  );
}
