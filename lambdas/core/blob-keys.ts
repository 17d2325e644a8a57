import { ScError } from './errors.ts';

/**
 * Blob keys are plain relative paths (`executions/<id>/report.xlsx`): no empty segment and no `..`, so every
 * blob store adapter accepts the same keys and none can escape its root.
 */
export function assertBlobKey(key: string): void {
  if (key.split('/').some((part) => part === '..' || part === '')) {
    throw new ScError('INVALID_KEY', `Blob key "${key}" is not a plain relative path.`);
  }
}
