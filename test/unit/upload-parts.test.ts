import { describe, expect, it } from 'vitest';
import {
  assertPartBytes,
  MAX_PRESIGNED_PARTS,
  planParts,
  S3_MAX_OBJECT_BYTES,
  S3_MAX_PART_BYTES,
  S3_MAX_PARTS,
  S3_MIN_PART_BYTES,
} from '../../lambdas/core/upload-parts.ts';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

describe('planParts', () => {
  it.each([
    // size, part bytes, max parts → part size, part count, last part size
    { size: 1, partBytes: 8 * MiB, partSize: 8 * MiB, count: 1, last: 1 },
    { size: 8 * MiB, partBytes: 8 * MiB, partSize: 8 * MiB, count: 1, last: 8 * MiB },
    { size: 8 * MiB + 1, partBytes: 8 * MiB, partSize: 8 * MiB, count: 2, last: 1 },
    { size: 12_000_000, partBytes: 5 * MiB, partSize: 5 * MiB, count: 3, last: 12_000_000 - 10 * MiB },
    // 500 MB, the size SPEC §8 names, in 64 MiB parts.
    {
      size: 500_000_000,
      partBytes: 64 * MiB,
      partSize: 64 * MiB,
      count: 8,
      last: 500_000_000 - 7 * 64 * MiB,
    },
  ])('cuts $size bytes in parts of $partBytes', ({ size, partBytes, partSize, count, last }) => {
    const plan = planParts(size, partBytes);
    expect(plan.partSize).toBe(partSize);
    expect(plan.parts).toHaveLength(count);
    expect(plan.parts.at(-1)!.size).toBe(last);
  });

  it('numbers parts from 1 and covers every byte once, in order', () => {
    const { parts } = planParts(25 * MiB + 7, 5 * MiB);
    expect(parts.map((p) => p.partNumber)).toEqual([1, 2, 3, 4, 5, 6]);
    let offset = 0;
    for (const part of parts) {
      expect(part.offset).toBe(offset);
      offset += part.size;
    }
    expect(offset).toBe(25 * MiB + 7);
  });

  it('grows the part size, in whole MiB, when the parts would exceed the maximum count', () => {
    // 100 GiB in 8 MiB parts would be 12,800 parts; S3 takes 10,000.
    const s3 = planParts(100 * GiB, 8 * MiB);
    expect(s3.parts.length).toBeLessThanOrEqual(S3_MAX_PARTS);
    expect(s3.partSize % MiB).toBe(0);
    expect(s3.partSize).toBe(11 * MiB);
    // A presigned upload is held to 2,000 parts (its URLs must fit in one API answer).
    const presigned = planParts(100 * GiB, 64 * MiB, MAX_PRESIGNED_PARTS);
    expect(presigned.parts.length).toBeLessThanOrEqual(MAX_PRESIGNED_PARTS);
    expect(presigned.partSize).toBe(64 * MiB);
    expect(planParts(1000 * GiB, 64 * MiB, MAX_PRESIGNED_PARTS).partSize).toBe(512 * MiB);
  });

  it("fits S3's largest object in the presigned part limit", () => {
    const plan = planParts(S3_MAX_OBJECT_BYTES, 64 * MiB, MAX_PRESIGNED_PARTS);
    expect(plan.parts.length).toBeLessThanOrEqual(MAX_PRESIGNED_PARTS);
    expect(plan.partSize).toBeLessThanOrEqual(S3_MAX_PART_BYTES);
    expect(plan.parts.at(-1)!.offset + plan.parts.at(-1)!.size).toBe(S3_MAX_OBJECT_BYTES);
  });

  it.each([
    { size: 0, why: 'an empty file' },
    { size: -1, why: 'a negative size' },
    { size: 1.5, why: 'a fraction' },
    { size: S3_MAX_OBJECT_BYTES + 1, why: 'more than S3 holds' },
  ])('refuses $why with INVALID_ARGUMENT', ({ size }) => {
    expect(() => planParts(size, 8 * MiB)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });

  it('refuses a size that cannot fit in the allowed parts of at most 5 GiB', () => {
    expect(() => planParts(S3_MAX_OBJECT_BYTES, 8 * MiB, 10)).toThrow(/do not fit in 10 parts/);
  });
});

describe('assertPartBytes', () => {
  it.each([S3_MIN_PART_BYTES, 64 * MiB, S3_MAX_PART_BYTES])('takes %i', (bytes) => {
    expect(() => assertPartBytes(bytes)).not.toThrow();
  });

  it.each([0, S3_MIN_PART_BYTES - 1, S3_MAX_PART_BYTES + 1, 5 * MiB + 0.5])(
    'refuses %d, naming the range',
    (bytes) => {
      expect(() => assertPartBytes(bytes)).toThrow(/5 MiB .* to 5 GiB/);
    },
  );
});
