import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { UsageError } from '../core/errors.ts';
import { MAX_DIRECT_UPLOAD_BYTES } from '../core/upload-limits.ts';
import { handleApiRequest, type ApiDeps } from '../pipeline/api.ts';

/**
 * The largest request body `sc serve` buffers: a direct upload at its limit plus room for a multipart
 * form's framing. API Gateway and Lambda bound bodies in AWS (6 MB); without this a single request
 * could exhaust the process's memory before any route or key is checked.
 */
const MAX_REQUEST_BYTES = MAX_DIRECT_UPLOAD_BYTES + 1024 * 1024;

export interface ApiServer {
  /** `http://127.0.0.1:<port>` */
  url: string;
  close(): Promise<void>;
}

/**
 * The local HTTP API of `sc serve`: each request becomes a plain `ApiRequest` for the very function the
 * API Lambda calls. Listens on loopback only.
 */
export async function startApiServer(deps: ApiDeps, port = 0): Promise<ApiServer> {
  // Links the API hands out (a webhook connector's intake URL) point at this server unless told otherwise.
  let routeDeps = deps;
  const server: Server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const body = await readBody(req, MAX_REQUEST_BYTES);
      if (body === null) {
        res.writeHead(413, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            error: {
              code: 'PAYLOAD_TOO_LARGE',
              message:
                `The request body is larger than ${MAX_REQUEST_BYTES} bytes. Send large files through a ` +
                'presigned upload: POST /connectors/{ref}/uploads (docs/uploads.md).',
            },
          }),
        );
        return;
      }
      const response = await handleApiRequest(routeDeps, {
        method: req.method ?? 'GET',
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        headers: Object.fromEntries(
          Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : v]),
        ),
        body,
      });
      res.writeHead(response.statusCode, response.headers);
      res.end(response.body);
    })().catch((error: unknown) => {
      res.writeHead(500, { 'content-type': 'application/json' });
      console.error(JSON.stringify({ level: 'error', message: 'API request failed', error: String(error) }));
      res.end(
        JSON.stringify({
          error: {
            code: 'INTERNAL_ERROR',
            message: 'Something went wrong on our side; the server log has the details.',
          },
        }),
      );
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'EADDRINUSE'
          ? new UsageError('PORT_IN_USE', `Port ${port} on 127.0.0.1 is in use; choose another with --port.`)
          : error,
      ),
    );
    server.listen(port, '127.0.0.1', resolve);
  });
  const { port: bound } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${bound}`;
  routeDeps = { ...deps, baseUrl: deps.baseUrl ?? url };
  let closed: Promise<void> | undefined;
  return {
    url,
    close: () =>
      (closed ??= new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      })),
  };
}

/** The body, or null when it is over `limit` bytes (the rest is read and dropped, not kept). */
async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size <= limit) chunks.push(chunk as Buffer);
    else chunks.length = 0;
  }
  return size > limit ? null : Buffer.concat(chunks);
}
