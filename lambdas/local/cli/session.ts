import {
  applyConnector,
  applyObjects,
  findWorkspace,
  loadObjects,
  type AppliedConnector,
  type WorkspaceLocation,
} from '../workspace.ts';
import { openLocalRuntime, type LocalRuntime } from '../runtime.ts';
import type { ObjectDefinition } from '../../core/object-schema.ts';

export interface WorkspaceSession {
  workspace: WorkspaceLocation;
  runtime: LocalRuntime;
  objects: Map<string, ObjectDefinition>;
  close(): Promise<void>;
}

/** Finds the workspace, boots the local runtime and applies the workspace's objects to the store. */
export async function openWorkspace(from: string, explicit: string | undefined): Promise<WorkspaceSession> {
  const workspace = findWorkspace({ explicit, env: process.env.SC_WORKSPACE || undefined, from });
  const objects = await loadObjects(workspace);
  const runtime = await openLocalRuntime(workspace);
  try {
    await applyObjects(runtime.ports.connectors, objects);
    const stored = await runtime.ports.connectors.listObjects();
    return {
      workspace,
      runtime,
      objects: new Map(stored.map((o) => [o.apiName, o])),
      close: () => runtime.close(),
    };
  } catch (error) {
    await runtime.close();
    throw error;
  }
}

/** As openWorkspace, and applies one connector folder (a new version when its definition changed). */
/** Runs `work` on the workspace's session and closes it afterwards, whatever happens. */
export async function withWorkspace<T>(
  explicit: string | undefined,
  work: (session: WorkspaceSession) => Promise<T>,
): Promise<T> {
  const session = await openWorkspace(process.cwd(), explicit);
  try {
    return await work(session);
  } finally {
    await session.close();
  }
}

export async function openWorkspaceConnector(
  dir: string,
  explicit: string | undefined,
): Promise<WorkspaceSession & { applied: AppliedConnector }> {
  const session = await openWorkspace(dir, explicit);
  try {
    const applied = await applyConnector(
      session.runtime.ports.connectors,
      session.workspace,
      dir,
      [...session.objects.values()],
      session.runtime.ports.clock,
      session.runtime.ports,
    );
    return { ...session, applied };
  } catch (error) {
    await session.close();
    throw error;
  }
}
