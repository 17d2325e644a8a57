import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { access, copyFile, mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { assertBlobKey } from '../../core/blob-keys.ts';
import { ScError } from '../../core/errors.ts';
import type { BlobStore } from '../../ports/blob-store.ts';

/**
 * Blobs as files under a root directory (`<workspace>/.sc/blobs`). The local runtime uses it so
 * reports and inputs stay on disk between commands and a person can open them.
 */
export class FsBlobStore implements BlobStore {
  constructor(private readonly root: string) {}

  private path(key: string): string {
    assertBlobKey(key);
    return join(this.root, ...key.split('/'));
  }

  async put(key: string, body: string | Uint8Array): Promise<void> {
    const target = this.path(key);
    await mkdir(dirname(target), { recursive: true });
    // Write then rename, so a reader never sees half a blob; a staging name of its own per write, so two
    // writers of one key (a repeated tick) never rename each other's file.
    const staging = uniqueStagingPath(target);
    await writeFile(staging, body);
    await rename(staging, target);
  }

  async putFile(key: string, localPath: string): Promise<void> {
    const target = this.path(key);
    await mkdir(dirname(target), { recursive: true });
    const staging = uniqueStagingPath(target);
    await copyFile(localPath, staging);
    await rename(staging, target);
  }

  async read(key: string): Promise<Readable> {
    const path = await this.existingPath(key);
    return createReadStream(path);
  }

  async readText(key: string): Promise<string> {
    return readFile(await this.existingPath(key), 'utf8');
  }

  async exists(key: string): Promise<boolean> {
    try {
      await access(this.path(key));
      return true;
    } catch {
      return false;
    }
  }

  async delete(key: string): Promise<void> {
    await rm(this.path(key), { force: true });
  }

  async list(prefix: string): Promise<string[]> {
    const base = this.path(prefix.replace(/\/+$/, '') || '.');
    const keys: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch {
        return;
      }
      for (const entry of entries) {
        const full = join(dir, entry.name);
        if (entry.isDirectory()) await walk(full);
        else if (!entry.name.endsWith('.tmp')) keys.push(relative(this.root, full).split(sep).join('/'));
      }
    };
    await walk(base);
    return keys.sort();
  }

  async localPath(key: string): Promise<string> {
    return this.existingPath(key);
  }

  async stagingPath(key: string): Promise<string> {
    const target = this.path(key);
    await mkdir(dirname(target), { recursive: true });
    return `${target}.tmp`;
  }

  async commitLocal(key: string, localPath: string): Promise<void> {
    const target = this.path(key);
    if (localPath === `${target}.tmp`) await rename(localPath, target);
    else await this.putFile(key, localPath);
  }

  location(key: string): string {
    return this.path(key);
  }

  private async existingPath(key: string): Promise<string> {
    const path = this.path(key);
    try {
      await access(path);
    } catch {
      throw new ScError('NOT_FOUND', `Blob "${key}" does not exist.`);
    }
    return path;
  }
}

/** A unique `.tmp` name beside `target` (listings skip `.tmp` files). */
function uniqueStagingPath(target: string): string {
  return `${target}.${randomUUID()}.tmp`;
}
