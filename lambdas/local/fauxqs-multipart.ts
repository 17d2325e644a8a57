import type { buildApp } from 'fauxqs';

/**
 * The two multipart calls fauxqs 1.x lacks, added to its server as hooks so the S3 adapter's presigned
 * uploads and large copies run against the stand-in as against S3:
 * - **ListParts** (`GET /<bucket>/<key>?uploadId=`): fauxqs would answer it as a GetObject. The hooks
 *   note each upload fauxqs creates and each part it stores (number, size, ETag) and answer from that.
 * - **UploadPartCopy** (`PUT …?uploadId=&partNumber=` with `x-amz-copy-source`): fauxqs would store the
 *   empty body as the part. The hook reads the source range and stores it as the part, through fauxqs.
 * Everything else (CreateMultipartUpload, UploadPart, CompleteMultipartUpload, its checks) stays fauxqs's.
 */

type FauxqsApp = ReturnType<typeof buildApp>;

interface TrackedUpload {
  bucket: string;
  key: string;
  parts: Map<number, { size: number; eTag: string; lastModified: Date }>;
}

const XMLNS = 'http://s3.amazonaws.com/doc/2006-03-01/';
const MAX_LIST_PARTS = 1000;

export function addMultipartCalls(app: FauxqsApp): void {
  const uploads = new Map<string, TrackedUpload>();

  app.addHook('onRequest', async (request, reply) => {
    const call = s3Call(request.method, request.url);
    if (!call?.uploadId) return;
    if (call.method === 'GET') {
      const upload = uploads.get(call.uploadId);
      if (!upload) return sendXml(reply, 404, noSuchUpload());
      return sendXml(reply, 200, listParts(call.uploadId, upload, call.query));
    }
    const copySource = request.headers['x-amz-copy-source'];
    if (call.method === 'PUT' && call.partNumber && typeof copySource === 'string') {
      const source = parseCopySource(copySource);
      const range = request.headers['x-amz-copy-source-range'];
      const read = await app.inject({
        method: 'GET',
        url: `/${source.bucket}/${encodeKey(source.key)}`,
        headers: typeof range === 'string' ? { range } : {},
      });
      if (read.statusCode !== 200 && read.statusCode !== 206)
        return sendXml(reply, read.statusCode, read.body);
      const stored = await app.inject({
        method: 'PUT',
        url: request.url,
        headers: { 'content-type': 'application/octet-stream' },
        payload: read.rawPayload,
      });
      if (stored.statusCode !== 200) return sendXml(reply, stored.statusCode, stored.body);
      return sendXml(
        reply,
        200,
        `<CopyPartResult><ETag>${escapeXml(String(stored.headers.etag))}</ETag>` +
          `<LastModified>${new Date().toISOString()}</LastModified></CopyPartResult>`,
      );
    }
    return undefined;
  });

  app.addHook('onSend', async (request, reply, payload) => {
    const call = s3Call(request.method, request.url);
    if (!call || reply.statusCode >= 300) return payload;
    if (call.method === 'POST' && call.query.has('uploads') && typeof payload === 'string') {
      const uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec(payload)?.[1];
      if (uploadId) uploads.set(uploadId, { bucket: call.bucket, key: call.key, parts: new Map() });
    } else if (
      call.method === 'PUT' &&
      call.uploadId &&
      call.partNumber &&
      request.headers['x-amz-copy-source'] === undefined // a copy's inner PUT is the one noted
    ) {
      const decoded = request.headers['x-amz-decoded-content-length'];
      const size = typeof decoded === 'string' ? Number(decoded) : bodyLength(request.body);
      uploads.get(call.uploadId)?.parts.set(call.partNumber, {
        size,
        eTag: String(reply.getHeader('etag')),
        lastModified: new Date(),
      });
    } else if ((call.method === 'POST' || call.method === 'DELETE') && call.uploadId) {
      uploads.delete(call.uploadId);
    }
    return payload;
  });
}

interface S3Call {
  method: string;
  bucket: string;
  key: string;
  query: URLSearchParams;
  uploadId: string | null;
  partNumber: number | null;
}

/** An object-level S3 request (path-style `/<bucket>/<key>`), or null for anything else. */
function s3Call(method: string, url: string): S3Call | null {
  const parsed = new URL(url, 'http://stand-in');
  const match = /^\/([^/]+)\/(.+)$/.exec(parsed.pathname);
  if (!match) return null;
  const partNumber = Number(parsed.searchParams.get('partNumber'));
  return {
    method,
    bucket: match[1]!,
    key: decodeURIComponent(match[2]!),
    query: parsed.searchParams,
    uploadId: parsed.searchParams.get('uploadId'),
    partNumber: Number.isInteger(partNumber) && partNumber > 0 ? partNumber : null,
  };
}

function listParts(uploadId: string, upload: TrackedUpload, query: URLSearchParams): string {
  const marker = Number(query.get('part-number-marker') ?? 0);
  const max = Math.min(Number(query.get('max-parts') ?? MAX_LIST_PARTS), MAX_LIST_PARTS);
  const numbers = [...upload.parts.keys()].filter((n) => n > marker).sort((a, b) => a - b);
  const page = numbers.slice(0, max);
  const truncated = numbers.length > page.length;
  const parts = page.map((n) => {
    const part = upload.parts.get(n)!;
    return (
      `<Part><PartNumber>${n}</PartNumber><LastModified>${part.lastModified.toISOString()}</LastModified>` +
      `<ETag>${escapeXml(part.eTag)}</ETag><Size>${part.size}</Size></Part>`
    );
  });
  return (
    `<ListPartsResult xmlns="${XMLNS}"><Bucket>${escapeXml(upload.bucket)}</Bucket>` +
    `<Key>${escapeXml(upload.key)}</Key><UploadId>${escapeXml(uploadId)}</UploadId>` +
    `<PartNumberMarker>${marker}</PartNumberMarker>` +
    `<NextPartNumberMarker>${page.at(-1) ?? marker}</NextPartNumberMarker>` +
    `<MaxParts>${max}</MaxParts><IsTruncated>${truncated}</IsTruncated>${parts.join('')}</ListPartsResult>`
  );
}

function noSuchUpload(): string {
  return (
    '<Error><Code>NoSuchUpload</Code><Message>The specified multipart upload does not exist. The upload ID ' +
    'may be invalid, or the upload may have been aborted or completed.</Message></Error>'
  );
}

/** `bucket/key[?versionId=…]`, URL-encoded, with or without a leading `/`. The stand-in keeps no versions. */
function parseCopySource(header: string): { bucket: string; key: string } {
  const path = decodeURIComponent(header.split('?')[0]!).replace(/^\//, '');
  const slash = path.indexOf('/');
  return { bucket: path.slice(0, slash), key: path.slice(slash + 1) };
}

function encodeKey(key: string): string {
  return encodeURIComponent(key).replace(/%2F/g, '/');
}

function bodyLength(body: unknown): number {
  return Buffer.isBuffer(body) ? body.length : 0;
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function sendXml(
  reply: {
    code(status: number): unknown;
    header(name: string, value: string): unknown;
    send(body: string): unknown;
  },
  status: number,
  body: string,
) {
  reply.code(status);
  reply.header('content-type', 'application/xml');
  return reply.send(`<?xml version="1.0" encoding="UTF-8"?>\n${body.replace(/^<\?xml[^>]*\?>\s*/, '')}`);
}
