import { createApiKey } from '../../pipeline/api.ts';
import { S3BlobStore } from '../../adapters/aws/s3-blob-store.ts';
import { handleIngestMessage } from '../../pipeline/s3-drops.ts';
import { startApiServer } from '../api-server.ts';
import { DropsWatcher } from '../drops-watcher.ts';
import { s3ClientFor, startS3SqsStandIn } from '../s3-sqs-stand-in.ts';
import { applyConnector, findConnectorDirs } from '../workspace.ts';
import { openWorkspace } from './session.ts';

/** The ingest bucket's name on the embedded S3 of `sc serve`. */
export const LOCAL_INGEST_BUCKET = 'sc-ingest';

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
    );
    process.stdout.write(`Connector ${connector.apiName}: ${connector.status}\n`);
  }
  const server = await startApiServer({ ports: runtime.ports, apiKeys: runtime.apiKeys }, options.port).catch(
    async (error: unknown) => {
      await session.close();
      throw error;
    },
  );
  // The ingest bucket on the embedded S3 (in memory while serve runs): drops start executions.
  const s3 = await startS3SqsStandIn({ buckets: [LOCAL_INGEST_BUCKET] });
  const client = s3ClientFor(s3.endpoint);
  const ingest = new S3BlobStore({ client, bucket: LOCAL_INGEST_BUCKET, tmpDir: runtime.ports.tmpDir });
  const watcher = new DropsWatcher(client, LOCAL_INGEST_BUCKET, (notification) =>
    handleIngestMessage(runtime.ports, ingest, notification),
  );
  watcher.start();
  process.stdout.write(
    [
      `SmartConnector API listening on ${server.url} (workspace ${session.workspace.root})`,
      `S3 drops: put files at s3://${LOCAL_INGEST_BUCKET}/drops/<connector api name>/ on ${s3.endpoint} (path-style)`,
      'API keys: `sc api-key create <name>` while serve is stopped (one process holds the workspace).',
      '',
    ].join('\n'),
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await watcher.stop();
  await server.close();
  await ingest.dispose();
  await s3.stop();
  await session.close();
  return 0;
}

/** `sc api-key create <name>`: prints a new key once; only its hash is kept. */
export async function apiKeyCreateCommand(name: string, options: { workspace?: string }): Promise<number> {
  const session = await openWorkspace(process.cwd(), options.workspace);
  try {
    const { key } = await createApiKey(session.runtime.apiKeys, name, session.runtime.ports.clock.now());
    process.stdout.write(`${key}\n`);
    process.stderr.write('Keep this key: it is shown once. Send it as the X-Api-Key header.\n');
    return 0;
  } finally {
    await session.close();
  }
}
