import { ScError } from './errors.ts';

/*
 * How a file is cut into the parts of an S3 multipart upload or multipart copy. S3's rules
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/qfacts.html): every part but the last holds
 * 5 MiB to 5 GiB, an upload has at most 10,000 parts, an object at most 5 TiB.
 */

const MiB = 1024 * 1024;

export const S3_MIN_PART_BYTES = 5 * MiB;
export const S3_MAX_PART_BYTES = 5 * 1024 * MiB;
export const S3_MAX_PARTS = 10_000;
export const S3_MAX_OBJECT_BYTES = 5 * 1024 * 1024 * MiB;

/**
 * The most parts a presigned upload is given. Each part is a presigned URL in the API's answer, about
 * 1.5 KB with a Lambda's session token, and a Lambda answers at most 6 MB; 2,000 parts keep the answer
 * near 3 MB, and 2,000 parts of 5 GiB still hold S3's largest object.
 */
export const MAX_PRESIGNED_PARTS = 2_000;

/** One part: its 1-based number (S3's `PartNumber`) and the bytes of the file it holds. */
export interface FilePart {
  partNumber: number;
  offset: number;
  size: number;
}

export interface PartPlan {
  /** The size of every part but the last. */
  partSize: number;
  parts: FilePart[];
}

/**
 * Cuts `size` bytes into parts of `partBytes`, or of more when that would take over `maxParts` parts
 * (rounded up to whole MiB, so part boundaries stay readable). A size that fits in one part still makes
 * one part. `partBytes` must lie within S3's part limits; a size S3 cannot hold is refused.
 */
export function planParts(size: number, partBytes: number, maxParts: number = S3_MAX_PARTS): PartPlan {
  if (!Number.isSafeInteger(size) || size < 1 || size > S3_MAX_OBJECT_BYTES) {
    throw new ScError(
      'INVALID_ARGUMENT',
      `A file of ${size} bytes cannot be cut into S3 parts: 1 byte to 5 TiB.`,
    );
  }
  assertPartBytes(partBytes);
  const needed = Math.ceil(Math.ceil(size / maxParts) / MiB) * MiB;
  const partSize = Math.max(partBytes, needed);
  if (partSize > S3_MAX_PART_BYTES) {
    throw new ScError('INVALID_ARGUMENT', `${size} bytes do not fit in ${maxParts} parts of at most 5 GiB.`);
  }
  const parts: FilePart[] = [];
  for (let offset = 0; offset < size; offset += partSize) {
    parts.push({ partNumber: parts.length + 1, offset, size: Math.min(partSize, size - offset) });
  }
  return { partSize, parts };
}

/** Refuses a part size outside S3's limits (a configuration mistake, caught when a store is built). */
export function assertPartBytes(partBytes: number): void {
  if (!Number.isSafeInteger(partBytes) || partBytes < S3_MIN_PART_BYTES || partBytes > S3_MAX_PART_BYTES) {
    throw new ScError(
      'INVALID_ARGUMENT',
      `An S3 part holds 5 MiB (${S3_MIN_PART_BYTES}) to 5 GiB (${S3_MAX_PART_BYTES}) bytes, not ${partBytes}.`,
    );
  }
}
