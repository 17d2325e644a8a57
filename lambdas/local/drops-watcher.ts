import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { DROPS_PREFIX } from '../core/drops.ts';
import { errorMessage } from '../core/errors.ts';
import { s3CreatedNotification } from '../pipeline/s3-drops.ts';

/**
 * What S3 event notifications do in AWS, for `sc serve`: the local S3 stand-in sends none, so this
 * lists `drops/` on the ingest bucket and hands every object it has not seen yet to `onCreated` as the
 * S3 event notification S3 would send. The stand-in keeps no versions, so an object's last-modified
 * time stands in for its version id: an upload of the same key again is a new version.
 */
export class DropsWatcher {
  private readonly seen = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private scanning: Promise<number> | undefined;

  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
    private readonly onCreated: (notification: unknown) => Promise<void>,
  ) {}

  /** Scans every `intervalMs` until `stop`. */
  start(intervalMs = 1000): void {
    this.timer = setInterval(() => void this.scan(), intervalMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.scanning;
  }

  /** One scan; returns how many new objects it announced. Scans never overlap. */
  scan(): Promise<number> {
    this.scanning ??= this.scanOnce().finally(() => (this.scanning = undefined));
    return this.scanning;
  }

  private async scanOnce(): Promise<number> {
    let announced = 0;
    let token: string | undefined;
    do {
      const page = await this.s3.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: DROPS_PREFIX, ContinuationToken: token }),
      );
      for (const object of page.Contents ?? []) {
        if (!object.Key) continue;
        const versionId = `lm-${object.LastModified?.toISOString() ?? ''}`;
        const id = `${object.Key}\u0000${versionId}`;
        if (this.seen.has(id)) continue;
        this.seen.add(id);
        announced++;
        try {
          await this.onCreated(s3CreatedNotification(this.bucket, object.Key, versionId, object.ETag));
        } catch (error) {
          process.emitWarning(
            `The drop s3://${this.bucket}/${object.Key} was not registered: ${errorMessage(error)}`,
          );
        }
      }
      token = page.NextContinuationToken;
    } while (token);
    return announced;
  }
}
