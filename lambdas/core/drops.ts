/**
 * Files dropped at `s3://<ingest bucket>/drops/<apiName>/<file name>` start an execution of that
 * connector (SPEC §8). S3 event notifications URL-encode object keys, with `+` for a space.
 */
export const DROPS_PREFIX = 'drops/';

export interface DropTarget {
  apiName: string;
  /** The file name the execution keeps (the key's last part). */
  fileName: string;
}

/** Decodes a key as S3 event notifications send it. */
export function decodeEventKey(key: string): string {
  return decodeURIComponent(key.replace(/\+/g, ' '));
}

/** The connector and file of a dropped object's (decoded) key, or null for a key that names none. */
export function dropTarget(key: string): DropTarget | null {
  if (!key.startsWith(DROPS_PREFIX)) return null;
  const parts = key.slice(DROPS_PREFIX.length).split('/');
  const apiName = parts[0] ?? '';
  const fileName = parts[parts.length - 1] ?? '';
  if (parts.length < 2 || apiName === '' || fileName === '') return null;
  return { apiName, fileName };
}
