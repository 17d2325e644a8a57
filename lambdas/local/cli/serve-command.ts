import { createApiKey } from '../../pipeline/api.ts';
import type { ApiKeyStore } from '../../ports/api-key-store.ts';
import { S3BlobStore } from '../../adapters/aws/s3-blob-store.ts';
import { handleIngestMessage } from '../../pipeline/s3-drops.ts';
import { startApiServer } from '../api-server.ts';
import { CadenceRunner } from '../cadence-runner.ts';
import { DropsWatcher } from '../drops-watcher.ts';
import { s3ClientFor, startS3SqsStandIn } from '../s3-sqs-stand-in.ts';
import { applyConnector, findConnectorDirs } from '../workspace.ts';
import { openWorkspace } from './session.ts';

/** The ingest bucket's name on the embedded S3 of `sc serve`. */
export const LOCAL_INGEST_BUCKET = 'sc-ingest';
/** The part size of presigned multipart uploads under `sc serve`. */
export const LOCAL_UPLOAD_PART_BYTES = 8 * 1024 * 1024;

/**
 * `sc serve [--port N]`: the local HTTP API on loopback until interrupted (Ctrl-C). Executions started
 * through it run on the local state machine in this process.
 */
export async function serveCommand(options: { workspace?: string; port: number }): Promise<number> {
  const session = await openWorkspace(process.cwd(), options.workspace);
  const { runtime } = session;
  // Every connector folder of the workspace is applied, as `sc run` applies the one it runs.
  for (const dir of await findConnectorDirs(session.workspace)) {
    const { connector } = await applyConnector(
      runtime.ports.connectors,
      session.workspace,
      dir,
      [...session.objects.values()],
      runtime.ports.clock,
      runtime.ports,
    );
    process.stdout.write(`Connector ${connector.apiName}: ${connector.status}\n`);
  }
  const firstKey = await ensureApiKey(runtime.apiKeys, runtime.ports.clock.now()).catch(
    async (error: unknown) => {
      await session.close();
      throw error;
    },
  );
  // The ingest bucket on the embedded S3 (in memory while serve runs): drops start executions, and
  // presigned uploads (POST /connectors/{ref}/uploads) go there. The stand-in takes at most 11 MiB per
  // request, so uploads over 8 MiB are cut into 8 MiB parts.
  const s3 = await startS3SqsStandIn({ buckets: [LOCAL_INGEST_BUCKET] });
  const client = s3ClientFor(s3.endpoint);
  const ingest = new S3BlobStore({
    client,
    bucket: LOCAL_INGEST_BUCKET,
    tmpDir: runtime.ports.tmpDir,
    uploadPartBytes: LOCAL_UPLOAD_PART_BYTES,
  });
  const server = await startApiServer(
    { ports: runtime.ports, apiKeys: runtime.apiKeys, ingest },
    options.port,
  ).catch(async (error: unknown) => {
    await s3.stop();
    await session.close();
    throw error;
  });
  const watcher = new DropsWatcher(client, LOCAL_INGEST_BUCKET, (notification) =>
    handleIngestMessage(runtime.ports, ingest, notification),
  );
  watcher.start();
  // Cadences tick as EventBridge Scheduler ticks them in AWS; each tick is one JSON line on stdout.
  const cadences = new CadenceRunner(runtime.ports);
  await cadences.start();
  process.stdout.write(
    [
      `SmartConnector API listening on ${server.url} (workspace ${session.workspace.root})`,
      `S3 drops: put files at s3://${LOCAL_INGEST_BUCKET}/drops/<connector api name>/ on ${s3.endpoint} (path-style)`,
      `Cadences: ${
        cadences
          .scheduled()
          .map((s) => `${s.apiName} ${s.expression} next ${s.next?.toISOString() ?? 'never'}`)
          .join('; ') || 'none'
      }`,
      ...(firstKey
        ? [
            `API key (created because the workspace had none; shown once, send it as X-Api-Key): ${firstKey.key}`,
          ]
        : []),
      'API keys: `sc keys create|list|revoke` while serve is stopped (one process holds the workspace).',
      '',
    ].join('\n'),
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await cadences.stop();
  await watcher.stop();
  await server.close();
  await ingest.dispose();
  await s3.stop();
  await session.close();
  return 0;
}

/**
 * SPEC §10: `sc serve` on a workspace with no usable key creates one, so the API can be called at once.
 * Returns it (the only time it is shown), or null when an active key exists.
 */
async function ensureApiKey(apiKeys: ApiKeyStore, now: Date): Promise<{ id: string; key: string } | null> {
  if ((await apiKeys.listApiKeys()).some((k) => k.revokedAt === null)) return null;
  return createApiKey(apiKeys, 'sc serve', now);
}
