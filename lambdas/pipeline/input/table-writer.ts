import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { normaliseHeaders } from '../../core/input-names.ts';
import type { PreparedTable } from '../../ports/sql-engine.ts';
import { TSV_NULL, tsvField } from './tsv.ts';

/** One cell as read from the source: `null`, `undefined` and `''` are all an empty cell (NULL). */
export type Cell = string | null | undefined;

/** Writes are batched into chunks of about this many characters: one `write` per row is far slower. */
const FLUSH_CHARS = 1 << 18;

function isEmpty(cell: Cell): cell is null | undefined | '' {
  return cell === null || cell === undefined || cell === '';
}

/** Index one past the last non-empty cell: trailing empty cells never make columns. */
function usedWidth(cells: readonly Cell[]): number {
  let width = cells.length;
  while (width > 0 && isEmpty(cells[width - 1])) width--;
  return width;
}

/**
 * Turns a stream of rows into one PreparedTable: a headerless UTF-8 TabSeparated file with `\N` for
 * NULL and exactly one field per column on every line.
 *
 * - The first row with a value is the header, unless `setHeader` gave one. Rows whose cells are all
 *   empty are skipped, before and after the header.
 * - Empty cells (`''`) are NULL; ragged rows are padded with NULL.
 * - A non-empty cell beyond the last header column adds a column with a blank header, so it is named
 *   `_<k>` by the blank-header rule. Rows written before the table grew are padded in one extra pass
 *   over the file at `finish`, which only happens for such files.
 */
export class TableWriter {
  readonly path: string;
  private readonly out: WriteStream;
  private header: Cell[] | null = null;
  private width = 0;
  /** The width when the first row was written; rows are padded at `finish` when the table grew since. */
  private widthAtFirstRow = -1;
  private rows = 0;
  private pending: string[] = [];
  private pendingChars = 0;
  private failure: Error | null = null;

  constructor(path: string) {
    this.path = path;
    this.out = createWriteStream(path, { encoding: 'utf8', highWaterMark: FLUSH_CHARS });
    // Without a listener a failed write (disk full, missing directory) would crash the process.
    this.out.on('error', (error) => (this.failure ??= error));
  }

  /** Sets the header explicitly (JSON Lines, where the columns are the union of the keys). */
  setHeader(header: readonly Cell[]): void {
    this.header = [...header];
    this.width = header.length;
  }

  /** Adds a row. Returns a promise only when the file needs draining, so callers await rarely. */
  add(cells: readonly Cell[]): Promise<void> | undefined {
    const used = usedWidth(cells);
    if (used === 0) return undefined;
    if (this.header === null) {
      this.header = cells.slice(0, used);
      this.width = used;
      return undefined;
    }
    if (used > this.width) {
      for (let i = this.width; i < used; i++) this.header.push(null);
      this.width = used;
    }
    if (this.widthAtFirstRow < 0) this.widthAtFirstRow = this.width;
    let line = '';
    for (let i = 0; i < this.width; i++) {
      const cell = cells[i];
      if (i > 0) line += '\t';
      line += tsvField(isEmpty(cell) ? null : cell);
    }
    this.rows++;
    this.pending.push(line);
    this.pendingChars += line.length + 1;
    return this.pendingChars >= FLUSH_CHARS ? this.flush() : undefined;
  }

  private flush(): Promise<void> | undefined {
    if (this.failure) throw this.failure;
    if (this.pending.length === 0) return undefined;
    const chunk = `${this.pending.join('\n')}\n`;
    this.pending = [];
    this.pendingChars = 0;
    if (this.out.write(chunk)) return undefined;
    return once(this.out, 'drain').then(() => undefined);
  }

  /**
   * Completes the file and returns its table but for the name, or null when no row had a value (the
   * file is removed): the caller decides whether that is an error or a skipped sheet.
   */
  async finish(): Promise<Omit<PreparedTable, 'name'> | null> {
    await this.flush();
    this.out.end();
    if (!this.out.closed) await once(this.out, 'close');
    if (this.failure) throw this.failure;
    if (this.header === null) {
      await rm(this.path, { force: true });
      return null;
    }
    if (this.widthAtFirstRow >= 0 && this.widthAtFirstRow < this.width) await padLines(this.path, this.width);
    return {
      columns: normaliseHeaders(this.header.map((h) => (isEmpty(h) ? null : h))),
      path: this.path,
      rows: this.rows,
    };
  }

  /** Closes and removes the file after a failure. */
  async discard(): Promise<void> {
    this.out.destroy();
    await rm(this.path, { force: true });
  }
}

/** Rewrites a TSV file so every line has `width` fields, padding short lines with `\N`. */
async function padLines(path: string, width: number): Promise<void> {
  const padded = `${path}.padded`;
  const out = createWriteStream(padded, { encoding: 'utf8', highWaterMark: FLUSH_CHARS });
  const lines = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
  for await (const line of lines) {
    let fields = 1;
    for (let i = line.indexOf('\t'); i >= 0; i = line.indexOf('\t', i + 1)) fields++;
    if (!out.write(`${line}${`\t${TSV_NULL}`.repeat(width - fields)}\n`)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'close');
  await rename(padded, path);
}
